"""docs/config-reference.md is generated from the models: a model change without a rerun fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).parents[3] / "scripts" / "gen_config_reference.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_reference_matches_the_models() -> None:
    generator = _generator()
    committed = generator.REFERENCE.read_text(encoding="utf-8")
    assert committed == generator.render(), "run: .venv/bin/python scripts/gen_config_reference.py"


def test_every_key_of_both_models_is_in_the_reference() -> None:
    from summoner_client.config import ClientConfig, RelayConfig

    text = _generator().render()
    for model in (ClientConfig, RelayConfig):
        for name in model.model_fields:
            assert f"`{name}`" in text
    assert "| `max_queue_messages` | integer, ≥ 1 | `8192` |" in text
    assert "| `concurrency_limit` | integer, ≥ 1 | `50` |" in text
