"""The ``summoner`` command, run as a user would: a real process, real sockets, real signals."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from summoner_client.cli import main

CONFIGS = Path(__file__).parents[1] / "conformance" / "configs"


def test_check_config_accepts_a_valid_relay_file() -> None:
    result = CliRunner().invoke(main, ["check-config", str(CONFIGS / "valid" / "spec_example.json")])
    assert result.exit_code == 0, result.output
    assert "valid relay configuration" in result.output


def test_check_config_names_the_key_and_rule_of_each_problem() -> None:
    result = CliRunner().invoke(
        main, ["check-config", str(CONFIGS / "invalid" / "unordered_thresholds.json")]
    )
    assert result.exit_code == 2
    assert "hyper_parameters.backpressure_policy.flow_control_threshold" in result.output
    assert "must be greater than throttle_threshold" in result.output


def test_check_config_warns_on_unknown_keys_and_strict_refuses_them(tmp_path: Path) -> None:
    path = tmp_path / "relay.json"
    path.write_text(json.dumps({"version": "rust", "hyper_parameters": {"max_conections": 5}}))
    lenient = CliRunner().invoke(main, ["check-config", str(path)])
    assert lenient.exit_code == 0
    assert "max_connections" in lenient.output
    strict = CliRunner().invoke(main, ["check-config", "--strict", str(path)])
    assert strict.exit_code == 2


def test_check_config_applies_client_rules_to_client_files(tmp_path: Path) -> None:
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"hyper_parameters": {"sender": {"concurrency_limit": True}}}))
    result = CliRunner().invoke(main, ["check-config", str(path)])
    assert result.exit_code == 2
    assert "sender.concurrency_limit" in result.output


@pytest.mark.parametrize("flags", [[], ["--python"]], ids=["rust", "python"])
def test_relay_command_relays_and_exits_cleanly_on_sigterm(flags: list[str]) -> None:
    command = [sys.executable, "-m", "summoner_client.cli", "relay", "--port", "0", *flags]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        address = None
        for line in process.stderr:
            if match := re.search(r"listening on ([\d.]+):(\d+)", line):
                address = (match.group(1), int(match.group(2)))
                break
        assert address is not None, "the relay never said where it listens"
        with socket.create_connection(address, timeout=5) as a, socket.create_connection(address) as b:
            assert _relayed(a, b).endswith(b'"content":"hello"}\n')
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def _relayed(sender: socket.socket, receiver: socket.socket) -> bytes:
    """Send until the receiver gets a line: it is a member only once the relay has admitted it.

    Bounded: at most 25 attempts of 0.2 s each.
    """
    receiver.settimeout(0.2)
    for _ in range(25):
        sender.sendall(b"hello\n")
        try:
            data = receiver.recv(4096)
        except TimeoutError:
            continue
        return data.split(b"\n")[0] + b"\n"
    raise AssertionError("no line relayed")
