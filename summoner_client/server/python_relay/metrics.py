"""Counters, kept per connection and summed when scraped (relay spec §4.14).

What belongs here: the counter objects and the names they are exported under, which are the
native relay's names exactly (``Relay::stats`` in ``rust_server/core/src/server.rs``, ``export``
in ``metrics.rs``), without the ``summoner_relay_`` prefix. What does not: the HTTP endpoint.

Each connection's :class:`Counters` are written only by that connection's tasks and by the
fan-out loop, all on one event loop, so they are plain ints: no lock, no atomics. A scrape from
another thread reads ints the loop may be changing, which under the GIL gives a value that is at
worst one update old, as a relaxed atomic load would.
"""

from __future__ import annotations

from bisect import bisect_left
from enum import Enum, IntEnum
from itertools import accumulate
from typing import Final

from summoner_client.protocol.notices import Notice
from summoner_client.server.python_relay.error import CloseReason
from summoner_client.server.python_relay.log_output import dropped_records

__all__ = ["NOTICE_INDEX", "Counters", "DropReason", "Metrics", "RefuseReason"]


class DropReason(IntEnum):
    """Why a line was not delivered: the ``reason`` label of ``dropped_total``."""

    TOO_LONG = 0
    """Over the line cap or the envelope ceiling."""
    INVALID_UTF8 = 1
    """Not valid UTF-8 under ``invalid_utf8: "reject"``."""
    RATE_LIMITED = 2
    """The rate limiter had no token."""
    SHED = 3
    """The recipient was shedding."""
    NOTICE_OVERFLOW = 4
    """A notice beyond the per-connection notice reserve."""

    @property
    def label(self) -> str:
        """The metric label."""
        return self.name.lower()


class RefuseReason(Enum):
    """Refusal at admission: the ``reason`` label of ``connections_refused_total``."""

    MAX_CONNECTIONS = "max_connections"
    """``max_connections`` reached (N7)."""
    MAX_CONNECTIONS_PER_IP = "max_connections_per_ip"
    """``max_connections_per_ip`` reached (N8)."""
    QUARANTINED = "quarantined"
    """The IP is quarantined (N12)."""
    SHUTTING_DOWN = "shutting_down"
    """The relay is shutting down (no notice)."""

    @property
    def label(self) -> str:
        """The metric label."""
        return self.value

    @property
    def notice(self) -> Notice | None:
        """The notice a refused client is sent, if any."""
        return _REFUSAL_NOTICES.get(self)


_REFUSAL_NOTICES: Final = {
    RefuseReason.MAX_CONNECTIONS: Notice.SERVER_FULL,
    RefuseReason.MAX_CONNECTIONS_PER_IP: Notice.TOO_MANY_CONNECTIONS,
    RefuseReason.QUARANTINED: Notice.ADDRESS_BLOCKED,
}

NOTICE_INDEX: Final = {notice: index for index, notice in enumerate(Notice)}
"""Position of each notice in the per-kind counter lists: N1 is 0, N13 is 12."""

_NOTICE_KINDS: Final = tuple(notice.code.lower() for notice in Notice)


QUEUE_DEPTH_BUCKETS: Final = (1, 8, 64, 512, 4096, 32768)
"""Upper bounds of the ``queue_depth`` histogram buckets, in lines; ``+Inf`` follows (as in metrics.rs)."""


class Counters:
    """Traffic counters of one connection or, summed, of the relay."""

    __slots__ = (
        "bytes_received",
        "bytes_sent",
        "deliveries",
        "dropped",
        "lines_received",
        "lines_relayed",
        "notices",
        "notices_suppressed",
        "queue_depth_buckets",
        "queue_depth_sum",
    )

    def __init__(self) -> None:
        self.lines_received = 0  # complete inbound lines, oversize ones included
        self.lines_relayed = 0  # lines fanned out
        self.deliveries = 0  # envelopes written to this recipient
        self.bytes_received = 0
        self.bytes_sent = 0
        self.dropped = [0] * len(DropReason)
        self.notices = [0] * len(Notice)
        self.notices_suppressed = [0] * len(Notice)
        # Writer batches by the queue depth seen at their start, one slot per bucket then +Inf.
        self.queue_depth_buckets = [0] * (len(QUEUE_DEPTH_BUCKETS) + 1)
        self.queue_depth_sum = 0

    def observe_queue_depth(self, depth: int) -> None:
        """Record the queue depth a writer saw when it started a batch."""
        self.queue_depth_buckets[bisect_left(QUEUE_DEPTH_BUCKETS, depth)] += 1
        self.queue_depth_sum += depth

    def queue_depth_histogram(self) -> tuple[list[tuple[str, int]], int, int]:
        """Cumulative ``(le, count)`` buckets, then the histogram's sum and count."""
        bounds = [str(bound) for bound in QUEUE_DEPTH_BUCKETS] + ["+Inf"]
        cumulative = list(accumulate(self.queue_depth_buckets))
        return list(zip(bounds, cumulative, strict=True)), self.queue_depth_sum, cumulative[-1]

    def drop_line(self, reason: DropReason) -> None:
        """Count one line that was not delivered."""
        self.dropped[reason] += 1

    def absorb(self, other: Counters) -> None:
        """Add every counter of ``other`` into this one (a closing connection's final tally)."""
        self.lines_received += other.lines_received
        self.lines_relayed += other.lines_relayed
        self.deliveries += other.deliveries
        self.bytes_received += other.bytes_received
        self.bytes_sent += other.bytes_sent
        self.queue_depth_sum += other.queue_depth_sum
        for mine, theirs in (
            (self.dropped, other.dropped),
            (self.notices, other.notices),
            (self.notices_suppressed, other.notices_suppressed),
            (self.queue_depth_buckets, other.queue_depth_buckets),
        ):
            for index, value in enumerate(theirs):
                mine[index] += value

    def export(self, out: dict[str, int]) -> None:
        """Add ``name: value`` for every counter, labels folded into the name as the native relay does."""
        out["lines_received_total"] = self.lines_received
        out["lines_relayed_total"] = self.lines_relayed
        out["deliveries_total"] = self.deliveries
        out["bytes_received_total"] = self.bytes_received
        out["bytes_sent_total"] = self.bytes_sent
        for reason in DropReason:
            out[f'dropped_total{{reason="{reason.label}"}}'] = self.dropped[reason]
        for index, kind in enumerate(_NOTICE_KINDS):
            out[f'notices_total{{kind="{kind}"}}'] = self.notices[index]
            out[f'notices_suppressed_total{{kind="{kind}"}}'] = self.notices_suppressed[index]


class Metrics:
    """Relay-wide counters: admission, closes, and the tallies of connections that have left."""

    __slots__ = ("closed", "connections_accepted", "refused", "retired")

    def __init__(self) -> None:
        self.retired = Counters()  # counters of closed connections and of refusals
        self.connections_accepted = 0
        self.refused = dict.fromkeys(RefuseReason, 0)
        self.closed = dict.fromkeys(CloseReason, 0)

    def refuse(self, reason: RefuseReason) -> None:
        """Count one refused connection."""
        self.refused[reason] += 1

    def retire(self, reason: CloseReason, counters: Counters) -> None:
        """Record a closed connection and keep its counters."""
        self.closed[reason] += 1
        self.retired.absorb(counters)

    def export(self, out: dict[str, int]) -> None:
        """Add the relay-level counters as ``name: value``.

        ``log_records_dropped_total`` counts for the whole process, as the native relay's does: the
        log output it counts belongs to the process, not to one relay (``log_output.py``).
        """
        out["connections_accepted_total"] = self.connections_accepted
        for refusal, count in self.refused.items():
            out[f'connections_refused_total{{reason="{refusal.label}"}}'] = count
        for close, count in self.closed.items():
            out[f'connections_closed_total{{reason="{close.label}"}}'] = count
        out["log_records_dropped_total"] = dropped_records()
