"""Line framing: bytes in, complete lines and oversize events out, with a hard cap on line length.

What belongs here: splitting a byte stream at LF, the CR rule of each side, and the discard mode that
skips an over-long line without buffering it (client spec §6.4, relay spec §2.2 and §4.3). What does not:
decoding text or JSON (``wire``), and any socket or event loop: callers feed whatever their reader
returned.
"""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

__all__ = ["LineEvent", "LineSplitter", "Oversize"]

_CR = 0x0D


class Oversize(NamedTuple):
    """A line whose body was longer than the limit; its bytes were dropped, never buffered whole.

    Attributes:
        size: Length of the dropped body in bytes, counted the way the limit is checked (without the LF,
            and without the CR that a ``strip_cr`` splitter removes).
        limit: The limit in force, so the caller can log or warn without knowing the splitter.
    """

    size: int
    limit: int


LineEvent: TypeAlias = bytes | Oversize
"""One result of ``LineSplitter.feed``: a complete line body, or the report of a skipped one."""


class LineSplitter:
    """Split a byte stream into lines, with a hard cap on line length.

    Pure and synchronous: feed it whatever the socket returned. An over-long line is skipped up to its
    newline and reported as an Oversize event, so the caller can warn the sender and keep the session.
    The result does not depend on how the stream is chunked.

    Memory stays bounded: at most ``max_line_bytes`` bytes of an unfinished line are kept (one more when
    ``strip_cr`` is set, since that byte may be the CR of a line of exactly the limit). Once an unfinished
    line is known to be too long, the splitter drops it and every byte up to and including the next LF.

    Example::

        splitter = LineSplitter(65_536)
        for event in splitter.feed(data):
            if isinstance(event, Oversize):
                ...  # warn, count, carry on
            else:
                ...  # event is one line body, without its LF
        last = splitter.finish()  # at EOF: the partial last line, if any
    """

    __slots__ = ("_buffer", "_discarded", "_discarding", "_dropped_cr", "_hold", "_limit", "_strip_cr")

    def __init__(self, max_line_bytes: int, *, strip_cr: bool = False) -> None:
        """Create a splitter.

        Args:
            max_line_bytes: Largest line body accepted, in bytes. Any positive value works.
            strip_cr: Remove exactly one CR right before each LF, as the relay does (relay spec §2.2).
                The client keeps it (client spec §6.4), which is the default.

        Raises:
            ValueError: ``max_line_bytes`` is not positive.
        """
        if max_line_bytes < 1:
            raise ValueError(f"max_line_bytes must be positive, got {max_line_bytes}")
        self._limit = max_line_bytes
        self._strip_cr = strip_cr
        self._hold = max_line_bytes + 1 if strip_cr else max_line_bytes
        self._buffer = bytearray()
        self._discarding = False
        self._discarded = 0  # bytes of the oversize line dropped so far
        self._dropped_cr = False  # whether the last dropped byte was a CR, for the reported size

    @property
    def max_line_bytes(self) -> int:
        """The largest line body accepted, in bytes."""
        return self._limit

    @property
    def strip_cr(self) -> bool:
        """Whether one CR before each LF is removed."""
        return self._strip_cr

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished line held now; never more than ``max_line_bytes`` + 1."""
        return len(self._buffer)

    @property
    def discarding(self) -> bool:
        """Whether an oversize line is being skipped, waiting for its LF."""
        return self._discarding

    def feed(self, data: bytes) -> list[LineEvent]:
        """Consume one chunk of the stream.

        Args:
            data: The bytes just read; any length, including none.

        Returns:
            The events completed by this chunk, in stream order: line bodies (without LF) and Oversize
            reports. An Oversize event is produced when the skipped line's LF arrives.
        """
        events: list[LineEvent] = []
        start = 0
        if self._discarding:
            start = self._skip(data, events)
        elif self._buffer:
            start = self._complete(data, events)
        if start >= 0:
            self._split(data, start, events)
        return events

    def finish(self) -> LineEvent | None:
        """End the stream: return the partial last line, if there is one, and reset the splitter.

        Returns:
            The unterminated last line (a CR at its end is content, since no LF follows it), an Oversize
            event if that line is too long, or None when the stream ended right after an LF or during
            discard mode.
        """
        if self._discarding:
            self._end_discard()
            return None
        if not self._buffer:
            return None
        line = bytes(self._buffer)
        self._buffer.clear()
        if len(line) > self._limit:
            return Oversize(len(line), self._limit)
        return line

    def _split(self, data: bytes, start: int, events: list[LineEvent]) -> None:
        # The hot path: the buffer is empty, so complete lines are sliced straight out of the chunk.
        find = data.find
        limit = self._limit
        strip_cr = self._strip_cr
        while (newline := find(b"\n", start)) >= 0:
            end = newline - 1 if strip_cr and newline > start and data[newline - 1] == _CR else newline
            if end - start > limit:
                events.append(Oversize(end - start, limit))
            else:
                events.append(data[start:end])
            start = newline + 1
        rest = len(data) - start
        if rest > self._hold:
            self._start_discard(rest, data[-1] == _CR)
        elif rest:
            self._buffer += data[start:]

    def _complete(self, data: bytes, events: list[LineEvent]) -> int:
        # An unfinished line is buffered: extend it, and finish it if this chunk holds its LF.
        buffer = self._buffer
        newline = data.find(b"\n")
        if newline < 0:
            if len(buffer) + len(data) > self._hold:
                self._start_discard(len(buffer) + len(data), data[-1] == _CR)
            else:
                buffer += data
            return -1
        end = newline
        if self._strip_cr:
            if newline and data[newline - 1] == _CR:
                end -= 1
            elif not newline and buffer[-1] == _CR:
                del buffer[-1]  # the CR ended the previous chunk
        size = len(buffer) + end
        if size > self._limit:
            events.append(Oversize(size, self._limit))
        else:
            buffer += memoryview(data)[:end]
            events.append(bytes(buffer))
        buffer.clear()
        return newline + 1

    def _skip(self, data: bytes, events: list[LineEvent]) -> int:
        # Discard mode: count the dropped bytes, keep none of them.
        newline = data.find(b"\n")
        if newline < 0:
            if data:
                self._discarded += len(data)
                self._dropped_cr = data[-1] == _CR
            return -1
        ends_with_cr = data[newline - 1] == _CR if newline else self._dropped_cr
        size = self._discarded + newline - (1 if self._strip_cr and ends_with_cr else 0)
        events.append(Oversize(size, self._limit))
        self._end_discard()
        return newline + 1

    def _start_discard(self, seen: int, ends_with_cr: bool) -> None:
        self._buffer.clear()  # shrinks the allocation too, so a long line leaves no large buffer behind
        self._discarding = True
        self._discarded = seen
        self._dropped_cr = ends_with_cr

    def _end_discard(self) -> None:
        self._discarding = False
        self._discarded = 0
        self._dropped_cr = False
