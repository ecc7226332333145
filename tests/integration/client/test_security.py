"""TLS and token auth against the native relay (spec §12.10): a verified TLS session with a token, a
refused token counted as a failed attempt (§8.6), a certificate that does not verify, and the token kept
out of every log line, repr and DNA."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme

from summoner_client.client import ClientStatus, SummonerClient
from summoner_client.server import RunningRelay, SummonerServer
from tests.integration.client._helpers import Clients, Collector, LogRecorder, fast_config
from tests.integration.client.conftest import Certificate

Logs = Callable[[SummonerClient], LogRecorder]
TOKEN = "client-suite-token-0123456789abcdef"
WRONG = "not-the-token-0123456789abcdef"


def secure_relay(security: dict[str, Any]) -> RunningRelay:
    return SummonerServer("secure-relay").start(host="127.0.0.1", port=0, config_dict={"security": security})


def client_config(security: dict[str, Any], **reconnection: Any) -> dict[str, Any]:
    config = fast_config(reconnection=reconnection)
    config["security"] = security
    return config


@pytest.fixture
def wire_log() -> Iterator[list[logging.LogRecord]]:
    """Records of the ``summoner_client.wire`` trace logger, switched to DEBUG for the test."""
    wire = logging.getLogger("summoner_client.wire")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    level = wire.level
    wire.addHandler(handler)
    wire.setLevel(logging.DEBUG)
    yield records
    wire.removeHandler(handler)
    wire.setLevel(level)


def assert_token_hidden(
    client: SummonerClient, recorders: list[LogRecorder], wire: list[logging.LogRecord]
) -> None:
    for text in (
        *[r.getMessage() for recorder in recorders for r in recorder.records],
        *[r.getMessage() for r in wire],
        repr(client._config),
        repr(client.__dict__),
        client.dna(include_context=True),
    ):
        assert TOKEN not in text
        assert WRONG not in text


async def test_tls_with_a_token_exchanges_messages(
    certificate: Certificate, logs: Logs, wire_log: list[logging.LogRecord]
) -> None:
    relay = secure_relay(
        {"tls_cert_file": certificate.cert_file, "tls_key_file": certificate.key_file, "auth_tokens": [TOKEN]}
    )
    pool = Clients(relay)
    security = {"tls": True, "tls_ca_file": certificate.ca_file, "auth_token": TOKEN}
    try:
        sink = Collector()
        receiver = SummonerClient("secure-rx")

        @receiver.receive("any")
        async def on_message(msg: Any) -> None:
            sink.add(msg["content"])

        sender = SummonerClient("secure-tx")
        recorders = [logs(receiver), logs(sender)]
        await pool.start(receiver, client_config(security))
        await pool.start(sender, client_config(security))
        await sender.publish({"over": "tls"})
        assert await sink.wait(1) == [{"over": "tls"}]
        assert sender.status is ClientStatus.CONNECTED
        assert relay.stats().get("members") == 2
        assert_token_hidden(sender, recorders, wire_log)
    finally:
        await pool.stop_all()
        relay.stop()


async def test_a_refused_token_is_logged_and_counted_as_a_failed_attempt(
    logs: Logs, wire_log: list[logging.LogRecord]
) -> None:
    relay = secure_relay({"auth_tokens": [TOKEN]})
    try:
        client = SummonerClient("refused")
        log = logs(client)
        notices = Collector()

        @client.receive("any")
        async def on_message(msg: Any) -> None:
            notices.add(msg)  # the relay's refusal is not a message for the agent

        config = client_config(
            {"auth_token": WRONG}, primary_retry_limit=2, default_retry_limit=1, retry_delay_seconds=0.01
        )
        # Three refusals in a row end the run: had a refused connection reset the attempt counter,
        # the client would retry forever and this wait would time out.
        await asyncio.wait_for(client.run_client(relay.host, relay.port, config_dict=config), 10)
        errors = log.messages(logging.ERROR)
        assert errors.count("Relay rejected the auth token") == 3
        retries = [m for m in errors if "retry" in m and "sleeping" in m]
        assert [m.split("] ")[1] for m in retries] == [
            "(Primary) retry 1 of 2; sleeping 0.01s",
            "(Primary) retry 2 of 2; sleeping 0.01s",
            "(Default) retry 1 of 1; sleeping 0.01s",
        ]
        assert all(m.startswith("[AuthRejected: Relay rejected the auth token]") for m in retries)
        assert log.count("Cannot connect to fallback") == 1
        assert not notices.items
        assert client.status is ClientStatus.STOPPED
        assert_token_hidden(client, [log], wire_log)
    finally:
        relay.stop()


async def test_a_certificate_the_client_cannot_verify_fails_the_attempt(
    certificate: Certificate, tmp_path: Any, logs: Logs
) -> None:
    relay = secure_relay({"tls_cert_file": certificate.cert_file, "tls_key_file": certificate.key_file})
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    try:
        client = SummonerClient("unverified")
        log = logs(client)
        config = client_config(
            {"tls": True, "tls_ca_file": str(other_ca)}, primary_retry_limit=1, default_retry_limit=1
        )
        await asyncio.wait_for(client.run_client(relay.host, relay.port, config_dict=config), 10)
        retries = [m for m in log.messages(logging.ERROR) if "sleeping" in m]
        assert len(retries) == 2
        assert all("CERTIFICATE_VERIFY_FAILED" in m for m in retries)
        assert client.stats["connects"] == 0
    finally:
        relay.stop()
