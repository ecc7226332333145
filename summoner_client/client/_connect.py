"""Opening one connection to a relay (spec §8.3 step 1, §12.10): TCP, optional TLS, optional AUTH line.

What belongs here: the socket options, the verified TLS context and the first line of an authenticated
connection, and how a relay's refusal of the token is recognised. What does not: what happens to the
connection afterwards (``session``) and whether a refusal is retried (``reconnect``).

The token is written to the socket and nowhere else: it never reaches a log record, a repr or an
exception message.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from typing import Final

from summoner_client.config.client import ClientSecurityConfig
from summoner_client.errors import ConnectionClosed
from summoner_client.protocol.notices import Notice

__all__ = ["AUTH_REJECTED_MESSAGE", "AuthRejected", "is_auth_rejection", "open_relay_connection"]

AUTH_REJECTED_MESSAGE: Final = "Relay rejected the auth token"
"""The ERROR line logged when the relay answers our AUTH line with its authentication notice."""


class AuthRejected(ConnectionClosed):
    """The relay refused ``security.auth_token``; the attempt counts as a failed one (spec §8.6)."""

    def __init__(self) -> None:
        super().__init__(AUTH_REJECTED_MESSAGE)


def is_auth_rejection(line: bytes) -> bool:
    """Whether a raw inbound line is the relay's ``Warning: Authentication failed.`` notice (N11).

    Relayed payloads arrive inside an envelope, so no peer can forge this raw line.
    """
    return Notice.from_line(line) is Notice.AUTH_FAILED


def tls_context(security: ClientSecurityConfig) -> ssl.SSLContext | None:
    """The verifying TLS context of ``security.tls`` (TLS 1.2 or later), or None without TLS.

    There is no option to skip verification: ``tls_ca_file`` (or the system store) must vouch for
    the relay's certificate.
    """
    if not security.tls:
        return None
    context = ssl.create_default_context(cafile=security.tls_ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def open_relay_connection(
    host: str, port: int, security: ClientSecurityConfig
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect (and handshake, with TLS); with a token, write ``AUTH <token>`` before anything else.

    Raises:
        OSError: Connecting or the TLS handshake failed (``ssl.SSLError`` is an ``OSError``).
    """
    tls = tls_context(security)
    server_name = (security.tls_server_name or host) if tls is not None else None
    reader, writer = await asyncio.open_connection(host, port, ssl=tls, server_hostname=server_name)
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if security.auth_token is not None:
        writer.write(b"AUTH " + security.auth_token.encode("ascii") + b"\n")  # first line (§12.10)
    return reader, writer
