"""Cumulative counters of one client (spec §12.6): plain integer attributes, read as a snapshot dict.

Integers on a slotted object rather than a ``Counter``: the hot path increments attributes, which is the
cheapest thing Python does, and ``snapshot()`` copies them for readers on any thread.
"""

from __future__ import annotations

__all__ = ["COUNTER_NAMES", "ClientStats"]

COUNTER_NAMES = (
    # inbound
    "lines_received",
    "lines_oversize",
    "lines_undecodable",
    "messages_dropped_by_hooks",
    "model_rejected",
    "events_bridged",
    # errors
    "receiver_errors",
    "state_errors",
    "hook_errors",
    "sender_errors",
    # outbound
    "invocations",
    "lines_sent",
    "lines_outbound_oversize",
    "lines_dropped_on_disconnect",
    "published",
    "publish_dropped",
    "timed_pending_dropped",
    # connection
    "connects",
    "disconnects",
)


class ClientStats:
    """The counters; every drop the spec describes increments exactly one of them."""

    __slots__ = COUNTER_NAMES

    lines_received: int
    lines_oversize: int
    lines_undecodable: int
    messages_dropped_by_hooks: int
    model_rejected: int
    events_bridged: int
    receiver_errors: int
    state_errors: int
    hook_errors: int
    sender_errors: int
    invocations: int
    lines_sent: int
    lines_outbound_oversize: int
    lines_dropped_on_disconnect: int
    published: int
    publish_dropped: int
    timed_pending_dropped: int
    connects: int
    disconnects: int

    def __init__(self) -> None:
        for name in COUNTER_NAMES:
            setattr(self, name, 0)

    def snapshot(self) -> dict[str, int]:
        """Return a copy of every counter; later increments do not change it."""
        return {name: getattr(self, name) for name in COUNTER_NAMES}
