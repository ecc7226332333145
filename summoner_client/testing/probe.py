"""A raw-wire relay client for tests: exact bytes in, exact bytes out, every wait bounded.

``ProbeClient`` speaks plain TCP through a non-blocking socket and the running event loop, with no
stream reader in between. That matters for two reasons:

- A probe reads from the kernel only when the test asks for a line. A probe that is never read from
  really stops reading, so the relay sees a slow consumer (relay spec §6, C12 and C13). A stream
  reader would keep draining the socket into its own buffer behind the test's back.
- What the test sees is what the relay wrote: no decoding, no CR handling, no line limit.

Every line read is checked against the contract that holds for all relay output (relay spec §2.6,
§2.7, C21): at most 65,536 bytes before its LF, and a line that is not an envelope (first byte ``{``)
is a notice: ``Warning: `` + ASCII + LF, at most 200 bytes. A violation raises
:class:`RelayContractError`, so every test in a suite enforces C21 without saying so. The one
unterminated line tolerated is an envelope cut off by the relay closing a stalled reader, and only
right before EOF (see :meth:`ProbeClient.next`).
"""

# Every wait takes its own bound, as ARCHITECTURE §8 asks (``await probe.next(timeout=...)``),
# so a test reads as the spec does: "within 5 s". Hence the timeout parameters ASYNC109 dislikes.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import struct
from types import TracebackType
from typing import Final

__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_LINE_BYTES",
    "MAX_NOTICE_BYTES",
    "NOTICE_PREFIX",
    "ProbeClient",
    "RelayContractError",
    "address_string",
    "check_relay_line",
    "expected_envelope",
    "parse_envelope",
]

DEFAULT_TIMEOUT: Final = 5.0
"""Seconds any single probe operation may take unless the caller says otherwise."""

MAX_LINE_BYTES: Final = 65_536
"""Longest line a relay may write, LF excluded (relay spec §2.6)."""

MAX_NOTICE_BYTES: Final = 200
"""Longest notice, LF included (relay spec §2.7)."""

NOTICE_PREFIX: Final = b"Warning: "
"""The 9 bytes every notice starts with."""

_RECV_CHUNK: Final = 256 * 1024


class RelayContractError(AssertionError):
    """The relay wrote bytes that no conforming relay may write.

    An ``AssertionError`` so that pytest reports it as a test failure, with the offending line.
    """


def address_string(sockname: tuple[object, ...]) -> str:
    """Format a socket address the way the relay writes ``remote_addr`` (relay spec §2.4).

    IPv4 is ``a.b.c.d:port``; IPv6 is ``[addr]:port`` in RFC 5952 form, with ``%scope`` only for
    a non-zero scope id; an IPv4-mapped IPv6 address is written in IPv4 form.

    Args:
        sockname: What ``socket.getsockname()`` or ``getpeername()`` returned.
    """
    host, port = str(sockname[0]), int(str(sockname[1]))
    if len(sockname) < 4:
        return f"{host}:{port}"
    address = ipaddress.IPv6Address(host.partition("%")[0])
    if address.ipv4_mapped is not None:
        return f"{address.ipv4_mapped}:{port}"
    scope = int(str(sockname[3]))
    suffix = f"%{scope}" if scope else ""
    return f"[{address.compressed}{suffix}]:{port}"


def expected_envelope(remote_addr: str, text: str) -> bytes:
    """The exact bytes a recipient must receive for ``text`` sent from ``remote_addr``, LF included.

    Computed with the standard library's encoder (compact, ``ensure_ascii=False``), which the spec
    names as producing the envelope's escaping. It deliberately does not use orjson, the Python
    relay's encoder, so the Python relay is not checked against itself.
    """
    envelope = {"remote_addr": remote_addr, "content": text}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def check_relay_line(line: bytes) -> None:
    """Raise :class:`RelayContractError` unless ``line`` is a well-formed relay line (C21).

    Args:
        line: One line as read, LF included.
    """
    if not line.endswith(b"\n"):
        raise RelayContractError(f"a line cut off by the end of the connection: {line[:120]!r}")
    if len(line) - 1 > MAX_LINE_BYTES:
        raise RelayContractError(f"the relay wrote a {len(line) - 1}-byte line, over the 65,536-byte ceiling")
    if line.startswith(b"{"):
        return
    if not line.startswith(NOTICE_PREFIX):
        raise RelayContractError(f"a line that is neither an envelope nor a notice: {line[:120]!r}")
    if len(line) > MAX_NOTICE_BYTES:
        raise RelayContractError(f"a {len(line)}-byte notice, over {MAX_NOTICE_BYTES} bytes: {line[:120]!r}")
    if not line.isascii():
        raise RelayContractError(f"a notice that is not ASCII: {line!r}")


def parse_envelope(line: bytes) -> tuple[str, str]:
    """Check that ``line`` is an envelope in the exact relay form and return its two members.

    Raises:
        RelayContractError: The line is a notice, is not JSON, has other members or another order,
            or is not byte-for-byte the compact form of its own content.
    """
    if not line.startswith(b"{"):
        raise RelayContractError(f"expected an envelope, got {line!r}")
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise RelayContractError(f"an envelope that is not JSON ({exc}): {line[:120]!r}") from None
    if not isinstance(value, dict) or list(value) != ["remote_addr", "content"]:
        raise RelayContractError(f"an envelope without exactly remote_addr then content: {line[:120]!r}")
    remote_addr, content = value["remote_addr"], value["content"]
    if not isinstance(remote_addr, str) or not isinstance(content, str):
        raise RelayContractError(f"an envelope whose members are not strings: {line[:120]!r}")
    if expected_envelope(remote_addr, content) != line:
        raise RelayContractError(f"an envelope not in the exact compact form: {line[:120]!r}")
    return remote_addr, content


class ProbeClient:
    """One raw TCP connection to a relay, read one line at a time, asserting on exact bytes.

    Create it with :meth:`connect`. Reads happen only inside :meth:`next` and the methods built on
    it; nothing reads in the background.

    Attributes:
        local_addr: This end's address as the relay writes it in ``remote_addr`` (IPv4
            ``a.b.c.d:port``, IPv6 ``[addr]:port``). With address masking the relay writes
            something else, which is the point of that test.
        transcript: Every byte read so far, when the probe was created with ``record=True``.
    """

    def __init__(self, sock: socket.socket, *, record: bool = False) -> None:
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already known to hold no LF
        self._eof = False
        self._closed = False
        self.local_addr = address_string(sock.getsockname())
        self.transcript: bytearray | None = bytearray() if record else None

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        recv_buffer: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        record: bool = False,
    ) -> ProbeClient:
        """Open a connection to ``host:port``.

        Args:
            host: The relay's host.
            port: The relay's port.
            recv_buffer: ``SO_RCVBUF`` in bytes, set before connecting so the advertised window
                stays small: a probe that then never reads fills up quickly (slow-consumer cases).
            timeout: Seconds allowed for the connection to be established.
            record: Keep every byte read in :attr:`transcript`.

        Raises:
            OSError: The connection was refused or failed.
            TimeoutError: It was not established in time.
        """
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            family, kind, proto, _, address = infos[0]
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                # Without NODELAY, writes of a few bytes would be merged and segmentation tests
                # (one byte per write) would not test what they say.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if recv_buffer is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
                await loop.sock_connect(sock, address)
            except BaseException:
                sock.close()
                raise
        return cls(sock, record=record)

    async def send(self, data: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Write all of ``data``; bounded, since a relay that stops reading would block it forever."""
        async with asyncio.timeout(timeout):
            await self._loop.sock_sendall(self._sock, data)

    async def next(self, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Return the next line, LF included, or ``b""`` once the relay has closed the connection.

        At EOF, an unterminated envelope is returned once, without LF, before ``b""``; see
        :meth:`_take_partial_line`. Tests that compare exact bytes notice it at once.

        Raises:
            TimeoutError: No complete line and no EOF within ``timeout`` seconds. Bytes already
                received stay buffered for the next call.
            RelayContractError: The line breaks the rules every relay line follows (C21).
            ConnectionResetError: The relay reset the connection.
        """
        async with asyncio.timeout(timeout):
            while True:
                end = self._buffer.find(b"\n", self._scanned)
                if end >= 0:
                    line = bytes(self._buffer[: end + 1])
                    del self._buffer[: end + 1]
                    self._scanned = 0
                    check_relay_line(line)
                    return line
                self._scanned = len(self._buffer)
                if self._eof:
                    return self._take_partial_line()
                await self._fill()

    def _take_partial_line(self) -> bytes:
        """At EOF: the unterminated rest of the stream, once, then ``b""``.

        A relay that disconnects a stalled reader may have written part of an envelope when it
        gave up (relay spec §4.6); those bytes cannot be taken back, so a torn envelope at EOF is
        returned as it is, without LF. A torn notice is never acceptable: notices are short and
        written whole.
        """
        partial = bytes(self._buffer)
        self._buffer.clear()
        self._scanned = 0
        if partial and not partial.startswith(b"{"):
            check_relay_line(partial)  # raises: a notice or junk cut off by EOF
        return partial

    async def _fill(self) -> None:
        chunk = await self._loop.sock_recv(self._sock, _RECV_CHUNK)
        if not chunk:
            self._eof = True
            return
        self._buffer += chunk
        if self.transcript is not None:
            self.transcript += chunk

    async def next_envelope(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[str, str]:
        """Read the next line, require an envelope in the exact relay form, and return its members.

        Returns:
            ``(remote_addr, content)``.

        Raises:
            RelayContractError: The next line is a notice, EOF, or not the exact envelope form.
        """
        return parse_envelope(await self.next(timeout))

    async def expect_eof(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Require that the relay closes the connection next, with no further line."""
        line = await self.next(timeout)
        if line:
            raise AssertionError(f"expected the relay to close the connection, got {line[:120]!r}")

    async def expect_silence(self, duration: float) -> None:
        """Require that nothing at all arrives, not even EOF, for ``duration`` seconds.

        This is how a test lets time pass when the passing of time is the behaviour under test
        (an idle limit that must not fire): it waits on the socket, not on a clock.
        """
        try:
            line = await self.next(timeout=duration)
        except TimeoutError:
            return
        what = "closed the connection" if not line else f"sent {line[:120]!r}"
        raise AssertionError(f"expected silence for {duration} s, but the relay {what}")

    def shutdown_write(self) -> None:
        """Half-close: send FIN, keep reading. The relay must still process a partial last line."""
        self._sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Close the connection normally (FIN). Safe to call more than once."""
        if not self._closed:
            self._closed = True
            self._sock.close()

    def abort(self) -> None:
        """Reset the connection: ``SO_LINGER`` 0 makes the close send RST instead of FIN."""
        if not self._closed:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` or :meth:`abort` was called."""
        return self._closed

    async def __aenter__(self) -> ProbeClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
