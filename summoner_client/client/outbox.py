"""The two outbound buffers: the session's line outbox and the client's publish queue (spec §5.10, §12.2).

``Outbox`` belongs to one session. Workers and the publisher put encoded lines into it; the session's
writer task is its only reader and the only code that touches the socket. ``PublishQueue`` belongs to
the client and outlives sessions: payloads published from any thread wait in it, in call order, until a
session's publisher takes them. Both are bounded; what happens at the bound is documented on each class.

Delivery rule (spec §12.2): published lines that were not yet handed to the socket when a connection was
lost go back to the front of the publish queue and are written first after the reconnect; sender lines
in the same position are dropped and counted, as in the original.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = ["Encoded", "OutLine", "Outbox", "Pending", "PublishQueue"]


class OutLine(NamedTuple):
    """One encoded line waiting for the writer, and whether it came from ``publish``."""

    data: bytes
    published: bool


class Encoded(NamedTuple):
    """A published payload already through hooks and encoding: it goes to the outbox as is."""

    data: bytes


class Pending(NamedTuple):
    """A published payload (model already validated and dumped) waiting for hooks and encoding."""

    payload: Any


class Outbox:
    """Encoded lines waiting for the writer, oldest first.

    Bounded by ``max_lines``. At the bound, ``put_group`` waits until the writer has taken lines, so a
    peer that stops reading pushes back on the workers and the publisher rather than on memory. A group
    (the lines of one invocation) is admitted whole, so its lines are written contiguously; a group
    larger than the bound is admitted only into an empty outbox, and never waits forever.
    """

    def __init__(self, max_lines: int, preload: Iterable[bytes] = ()) -> None:
        self._max = max_lines
        # Lines carried over from a lost session go first; they may briefly exceed the bound.
        self._lines: deque[OutLine] = deque(OutLine(line, True) for line in preload)
        self._ready = asyncio.Event()  # set while lines wait: wakes the writer
        self._room = asyncio.Event()  # set when the writer took lines: wakes blocked producers
        self._idle = asyncio.Event()  # set when nothing waits and the writer is not writing
        self._abandoned = False  # set once the writer is gone (lost connection)
        if self._lines:
            self._ready.set()
        else:
            self._idle.set()

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def max_lines(self) -> int:
        """The bound, in lines."""
        return self._max

    def _fits(self, count: int) -> bool:
        return self._abandoned or not self._lines or len(self._lines) + count <= self._max

    async def put_group(self, lines: list[bytes], *, published: bool = False) -> None:
        """Append the lines of one invocation contiguously, waiting while they do not fit."""
        while not self._fits(len(lines)):
            self._room.clear()
            await self._room.wait()
        self._lines.extend(OutLine(line, published) for line in lines)
        self._idle.clear()
        self._ready.set()

    async def wait_for_room(self) -> None:
        """Wait until at least one line fits; the publisher calls it before taking a payload."""
        while not self._fits(1):
            self._room.clear()
            await self._room.wait()

    async def take_all(self) -> list[OutLine]:
        """Wait for lines and take every one queued now (the writer's batch)."""
        while not self._lines:
            self._ready.clear()
            await self._ready.wait()
        taken = list(self._lines)
        self._lines.clear()
        self._ready.clear()
        self._room.set()
        return taken

    def written(self) -> None:
        """The writer finished its batch: wake ``flushed`` waiters if nothing else waits."""
        if not self._lines:
            self._idle.set()

    async def flushed(self) -> None:
        """Wait until every line was written and drained."""
        await self._idle.wait()

    def abandon(self) -> None:
        """The writer is gone: release ``flushed`` and ``put_group`` waiters so nobody hangs on it."""
        self._idle.set()
        self._room.set()
        self._abandoned = True  # nothing drains any more: producers must never block again

    def leftovers(self) -> tuple[list[bytes], int]:
        """Empty the outbox after a lost connection: published lines to keep, sender lines dropped."""
        kept = [line.data for line in self._lines if line.published]
        dropped = len(self._lines) - len(kept)
        self._lines.clear()
        self._room.set()  # producers still blocked must not hang while the session is torn down
        return kept, dropped


class PublishQueue:
    """Payloads published by ``publish*``, in call order per thread, for whichever session runs next.

    Bounded by ``maxsize`` items. At the bound ``put_nowait`` raises ``asyncio.QueueFull`` (the client
    turns it into ``PublishQueueFull``) and ``put`` waits for room. It is thread-safe: a short
    ``threading.Lock`` guards the deque (no ``await`` inside it), and wake-ups cross threads with
    ``call_soon_threadsafe``. The loop side (events, the consumer) attaches per run.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[Any] = deque()
        self._lock = threading.Lock()  # held for a few deque operations only, never across an await
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._ready: asyncio.Event | None = None  # set while items wait: wakes the publisher
        self._room: asyncio.Event | None = None  # set when the publisher took an item

    def __len__(self) -> int:
        return len(self._items)

    @property
    def attached_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop of the run that drains the queue, or None between runs."""
        return self._loop

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the running loop at the start of a run (called on that loop)."""
        self._ready, self._room = asyncio.Event(), asyncio.Event()
        self._loop_thread = threading.get_ident()
        self._loop = loop
        if self._items:
            self._ready.set()

    def detach(self) -> None:
        """Forget the loop when the run ends; items stay for the next run."""
        self._loop = self._loop_thread = self._ready = self._room = None

    def _wake(self, event: asyncio.Event | None) -> None:
        loop = self._loop
        if event is None or loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            event.set()
        else:
            # RuntimeError: the loop closed between the check and the call; nothing to wake then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def put_nowait(self, item: Any) -> None:
        """Append ``item``; raise ``asyncio.QueueFull`` at the bound. Any thread."""
        with self._lock:
            if len(self._items) >= self.maxsize:
                raise asyncio.QueueFull
            self._items.append(item)
        self._wake(self._ready)

    async def put(self, item: Any) -> None:
        """Append ``item``, waiting for room. Only on the attached loop."""
        while True:
            try:
                self.put_nowait(item)
                return
            except asyncio.QueueFull:
                room = self._room
                if room is None:
                    raise
                room.clear()
                await room.wait()

    def push_front(self, items: list[Any]) -> None:
        """Put ``items`` back at the head, in order: a lost session's unwritten published lines."""
        with self._lock:
            self._items.extendleft(reversed(items))
        self._wake(self._ready)

    def pop_encoded(self) -> list[bytes]:
        """Take the already-encoded lines at the head; a new session writes them before anything else."""
        taken: list[bytes] = []
        with self._lock:
            while self._items and isinstance(self._items[0], Encoded):
                taken.append(self._items.popleft().data)
        if taken:
            self._wake(self._room)
        return taken

    async def get(self) -> Any:
        """Take the oldest item, waiting for one. Only on the attached loop (the publisher)."""
        ready = self._ready
        assert ready is not None, "get() needs an attached loop"
        while True:
            with self._lock:
                if self._items:
                    item = self._items.popleft()
                    break
            ready.clear()
            await ready.wait()
        self._wake(self._room)
        return item

    def get_nowait(self) -> Any:
        """Take the oldest item, or return None when the queue is empty."""
        with self._lock:
            if not self._items:
                return None
            item = self._items.popleft()
        self._wake(self._room)
        return item

    def clear(self) -> int:
        """Drop every item; return how many there were."""
        with self._lock:
            count = len(self._items)
            self._items.clear()
        self._wake(self._room)
        return count
