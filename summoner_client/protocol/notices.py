"""The relay's notices: fixed ``Warning: `` lines, one enum member per text (relay spec §2.7).

What belongs here: the exact texts N1-N13, their wire bytes, and telling a raw line that is a notice
from one that is not. The Python relay writes these bytes; the client and the test probes classify with
them. What does not: when a notice is sent or rate-limited, which is relay behaviour.

A notice is never JSON and never starts with ``{``, so the first bytes of a raw line tell a notice from
an envelope. A peer that sends ``Warning: ...`` arrives inside an envelope and cannot pass for the relay.
Clients give notices no special meaning, and must treat unknown ``Warning: `` lines as informational.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

__all__ = ["MAX_NOTICE_BYTES", "NOTICE_PREFIX", "Notice", "is_notice"]

NOTICE_PREFIX: Final = b"Warning: "
"""The 9 bytes every notice starts with: capital W, colon, one space."""

MAX_NOTICE_BYTES: Final = 200
"""Longest notice line allowed, LF included."""


class Notice(Enum):
    """Every notice a relay built to our specification sends, with its exact text.

    Attributes:
        code: The id in relay spec §2.7 (``"N1"`` ... ``"N13"``).
        text: The exact text, without its LF.
        line: The bytes written on the wire: the ASCII text followed by LF.
    """

    RATE_LIMITED = ("N1", "Warning: You are sending messages too quickly. Please slow down.")
    IDLE_TIMEOUT = ("N2", "Warning: You have been disconnected due to inactivity.")
    SHUTTING_DOWN = ("N3", "Warning: Server is shutting down.")
    SERVER_DISCONNECTED = ("N4", "Warning: Server disconnected.")
    MESSAGE_TOO_LONG = ("N5", "Warning: Message too long. It was not relayed.")
    INVALID_UTF8 = ("N6", "Warning: Message is not valid UTF-8. It was not relayed.")
    SERVER_FULL = ("N7", "Warning: Server is full. Please try again later.")
    TOO_MANY_CONNECTIONS = ("N8", "Warning: Too many connections from your address. Please try again later.")
    MESSAGES_SHED = (
        "N9",
        "Warning: Some messages were not delivered to you because you are not reading fast enough.",
    )
    SLOW_CONSUMER = (
        "N10",
        "Warning: You have been disconnected because you are not reading messages fast enough.",
    )
    AUTH_FAILED = ("N11", "Warning: Authentication failed.")
    ADDRESS_BLOCKED = ("N12", "Warning: Your address is temporarily blocked. Please try again later.")
    LINE_TIMEOUT = (
        "N13",
        "Warning: You have been disconnected because a message took too long to arrive.",
    )

    def __init__(self, code: str, text: str) -> None:
        self.code = code
        self.text = text
        self.line = text.encode("ascii") + b"\n"

    @classmethod
    def from_line(cls, line: bytes | str) -> Notice | None:
        """Identify a raw line as one of the known notices.

        Args:
            line: A raw line, with or without its LF (a CR before the LF is ignored too, since the
                client keeps it). Text is accepted as well, for payloads already decoded.

        Returns:
            The notice whose text the line is exactly, or None. A line for which ``is_notice`` is true
            but this returns None is a notice this version does not know: informational.
        """
        data = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
        return _BY_TEXT.get(data.removesuffix(b"\n").removesuffix(b"\r"))


_BY_TEXT: Final = {notice.line[:-1]: notice for notice in Notice}


def is_notice(line: bytes | str) -> bool:
    """Tell whether a raw line is a relay notice: it starts with ``Warning: ``.

    Only meaningful on a raw line, before any envelope is opened: a peer's text that starts the same
    way arrives inside an envelope, whose first byte is ``{``.
    """
    if isinstance(line, str):
        return line.startswith("Warning: ")
    return line.startswith(NOTICE_PREFIX)
