"""``ArrowStyle``: how arrows are drawn in routes, and the rules that keep a style unambiguous.

What belongs here: the style value and its validation. Turning a style into regular expressions and
parsing routes with it is ``_route_parsing``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from summoner_client.errors import FlowSyntaxError

__all__ = ["ArrowStyle"]

# Characters the separator may never contain: they delimit node tokens (parentheses) or start gate
# forms (slash), so a separator holding one could split a token in two.
_SEPARATOR_FORBIDDEN = ("(", ")", "/")


@dataclass(frozen=True)
class ArrowStyle:
    """An arrow shape: ``SRC <stem><stem><left> LABEL <right><stem><stem><tip> TGT``.

    With ``stem="-"``, ``brackets=("[", "]")``, ``separator=","`` and ``tip=">"`` this is the usual
    ``A, B --[ f ]--> C`` (and ``A --> C`` unlabelled). Equality and hash cover all four fields.

    Raises:
        FlowSyntaxError: (a ``ValueError``) when the stem is not one character; a bracket, the separator
            or the tip is not a non-empty ``str``; two of ``stem*2``, the brackets and the tip are
            substrings of one another; or the separator contains the stem, a bracket, the tip, ``(``,
            ``)`` or ``/``. Each rule removes a way for one route text to be read as two arrows.
    """

    stem: str
    brackets: tuple[str, str]
    separator: str
    tip: str

    def __post_init__(self) -> None:
        if not isinstance(self.stem, str) or len(self.stem) != 1:
            raise FlowSyntaxError(f"Arrow stem must be exactly one character, got {self.stem!r}")
        brackets = self.brackets
        if not isinstance(brackets, tuple | list) or len(brackets) != 2:
            raise FlowSyntaxError(f"Arrow brackets must be a pair (left, right), got {brackets!r}")
        # A list pair is accepted for convenience but stored as a tuple so the style stays hashable.
        object.__setattr__(self, "brackets", tuple(brackets))
        left, right = self.brackets
        for what, part in (("left bracket", left), ("right bracket", right), ("separator", self.separator)):
            _require_text(what, part)
        _require_text("tip", self.tip)
        self._check_no_overlap()
        self._check_separator()

    def _check_no_overlap(self) -> None:
        left, right = self.brackets
        parts = (
            ("stem*2", self.stem * 2),
            ("left bracket", left),
            ("right bracket", right),
            ("tip", self.tip),
        )
        for (name_a, a), (name_b, b) in combinations(parts, 2):
            if a in b or b in a:
                raise FlowSyntaxError(
                    f"Arrow parts must not be substrings of one another: {name_a} {a!r} and {name_b} {b!r}"
                )

    def _check_separator(self) -> None:
        left, right = self.brackets
        for part in (self.stem, left, right, self.tip, *_SEPARATOR_FORBIDDEN):
            if part in self.separator:
                raise FlowSyntaxError(f"Arrow separator {self.separator!r} must not contain {part!r}")

    def draw(self, source: str, label: str, target: str) -> str:
        """Return the compact arrow text ``source<stem><stem><left>label<right><stem><stem><tip>target``."""
        left, right = self.brackets
        shaft = self.stem * 2
        return f"{source}{shaft}{left}{label}{right}{shaft}{self.tip}{target}"


def _require_text(what: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise FlowSyntaxError(f"Arrow {what} must be a non-empty string, got {value!r}")
