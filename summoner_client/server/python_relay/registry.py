"""Membership and fan-out (relay spec §2.5, §4.5).

The registry holds only what fan-out needs of each member: its id, address and outbox. A
broadcast walks the members and makes one synchronous, non-blocking offer per recipient; there
is no ``await`` inside it, so membership cannot change under it and no other task runs until it
returns. Join and leave are one dict operation each. Mirrors ``rust_server/core/src/registry.rs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from summoner_client.server.python_relay.metrics import Counters
from summoner_client.server.python_relay.outbox import Offer, Outbox

__all__ = ["Member", "Registry"]

_QUEUED = Offer.QUEUED


@dataclass(frozen=True, slots=True, eq=False)
class Member:
    """What the registry knows of one member."""

    conn_id: int
    """Connection id, never reused."""
    addr: str
    """Address string as written in envelopes (``remote_addr``)."""
    peer: str
    """The real peer address, for operators (differs from ``addr`` when masking)."""
    outbox: Outbox
    """Where fan-out puts this member's lines."""
    counters: Counters
    """This member's counters, summed on scrape."""


class Registry:
    """The current members, keyed by connection id."""

    __slots__ = ("_members", "_offers")

    def __init__(self) -> None:
        self._members: dict[int, Member] = {}
        # The bound offer() of every member, by id: the fan-out loop needs nothing else, and a
        # bound method saves two attribute lookups per delivery.
        self._offers: dict[int, Callable[[bytes], Offer]] = {}

    def join(self, member: Member) -> None:
        """Add a member; from now on it receives relayed lines."""
        self._members[member.conn_id] = member
        self._offers[member.conn_id] = member.outbox.offer

    def leave(self, conn_id: int) -> Member | None:
        """Remove a member; no new envelope is queued for it after this returns."""
        self._offers.pop(conn_id, None)
        return self._members.pop(conn_id, None)

    def broadcast(self, sender: int, line: bytes) -> int:
        """Offer ``line`` to every member except ``sender``; return how many queued it.

        A recipient that becomes a slow consumer here is not removed during the walk: its outbox
        refuses further lines at once, and its own task removes it as the first close step.
        """
        queued = 0
        for conn_id, offer in self._offers.items():
            if conn_id != sender and offer(line) is _QUEUED:
                queued += 1
        return queued

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, conn_id: object) -> bool:
        return conn_id in self._members

    def snapshot(self) -> tuple[Member, ...]:
        """The members right now (for scrapes; not on the hot path)."""
        return tuple(self._members.values())
