"""Admission and rate limits: token buckets, the per-IP table, connection caps, quarantine.

What belongs here (relay spec §4.2, §4.7, §4.12): the arithmetic of limits, with the time passed
in as a monotonic ``now`` in seconds, so it runs without an event loop and its tests need no
clock. What does not: sockets, notices and logging, which the listener and handler do with the
answers given here. Mirrors ``rust_server/core/src/limits.rs``; with a single event loop there is
no lock to take.
"""

from __future__ import annotations

from typing import Final

from summoner_client.server.python_relay.metrics import RefuseReason

__all__ = ["QUARANTINE_AFTER_FAILURES", "Admission", "Slot", "TokenBucket"]

QUARANTINE_AFTER_FAILURES: Final = 5
"""Auth failures from one IP, within the cooldown, that quarantine it."""


class TokenBucket:
    """A token bucket with continuous refill, starting full."""

    __slots__ = ("_capacity", "_per_second", "_tokens", "_updated")

    def __init__(self, per_minute: int, capacity: int, now: float) -> None:
        """A full bucket of ``capacity`` tokens, refilled at ``per_minute / 60`` tokens per second."""
        self._capacity = float(capacity)
        self._per_second = per_minute / 60.0
        self._tokens = float(capacity)
        self._updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._per_second)
        self._updated = now

    def has_token(self, now: float) -> bool:
        """Whether one token is available at ``now``, without taking it."""
        self._refill(now)
        return self._tokens >= 1.0

    def take(self) -> None:
        """Take one token; call only after :meth:`has_token` said yes."""
        self._tokens -= 1.0

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available."""
        self._refill(now)
        return max(0.0, 1.0 - self._tokens) / self._per_second

    def is_full(self, now: float) -> bool:
        """Whether the bucket is full again (its per-IP entry may then be forgotten)."""
        self._refill(now)
        return self._tokens >= self._capacity


class _IpEntry:
    """What the relay keeps per IP while it has connections, a ban, or a refilling bucket."""

    __slots__ = ("auth_failures", "blocked_until", "bucket", "connections")

    def __init__(self) -> None:
        self.connections = 0
        self.bucket: TokenBucket | None = None
        self.auth_failures: list[float] = []  # at most QUARANTINE_AFTER_FAILURES entries
        self.blocked_until: float | None = None


class Slot:
    """A held connection slot; :meth:`release` gives it back (once, however often it is called)."""

    __slots__ = ("_admission", "_ip", "_released")

    def __init__(self, admission: Admission, ip: str) -> None:
        self._admission = admission
        self._ip = ip
        self._released = False

    def release(self) -> None:
        """Give the slot back, so another connection from anywhere, or from this IP, fits."""
        if not self._released:
            self._released = True
            self._admission._release(self._ip)  # the slot is the admission's own receipt


class Admission:
    """Connection caps, per-IP state and quarantine, shared by the listener and the handlers.

    Per-IP entries are bounded by the connections plus the IPs that are banned, failing auth, or
    refilling a bucket; the periodic :meth:`sweep` forgets the rest.
    """

    __slots__ = ("_by_ip", "_cooldown", "_ip_rate", "_max_connections", "_max_per_ip", "_total")

    def __init__(
        self,
        max_connections: int,
        max_per_ip: int | None,
        ip_rate: tuple[int, int] | None,
        cooldown: float,
    ) -> None:
        """Admission rules.

        Args:
            max_connections: Live connections at once, handshakes included.
            max_per_ip: Live connections at once from one IP, or None for no limit.
            ip_rate: ``(messages per minute, burst)`` of the bucket shared by one IP's connections.
            cooldown: Window for counting auth failures, and the length of a ban, in seconds.
        """
        self._max_connections = max_connections
        self._max_per_ip = max_per_ip
        self._ip_rate = ip_rate
        self._cooldown = cooldown
        self._total = 0
        self._by_ip: dict[str, _IpEntry] = {}

    @property
    def connections(self) -> int:
        """Live connections, handshakes included."""
        return self._total

    @property
    def limits_ip_rate(self) -> bool:
        """Whether a per-IP bucket is configured."""
        return self._ip_rate is not None

    @property
    def tracked_ips(self) -> int:
        """Number of per-IP entries kept (for tests of the sweep)."""
        return len(self._by_ip)

    def _entry(self, ip: str) -> _IpEntry:
        entry = self._by_ip.get(ip)
        if entry is None:
            entry = self._by_ip[ip] = _IpEntry()
        return entry

    def admit(self, ip: str, now: float) -> Slot | RefuseReason:
        """Admit a connection from ``ip``, or say which rule refuses it (checks in spec order)."""
        entry = self._entry(ip)
        if entry.blocked_until is not None and entry.blocked_until > now:
            return RefuseReason.QUARANTINED
        if self._total >= self._max_connections:
            return RefuseReason.MAX_CONNECTIONS
        if self._max_per_ip is not None and entry.connections >= self._max_per_ip:
            return RefuseReason.MAX_CONNECTIONS_PER_IP
        entry.connections += 1
        self._total += 1
        return Slot(self, ip)

    def _release(self, ip: str) -> None:
        self._total -= 1
        entry = self._by_ip.get(ip)
        if entry is not None:
            entry.connections = max(0, entry.connections - 1)

    def ip_has_token(self, ip: str, now: float) -> bool:
        """Whether the per-IP bucket, if configured, has a token for ``ip``."""
        if self._ip_rate is None:
            return True
        entry = self._entry(ip)
        if entry.bucket is None:
            entry.bucket = TokenBucket(*self._ip_rate, now)
        return entry.bucket.has_token(now)

    def ip_take(self, ip: str) -> None:
        """Take the token :meth:`ip_has_token` found."""
        entry = self._by_ip.get(ip)
        if entry is not None and entry.bucket is not None:
            entry.bucket.take()

    def ip_wait_time(self, ip: str, now: float) -> float:
        """Seconds until the per-IP bucket of ``ip`` has a token."""
        entry = self._by_ip.get(ip)
        if entry is None or entry.bucket is None:
            return 0.0
        return entry.bucket.wait_time(now)

    def auth_failed(self, ip: str, now: float) -> bool:
        """Record an auth failure; return True when this one quarantines the IP (the fifth in the window)."""
        entry = self._entry(ip)
        entry.auth_failures = [at for at in entry.auth_failures if now - at < self._cooldown]
        entry.auth_failures.append(now)
        if len(entry.auth_failures) < QUARANTINE_AFTER_FAILURES:
            return False
        entry.auth_failures.clear()
        entry.blocked_until = now + self._cooldown
        return True

    def sweep(self, now: float) -> None:
        """Forget expired bans, old auth failures, and IPs with no connection and a full bucket."""
        for ip, entry in list(self._by_ip.items()):
            if entry.blocked_until is not None and entry.blocked_until <= now:
                entry.blocked_until = None
            entry.auth_failures = [at for at in entry.auth_failures if now - at < self._cooldown]
            bucket_full = entry.bucket is None or entry.bucket.is_full(now)
            keep = entry.connections > 0 or entry.blocked_until is not None or entry.auth_failures
            if not keep and bucket_full:
                del self._by_ip[ip]
