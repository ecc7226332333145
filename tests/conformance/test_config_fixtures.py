"""Relay spec §6, C22: both validators accept and reject the same files, naming the same key paths.

The ``rust`` variant runs the native validator (``summoner_client._relay.check_config``), the
``python`` variant the pydantic one (``parse_relay_config``); the fixture files are shared with
``cargo test``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from summoner_client.config.loading import parse_relay_config
from summoner_client.errors import ConfigError
from summoner_client.testing.relays import Backend

pytestmark = pytest.mark.conformance

CONFIGS = Path(__file__).with_name("configs")
VALID = sorted((CONFIGS / "valid").glob("*.json"))
INVALID = sorted(
    path for path in (CONFIGS / "invalid").glob("*.json") if not path.name.endswith(".expected.json")
)


def problems(backend: Backend, data: dict[str, Any], *, strict: bool) -> list[tuple[str, str]]:
    """``(key path, message)`` for every problem the backend's validator reports."""
    if backend == "rust":
        from summoner_client import _relay

        return _relay.check_config(json.dumps(data), strict)
    try:
        parse_relay_config(data, strict=strict)
    except ConfigError as exc:
        return [(issue.path, issue.message) for issue in exc.issues]
    return []


def test_fixture_sets_are_not_empty() -> None:
    assert len(VALID) >= 10
    assert len(INVALID) >= 20


@pytest.mark.parametrize("path", VALID, ids=[path.stem for path in VALID])
def test_valid_fixture_is_accepted_even_when_strict(relay_backend: Backend, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert problems(relay_backend, data, strict=True) == []


@pytest.mark.parametrize("path", INVALID, ids=[path.stem for path in INVALID])
def test_invalid_fixture_reports_exactly_the_expected_key_paths(relay_backend: Backend, path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))["paths"]
    found = problems(relay_backend, data, strict=False)
    assert {key for key, _ in found} == set(expected), found
    assert all(message for _, message in found)


def test_unknown_key_is_accepted_with_a_suggestion_and_rejected_when_strict(relay_backend: Backend) -> None:
    data = {"hyper_parameters": {"max_conections": 5}}
    assert problems(relay_backend, data, strict=False) == []
    [(key, message)] = problems(relay_backend, data, strict=True)
    assert key == "hyper_parameters.max_conections"
    assert "max_connections" in message
    if relay_backend == "python":  # the native validator's warning goes to its log, not to Python
        [warning] = parse_relay_config(data).warnings
        assert warning.path == key
        assert "max_connections" in warning.message
