"""The Python relay over real loopback sockets: bytes in, exact bytes out (relay spec §2, §4, §6).

Each test starts its own ``PythonRelay`` on 127.0.0.1 and a free port, in the test's event loop,
and talks to it only through raw sockets (``ProbeClient``, which also checks every line it reads
against C21) and ``stats()``. Nothing here reaches into the relay's internals, so every body can
move unchanged into the conformance suite that runs both relays.

Waiting: tests await bytes from a probe. ``stats()`` is polled, with a short bounded sleep, only
for state that puts no byte on the wire: a connection becoming (or ceasing to be) a member, and
the close counter of a client that is not reading.
"""

# Every wait takes its own bound, as ARCHITECTURE §8 asks. Hence the timeout parameters ASYNC109 dislikes.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import trustme

from summoner_client.config.loading import parse_relay_config
from summoner_client.protocol.notices import Notice
from summoner_client.server.python_relay import PythonRelay
from summoner_client.testing.probe import ProbeClient, expected_envelope

VECTORS = Path(__file__).parents[1] / "conformance" / "vectors" / "envelope.jsonl"
TOKEN = "integration-test-token-0123456789"
N1, N2, N3 = (Notice.RATE_LIMITED.line, Notice.IDLE_TIMEOUT.line, Notice.SHUTTING_DOWN.line)
N5, N6, N7 = (Notice.MESSAGE_TOO_LONG.line, Notice.INVALID_UTF8.line, Notice.SERVER_FULL.line)
N8, N11, N12 = (Notice.TOO_MANY_CONNECTIONS.line, Notice.AUTH_FAILED.line, Notice.ADDRESS_BLOCKED.line)
N13 = Notice.LINE_TIMEOUT.line


class Relay:
    """A ``PythonRelay`` serving in a task of the test's loop, with the probes connected to it."""

    def __init__(self, relay: PythonRelay, serving: asyncio.Task[None], host: str, port: int) -> None:
        self.relay = relay
        self.serving = serving
        self.host = host
        self.port = port
        self.probes: list[ProbeClient] = []

    async def connect(self, *, recv_buffer: int | None = None) -> ProbeClient:
        probe = await ProbeClient.connect(self.host, self.port, recv_buffer=recv_buffer)
        self.probes.append(probe)
        return probe

    async def members(self, count: int) -> list[ProbeClient]:
        """Connect ``count`` probes and wait until all of them are members."""
        probes = [await self.connect() for _ in range(count)]
        await self.wait_for("members", lambda members: members == count)
        return probes

    def stat(self, key: str) -> int:
        return self.relay.stats()[key]

    async def wait_for(self, key: str, condition: Callable[[int], bool], timeout: float = 5.0) -> None:
        """Poll a counter that no byte on the wire announces (membership, a silent client's close)."""
        deadline = time.monotonic() + timeout
        while not condition(self.stat(key)):
            assert time.monotonic() < deadline, f"{key} is {self.stat(key)} after {timeout} s"
            await asyncio.sleep(0.005)

    async def stop(self, timeout: float = 10.0) -> None:
        for probe in self.probes:
            probe.close()
        self.relay.stop()
        async with asyncio.timeout(timeout):
            await self.serving


StartRelay = Callable[..., Any]


@pytest.fixture
async def start_relay() -> AsyncIterator[StartRelay]:
    """``await start_relay(hyper_parameters={...}, security={...})``; every relay is stopped at teardown."""
    started: list[Relay] = []

    async def start(**sections: Mapping[str, Any]) -> Relay:
        hyper = {"shutdown_drain_secs": 2.0, **sections.pop("hyper_parameters", {})}
        document = {
            "host": "127.0.0.1",
            "port": 0,
            "version": "python",
            "hyper_parameters": hyper,
            **sections,
        }
        relay = PythonRelay(parse_relay_config(document).config, name="test")
        host, port = await relay.bind()
        running = Relay(relay, asyncio.create_task(relay.serve()), host, port)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop()


def envelope(sender: ProbeClient, text: str) -> bytes:
    return expected_envelope(sender.local_addr, text)


async def drain(probe: ProbeClient, count: int) -> None:
    """Read ``count`` envelopes, so that a probe which is not under test keeps its queue short."""
    for _ in range(count):
        assert (await probe.next()).startswith(b"{")


# -- envelopes and framing (C01-C06) ------------------------------------------------------------


async def test_relays_a_line_as_the_exact_envelope(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    await a.send(b'{"x": 1}\n')
    assert await b.next() == b'{"remote_addr":"%s","content":"{\\"x\\": 1}"}\n' % a.local_addr.encode()


async def test_envelopes_match_the_shared_vectors(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    vectors = [json.loads(line) for line in VECTORS.read_text(encoding="utf-8").splitlines()]
    checked = set()
    for vector in vectors:
        # A text holding LF cannot travel as one line; its other characters are covered below.
        if vector["text"] in checked or "\n" in vector["text"]:
            continue
        checked.add(vector["text"])
        # The vector's bytes, for the address this connection really has: the same escaping rule.
        ours = vector["expected"].replace(
            f'"remote_addr":"{vector["addr"]}"', f'"remote_addr":"{a.local_addr}"'
        )
        await a.send(vector["text"].encode() + b"\n")
        assert await b.next() == ours.encode() + b"\n"
    every_control_but_lf = "".join(chr(code) for code in range(0x20) if code != 0x0A)
    await a.send(every_control_but_lf.encode() + b"\n")
    assert await b.next() == envelope(a, every_control_but_lf)
    assert len(checked) >= 9


async def test_a_sender_never_receives_its_own_line(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    await a.send(b"from a\n")
    assert await b.next() == envelope(a, "from a")
    await b.send(b"from b\n")
    assert await a.next() == envelope(b, "from b")


async def test_one_cr_before_lf_is_removed_and_empty_lines_are_relayed(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    await a.send(b"a\r\na\r\r\na\rb\n\n\r\n")
    for text in ("a", "a\r", "a\rb", "", ""):
        assert await b.next() == envelope(a, text)


async def test_partial_last_line_is_relayed_at_eof(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    await a.send(b"tail")
    a.shutdown_write()
    assert await b.next() == envelope(a, "tail")
    await a.expect_eof()
    await relay.wait_for('connections_closed_total{reason="client_closed"}', lambda n: n == 1)


async def test_segmentation_does_not_change_the_lines(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    long_line = "x" * 10_000
    for byte in long_line.encode() + b"\n":
        await a.send(bytes([byte]))
    assert await b.next() == envelope(a, long_line)
    await a.send(b"".join(b"%d\n" % n for n in range(1_000)))
    for n in range(1_000):
        assert await b.next() == envelope(a, str(n))


async def test_each_senders_lines_arrive_complete_and_in_order(start_relay: StartRelay) -> None:
    relay = await start_relay()
    senders = await relay.members(3)
    receivers = [await relay.connect() for _ in range(2)]
    await relay.wait_for("members", lambda members: members == 5)

    async def collect(receiver: ProbeClient) -> dict[str, list[int]]:
        seen: dict[str, list[int]] = {}
        for _ in range(3_000):
            sender, content = await receiver.next_envelope()
            seen.setdefault(sender, []).append(int(content))
        return seen

    reading = [asyncio.create_task(collect(receiver)) for receiver in receivers]
    draining = [asyncio.create_task(drain(sender, 2_000)) for sender in senders]
    for start in range(0, 1_000, 250):
        for sender in senders:
            await sender.send(b"".join(b"%d\n" % n for n in range(start, start + 250)))
    expected = {sender.local_addr: list(range(1_000)) for sender in senders}
    for seen in await asyncio.gather(*reading):
        assert seen == expected
    await asyncio.gather(*draining)


# -- limits on lines (C08-C11) -----------------------------------------------------------------


async def test_envelope_of_exactly_the_ceiling_is_relayed_and_one_byte_more_is_not(
    start_relay: StartRelay,
) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    largest = "a" * (65_536 - 31 - len(a.local_addr))
    await a.send(largest.encode() + b"\n")
    line = await b.next()
    assert line == envelope(a, largest)
    assert len(line) == 65_537
    await a.send(largest.encode() + b"a\n" + b"next\n")
    assert await a.next() == N5
    assert await b.next() == envelope(a, "next")


async def test_escape_expansion_over_the_ceiling_gets_n5_and_the_session_continues(
    start_relay: StartRelay,
) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    await a.send(b'"' * 40_000 + b"\nafter\n")
    assert await a.next() == N5
    assert await b.next() == envelope(a, "after")
    assert relay.stat('dropped_total{reason="too_long"}') == 1


async def test_oversize_raw_line_is_skipped_with_one_n5(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    await a.send(b"z" * (1 << 20))
    await a.send(b"\nok\n")
    assert await b.next() == envelope(a, "ok")
    assert await a.next() == N5
    await b.send(b"ping\n")  # A's next line is B's: exactly one N5 came before it
    assert await a.next() == envelope(b, "ping")


async def test_invalid_utf8_gets_n6_and_the_session_continues(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b = await relay.members(2)
    await a.send(b"\xff\xfe\nok\n")
    assert await a.next() == N6
    assert await b.next() == envelope(a, "ok")
    assert relay.stat('dropped_total{reason="invalid_utf8"}') == 1


async def test_invalid_utf8_is_replaced_in_replace_mode(start_relay: StartRelay) -> None:
    relay = await start_relay(hyper_parameters={"invalid_utf8": "replace"})
    a, b = await relay.members(2)
    await a.send(b"\xff\xfe\n\xed\xa0\x80 surrogate\n")
    assert await b.next() == envelope(a, "\ufffd\ufffd")
    assert await b.next() == envelope(a, "\ufffd\ufffd\ufffd surrogate")


async def test_counters_follow_the_lines(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b, c = await relay.members(3)
    lines = [b"%d" % n for n in range(10)]
    await a.send(b"\n".join([*lines[:5], b"y" * 70_000, *lines[5:], b"\xc3"]) + b"\n")
    for receiver in (b, c):
        for n in range(10):
            assert await receiver.next() == envelope(a, str(n))
    stats = relay.relay.stats()
    assert stats["lines_received_total"] == 12
    assert stats["lines_relayed_total"] == 10
    assert stats["deliveries_total"] == 20
    assert stats['dropped_total{reason="too_long"}'] == 1
    assert stats['dropped_total{reason="invalid_utf8"}'] == 1


# -- slow consumers (C12) ------------------------------------------------------------------------


async def test_a_client_that_never_reads_is_disconnected_and_others_get_everything(
    start_relay: StartRelay,
) -> None:
    relay = await start_relay(hyper_parameters={"max_queue_messages": 64, "write_timeout_secs": 30})
    a, b, d = await relay.members(3)
    c = await relay.connect(recv_buffer=4096)
    await relay.wait_for("members", lambda members: members == 4)
    reading_d = asyncio.create_task(drain(d, 5_000))
    filler = "f" * 1_000
    sending = asyncio.create_task(a.send(b"".join(b"%d %s\n" % (n, filler.encode()) for n in range(5_000))))
    await d.send(b"".join(b"d%d\n" % n for n in range(10)))
    from_a = from_d = 0
    for _ in range(5_010):
        sender, content = await b.next_envelope()
        if sender == a.local_addr:
            assert content == f"{from_a} {filler}"
            from_a += 1
        else:
            assert content == f"d{from_d}"
            from_d += 1
    await sending
    await reading_d
    await relay.wait_for('connections_closed_total{reason="slow_consumer"}', lambda n: n == 1)
    assert relay.stat("members") == 3
    c.close()


async def test_a_stalled_writer_is_closed_for_write_timeout(start_relay: StartRelay) -> None:
    relay = await start_relay(hyper_parameters={"write_timeout_secs": 0.5})
    a, b = await relay.members(2)
    c = await relay.connect(recv_buffer=4096)
    await relay.wait_for("members", lambda members: members == 3)
    await a.send(b"".join(b"%d %s\n" % (n, b"w" * 1_000) for n in range(3_000)))
    for n in range(3_000):
        assert (await b.next_envelope())[1].startswith(f"{n} ")
    await relay.wait_for('connections_closed_total{reason="write_timeout"}', lambda n: n == 1)
    c.close()


# -- admission (C16) -----------------------------------------------------------------------------


async def test_max_connections_refuses_with_n7_and_admits_again_after_a_leave(
    start_relay: StartRelay,
) -> None:
    relay = await start_relay(hyper_parameters={"max_connections": 3})
    a, b, c = await relay.members(3)
    refused = await relay.connect()
    assert await refused.next() == N7
    await refused.expect_eof()
    assert relay.stat('connections_refused_total{reason="max_connections"}') == 1
    a.close()
    await relay.wait_for("connections", lambda connections: connections == 2)
    d = await relay.connect()
    await relay.wait_for("members", lambda members: members == 3)
    await b.send(b"hello d\n")
    assert await d.next() == envelope(b, "hello d")
    assert await c.next() == envelope(b, "hello d")


async def test_max_connections_per_ip_refuses_with_n8(start_relay: StartRelay) -> None:
    relay = await start_relay(hyper_parameters={"max_connections_per_ip": 2})
    await relay.members(2)
    refused = await relay.connect()
    assert await refused.next() == N8
    await refused.expect_eof()
    assert relay.stat('connections_refused_total{reason="max_connections_per_ip"}') == 1


# -- rate limits (C17) ---------------------------------------------------------------------------


async def test_rate_limit_drop_relays_the_burst_and_sends_one_n1(start_relay: StartRelay) -> None:
    relay = await start_relay(hyper_parameters={"rate_limit_msgs_per_minute": 60, "rate_limit_burst": 5})
    a, b, d = await relay.members(3)
    await a.send(b"".join(b"%d\n" % n for n in range(10)))
    for n in range(5):
        assert await b.next() == envelope(a, str(n))
    assert await a.next() == N1
    await d.send(b"marker\n")  # D has its own bucket; nothing of A's may come before its line
    assert await b.next() == envelope(d, "marker")
    assert await a.next() == envelope(d, "marker")
    assert relay.stat('dropped_total{reason="rate_limited"}') == 5
    assert relay.stat('notices_suppressed_total{kind="n1"}') == 4


async def test_rate_limit_pause_relays_every_line_in_order_without_a_notice(start_relay: StartRelay) -> None:
    relay = await start_relay(
        hyper_parameters={
            "rate_limit_msgs_per_minute": 600,
            "rate_limit_burst": 5,
            "rate_limit_action": "pause",
        }
    )
    a, b, d = await relay.members(3)
    await a.send(b"".join(b"%d\n" % n for n in range(10)))
    for n in range(10):
        assert await b.next() == envelope(a, str(n))
    await d.send(b"marker\n")
    assert await a.next() == envelope(d, "marker")


# -- time limits (C18, C19) ----------------------------------------------------------------------


async def test_an_unfinished_line_gets_n13_and_others_are_unaffected(start_relay: StartRelay) -> None:
    relay = await start_relay(hyper_parameters={"line_timeout_secs": 0.3})
    a, b, c = await relay.members(3)
    await a.send(b"abc")
    assert await a.next() == N13
    await a.expect_eof()
    await b.send(b"still fine\n")
    assert await c.next() == envelope(b, "still fine")


async def test_a_silent_client_gets_n2_at_the_idle_limit(start_relay: StartRelay) -> None:
    relay = await start_relay(hyper_parameters={"client_timeout_secs": 0.3})
    (a,) = await relay.members(1)
    assert await a.next() == N2
    await a.expect_eof()


# -- auth and quarantine (C23) -------------------------------------------------------------------


async def test_missing_or_wrong_token_gets_n11(start_relay: StartRelay) -> None:
    relay = await start_relay(security={"auth_tokens": [TOKEN]})
    no_auth, wrong = await relay.connect(), await relay.connect()
    await no_auth.send(b"hello\n")
    await wrong.send(b"AUTH not-the-right-token-000000\n")
    for probe in (no_auth, wrong):
        assert await probe.next() == N11
        await probe.expect_eof()
        probe.close()
    await relay.wait_for('connections_closed_total{reason="auth_failed"}', lambda n: n == 2)


async def test_the_right_token_works_and_pending_connections_receive_nothing(start_relay: StartRelay) -> None:
    relay = await start_relay(security={"auth_tokens": [TOKEN]})
    pending, b, c = [await relay.connect() for _ in range(3)]
    await c.send(f"AUTH {TOKEN}\r\n".encode())
    await relay.wait_for("members", lambda members: members == 1)
    # Lines that follow the AUTH line in the same write are processed, in order.
    await b.send(f"AUTH {TOKEN}\nfirst\nsecond\n".encode())
    assert await c.next() == envelope(b, "first")
    assert await c.next() == envelope(b, "second")
    await pending.send(b"not auth\n")
    assert await pending.next() == N11  # nothing relayed reached it before
    await pending.expect_eof()


async def test_the_sixth_attempt_after_five_failures_is_quarantined(start_relay: StartRelay) -> None:
    relay = await start_relay(security={"auth_tokens": [TOKEN]})
    for _ in range(5):
        probe = await relay.connect()
        await probe.send(b"AUTH wrong-token-wrong-token-00\n")
        assert await probe.next() == N11
        await probe.expect_eof()
    blocked = await relay.connect()
    assert await blocked.next() == N12
    await blocked.expect_eof()
    assert relay.stat('connections_refused_total{reason="quarantined"}') == 1


# -- addresses -----------------------------------------------------------------------------------


async def test_masked_addresses_are_opaque_distinct_and_stable(start_relay: StartRelay) -> None:
    relay = await start_relay(security={"mask_remote_addr": True})
    a1, a2, b = await relay.members(3)
    seen = []
    for sender in (a1, a2, a1):
        await sender.send(b"hi\n")
        seen.append((await b.next_envelope())[0])
    assert all(re.fullmatch(r"peer-[0-9a-f]{16}", addr) for addr in seen)
    assert seen[0] == seen[2] != seen[1]


# -- shutdown (C20) ------------------------------------------------------------------------------


async def test_shutdown_delivers_what_is_queued_then_n3_then_eof(start_relay: StartRelay) -> None:
    relay = await start_relay()
    a, b, c = await relay.members(3)
    await a.send(b"".join(b"%d\n" % n for n in range(100)))
    for n in range(100):  # C has them all, so they were queued for B too: fan-out is one step
        assert await c.next() == envelope(a, str(n))
    relay.relay.stop()
    for n in range(100):
        assert await b.next() == envelope(a, str(n))
    assert await b.next() == N3
    await b.expect_eof()
    for probe in (a, c):
        assert await probe.next() == N3
        await probe.expect_eof()
    with pytest.raises(ConnectionRefusedError):
        await ProbeClient.connect(relay.host, relay.port)
    for probe in (a, b, c):
        probe.close()
    async with asyncio.timeout(5):
        await relay.serving
    assert relay.stat('connections_closed_total{reason="shutdown"}') == 3


async def test_stop_is_idempotent_thread_safe_and_may_come_before_serve() -> None:
    config = parse_relay_config({"host": "127.0.0.1", "port": 0, "version": "python"}).config
    early = PythonRelay(config)
    early.stop()
    early.stop()
    async with asyncio.timeout(5):
        await early.serve()
    relay = PythonRelay(config)
    await relay.bind()
    serving = asyncio.create_task(relay.serve())
    await asyncio.to_thread(relay.stop)
    relay.stop()
    async with asyncio.timeout(5):
        await serving


async def test_stats_have_the_native_relays_keys() -> None:
    from summoner_client import _relay as native

    document = {"host": "127.0.0.1", "port": 0}
    expected = set(native.Relay("keys", json.dumps(document)).stats())
    ours = PythonRelay(parse_relay_config(document).config).stats()
    assert set(ours) >= expected
    assert all(isinstance(value, int) for value in ours.values())


# -- TLS (C24) -----------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str, trustme.CA]:
    """A server certificate for localhost/127.0.0.1 from a throwaway CA, as PEM files."""
    ca = trustme.CA()
    issued = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    return str(cert), str(key), ca


async def test_tls_clients_relay_and_a_plaintext_client_is_closed(
    start_relay: StartRelay, certificate: tuple[str, str, trustme.CA]
) -> None:
    cert, key, ca = certificate
    relay = await start_relay(
        security={"tls_cert_file": cert, "tls_key_file": key, "handshake_timeout_secs": 0.5}
    )
    context = ssl.create_default_context()
    ca.configure_trust(context)
    streams = [await asyncio.open_connection(relay.host, relay.port, ssl=context) for _ in range(2)]
    await relay.wait_for("members", lambda members: members == 2)
    (_, writer_a), (reader_b, _) = streams
    writer_a.write(b"over tls\n")
    async with asyncio.timeout(5):
        line = await reader_b.readline()
    sender = writer_a.get_extra_info("sockname")
    assert line == expected_envelope(f"{sender[0]}:{sender[1]}", "over tls")
    plain = await relay.connect()
    await plain.send(b"hello\n")
    await plain.expect_eof()
    await relay.wait_for('connections_closed_total{reason="tls_failed"}', lambda n: n == 1)
    for _, writer in streams:
        writer.close()
        await writer.wait_closed()
