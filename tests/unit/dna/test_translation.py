"""ClientTranslation (client spec §10.2, §10.4): round trip, legacy DNA, rewriting, safety, errors."""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from summoner_client.client import SummonerClient
from summoner_client.client.merger import ClientTranslation as CompatTranslation
from summoner_client.dna import ClientTranslation, DnaError, dna
from summoner_client.dna._text import rewrite_summoner_imports
from summoner_client.errors import FlowStateError, SummonerError
from summoner_client.protocol import triggers
from summoner_client.protocol.process import Direction, Move, Node, Stay, Test
from summoner_client.protocol.triggers import Signal
from tests.unit.dna._agents import EVERY_KIND, AgentFiles, LogCapture, call

HEADER = (
    "from typing import Any\n"
    "from summoner_client.client import SummonerClient\n"
    "agent = SummonerClient('src')\n"
)


def exported(client: SummonerClient, include_context: bool = True) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = orjson.loads(dna(client, include_context=include_context))
    return loaded


def translate_every_kind(agents: AgentFiles, **kwargs: Any) -> tuple[ModuleType, ClientTranslation]:
    module = agents.load(EVERY_KIND)
    entries = exported(module.agent)
    rebind = {"Trigger": module.Trigger, "other": module.other}  # the names the context lists as missing
    clone = ClientTranslation(entries, name="every-kind", rebind_globals=rebind, **kwargs)
    clone.flow().activate()
    clone.flow().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    clone.initiate_all()
    return module, clone


def records(client: SummonerClient) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for group in (
        "_dna_upload_states",
        "_dna_download_states",
        "_dna_receivers",
        "_dna_senders",
        "_dna_hooks",
    ):
        for record in getattr(client, group):
            found[record["fn"].__name__] = record
    return found


def test_round_trip_rebuilds_handlers_that_behave_the_same(agents: AgentFiles) -> None:
    module, clone = translate_every_kind(agents)
    original, copy = records(module.agent), records(clone)
    assert list(copy) == list(original)
    for name in original:
        assert copy[name]["fn"] is not original[name]["fn"]
        assert copy[name]["fn"].__module__ == clone._sandbox_module_name

    def both(name: str, *args: Any) -> tuple[Any, Any]:
        return call(original[name]["fn"](*args)), call(copy[name]["fn"](*args))

    assert both("upload", {"x": 1})[0] == both("upload", {"x": 1})[1] == ["A", "B", 1]
    assert both("download", [Node("A")]) == ({"seen": 1, "limit": 3},) * 2
    mine, theirs = both("on_ok", {"ok": True, "data": [1]})
    assert type(mine) is type(theirs) is Move
    assert (mine.signal, mine.data) == (theirs.signal, theirs.data)
    assert both("on_ok", {}) == (None, None)
    assert (
        both("on_chat", {})
        == ({"home": "/tmp/dna-home", "names": ["a", "b"], "agent": "every-kind", "other": "other"},) * 2
    )
    assert both("on_ping", {"content": module.Ping(n=2)}) == (6, 6)
    assert both("hello") == ({"from": "every-kind", "limit": 3, "order": ["a", "b"]},) * 2
    assert both("many") == ([1, 2, 3], [1, 2, 3])
    assert both("react", {"k": 1}) == ({"got": {"k": 1}},) * 2
    assert both("tag", {"a": 1}) == ({"a": 1, "tagged": 3},) * 2
    assert both("stamp", "p") == ({"payload": "p", "limit": 3},) * 2


def test_round_trip_keeps_every_registration_option(agents: AgentFiles) -> None:
    module, clone = translate_every_kind(agents)
    original, copy = records(module.agent), records(clone)
    for name in ("react", "timed_reactive", "tick", "forever", "many", "hello"):
        for key in ("route", "multi", "use_data", "data_mode", "every", "on_triggers", "on_actions", "model"):
            assert copy[name][key] == original[name][key], (name, key)
    assert copy["react"]["when_data"]({"x": 1}) is True
    assert copy["react"]["when_data"](None) is False
    assert copy["tick"]["run_while"]() is True
    assert copy["forever"]["run_while"] is True
    assert copy["on_ok"]["priority"] == (1,)
    assert copy["on_ping"]["model"] == original["on_ping"]["model"]
    assert (copy["tag"]["direction"], copy["tag"]["priority"]) == (Direction.RECEIVE, (2,))
    assert clone.receiving_hooks[(2,)] is copy["tag"]["fn"]
    assert clone.sending_hooks[()] is copy["stamp"]["fn"]


def test_exporting_the_clone_gives_the_same_handler_entries(agents: AgentFiles) -> None:
    module, clone = translate_every_kind(agents)

    def comparable(client: SummonerClient) -> list[dict[str, Any]]:
        entries = exported(client, include_context=False)
        for entry in entries:
            entry.pop("module")
            for prefix in ("run_while", "when_data"):
                entry.pop(f"{prefix}_name", None)
        return entries

    assert comparable(clone) == comparable(module.agent)


def test_context_binds_every_alias_and_applies_recipes(agents: AgentFiles) -> None:
    _, clone = translate_every_kind(agents)
    space = clone._sandbox_globals
    assert space["agent"] is clone
    assert space["bot"] is clone
    assert space["states"] == {Node("A"), Node("B")}
    assert space["home"] == Path("/tmp/dna-home")
    assert type(space["lock"]).__name__ == "Lock"
    assert space["LIMIT"] == 3
    assert clone.import_report["failed"] == []
    assert "import asyncio" in clone.import_report["succeeded"]


def test_template_client_in_the_entries_module_is_retired(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    entries = exported(module.agent)
    assert module.agent._registration_tasks
    ClientTranslation(entries, rebind_globals={"Trigger": module.Trigger})
    assert module.agent._registration_tasks == []


def test_missing_names_are_warned_about_unless_rebound(agents: AgentFiles, client_logs: LogCapture) -> None:
    module = agents.load(EVERY_KIND)
    client_logs.watch("warned", "rebound")
    ClientTranslation(exported(module.agent), name="warned")
    ClientTranslation(exported(module.agent), name="rebound", rebind_globals={"Trigger": 1, "other": 2})
    warnings = [m for m in client_logs.messages() if "could not export" in m]
    assert len(warnings) == 1
    assert "[warned]" in warnings[0]
    assert "Trigger, other" in warnings[0]


def test_legacy_entries_without_the_newer_sender_fields_load_with_defaults() -> None:
    legacy = [
        {
            "type": "send",
            "route": "chat",
            "source": "async def ping():\n    return 'ping'\n",
            "fn_name": "ping",
        },
        {"type": "receive", "route": "chat", "source": "async def got(msg):\n    return None\n"},
        {
            "type": "hook",
            "direction": "Direction.SEND",
            "source": "async def h(p):\n    return p\n",
            "fn_name": "h",
        },
    ]
    clone = ClientTranslation(legacy)
    clone.initiate_all()
    sender = clone._dna_senders[0]
    assert (sender["multi"], sender["use_data"], sender["every"], sender["data_mode"]) == (
        False,
        False,
        None,
        None,
    )
    assert (sender["run_while"], sender["when_data"], sender["on_triggers"], sender["on_actions"]) == (
        None,
    ) * 4
    assert sender["model"] is None
    assert clone._dna_receivers[0]["priority"] == ()
    assert clone._dna_receivers[0]["fn"].__name__ == "got"
    assert clone.sending_hooks[()].__name__ == "h"
    assert call(sender["fn"]()) == "ping"


def test_summoner_imports_are_rewritten_in_context_and_handler_sources() -> None:
    entries = [
        {
            "type": "__context__",
            "var_name": "agent",
            "imports": ["from summoner.protocol.process import Node", "import summoner.protocol.triggers"],
            "globals": {},
            "recipes": {"start": "set(Node(x) for x in ['A'])"},
            "missing": [],
        },
        {
            "type": "receive",
            "route": "x",
            "fn_name": "handler",
            "source": (
                '@agent.receive("x")\n'
                "async def handler(msg):\n"
                "    from summoner.protocol.triggers import Move\n"
                "    import summoner.protocol.process as process\n"
                "    return Move, process.Stay, summoner.protocol.triggers.Test, Node\n"
            ),
        },
    ]
    clone = ClientTranslation(entries)
    clone.initiate_all()
    assert clone.import_report["succeeded"] == [
        "from summoner_client.protocol.process import Node",
        "import summoner_client.protocol.triggers; import summoner_client as summoner",
    ]
    assert clone._sandbox_globals["start"] == {Node("A")}
    assert call(clone._dna_receivers[0]["fn"]({})) == (Move, Stay, Test, Node)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from summoner import protocol", "from summoner_client import protocol"),
        (
            "from summoner.client import SummonerClient as S",
            "from summoner_client.client import SummonerClient as S",
        ),
        ("import summoner", "import summoner_client; import summoner_client as summoner"),
        ("import summoner as s, json", "import summoner_client as s; import json"),
        ("from summoner_client.protocol import Node", "from summoner_client.protocol import Node"),
        ("from summonerx import y", "from summonerx import y"),
        ("x = 'from summoner import y'", "x = 'from summoner import y'"),
        (
            "def f():\n    from summoner.a import (\n        b,\n    )\n",
            "def f():\n    from summoner_client.a import b\n",
        ),
    ],
)
def test_rewrite_of_summoner_imports(text: str, expected: str) -> None:
    assert rewrite_summoner_imports(text) == expected


def test_lambda_run_while_from_json_names_the_lambda(agents: AgentFiles) -> None:
    module = agents.load(
        HEADER + "@agent.send('t', every=1, run_while=lambda: True)\nasync def tick() -> Any:\n    return 1\n"
    )
    entries = exported(module.agent)
    clone = ClientTranslation(entries)
    with pytest.raises(
        ValueError, match=r"Could not resolve serialized run_while callable '.*:<lambda>' of send 'tick'"
    ):
        clone.initiate_senders()


def test_named_run_while_is_rebuilt_from_its_source_when_not_importable() -> None:
    entry = {
        "type": "send",
        "route": "t",
        "fn_name": "tick",
        "every": 1,
        "source": "async def tick():\n    return 1\n",
        "run_while_kind": "callable",
        "run_while_name": "gone_module:still_on",
        "run_while_source": "def still_on():\n    return 'yes'\n",
    }
    clone = ClientTranslation([entry])
    clone.initiate_senders()
    assert clone._dna_senders[0]["run_while"]() == "yes"


def test_allowed_modules_skips_other_import_lines(client_logs: LogCapture) -> None:
    context = {
        "type": "__context__",
        "imports": ["from collections import OrderedDict", "import json", "from typing import *", "x = 1"],
    }
    client_logs.watch("listed")
    clone = ClientTranslation([context], name="listed", allowed_modules=["collections"])
    report = clone.import_report
    assert report["succeeded"] == ["from collections import OrderedDict", "from typing import *"]
    assert report["skipped"] == ["import json"]
    assert report["failed"] == ["x = 1"]
    assert "json" not in clone._sandbox_globals
    assert any("skipped" in m and "import json" in m for m in client_logs.messages())


def test_context_imports_can_be_turned_off() -> None:
    context = {"type": "__context__", "imports": ["import json"], "globals": {"N": 1}}
    clone = ClientTranslation([context], allow_context_imports=False)
    assert clone.import_report["skipped"] == ["import json"]
    assert clone._sandbox_globals["N"] == 1


def test_failed_import_is_reported_and_logged(client_logs: LogCapture) -> None:
    client_logs.watch("failing")
    context = {"type": "__context__", "imports": ["import no_such_module_for_dna"]}
    clone = ClientTranslation([context], name="failing", verbose_context_imports=True)
    assert clone.import_report["failed"] == ["import no_such_module_for_dna"]
    assert "ModuleNotFoundError" in clone.import_report["errors"]["import no_such_module_for_dna"]
    assert any("import failed" in m for m in client_logs.messages())


def test_handler_without_readable_source_fails_loudly() -> None:
    client = SummonerClient("built")
    namespace: dict[str, Any] = {}
    exec("async def bare(msg):\n    return msg\n", namespace)
    client.add_receive(namespace["bare"], "x")
    clone = ClientTranslation(exported(client))
    with pytest.raises(DnaError, match=r"receive 'bare' .*exported without its source"):
        clone.initiate_receivers()


def test_source_without_the_named_def_fails_loudly() -> None:
    entry = {
        "type": "hook",
        "direction": "SEND",
        "fn_name": "wanted",
        "source": "async def other(p):\n    return p\n",
    }
    with pytest.raises(DnaError, match=r"hook 'wanted'.*no 'def wanted\('"):
        ClientTranslation([entry]).initiate_hooks()


def test_flow_must_be_active_before_senders_that_need_it() -> None:
    entries = [
        {"type": "send", "route": "a", "fn_name": "plain", "source": "async def plain():\n    return 1\n"},
        {
            "type": "send",
            "route": "b",
            "fn_name": "needy",
            "source": "async def needy(data):\n    return data\n",
            "use_data": True,
            "on_actions": ["Move"],
        },
    ]
    clone = ClientTranslation(entries)
    with pytest.raises(
        RuntimeError, match=r"ClientTranslation\.flow\(\)\.activate\(\) must be called"
    ) as caught:
        clone.initiate_senders()
    assert isinstance(caught.value, FlowStateError)
    assert "needy" in str(caught.value)
    assert clone._dna_senders == []  # nothing was replayed
    clone.flow().activate()
    clone.initiate_senders()
    assert len(clone._dna_senders) == 2


def test_triggers_are_loaded_when_the_sandbox_has_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "TRIGGERS").write_text("ok\nerror\n", encoding="utf-8")
    monkeypatch.setattr(triggers, "WORKING_DIR", tmp_path)
    entry = {
        "type": "send",
        "route": "r",
        "fn_name": "react",
        "source": "async def react():\n    return 1\n",
        "on_triggers": ["error"],
        "on_actions": ["move", "Stay", "TEST"],
    }
    clone = ClientTranslation([entry])
    clone.flow().activate()
    clone.initiate_senders()
    record = clone._dna_senders[0]
    assert record["on_triggers"] == {Signal((1,), "error")}
    assert record["on_actions"] == {Move, Stay, Test}
    assert clone._sandbox_globals["Trigger"].ok == Signal((0,), "ok")


def test_unknown_trigger_or_action_name_is_an_error() -> None:
    base = {"type": "send", "route": "r", "fn_name": "s", "source": "async def s():\n    return 1\n"}
    trigger_class = triggers.load_triggers(text="ok\n")
    clone = ClientTranslation([{**base, "on_triggers": ["nope"]}], rebind_globals={"Trigger": trigger_class})
    with pytest.raises(DnaError, match="'nope'"):
        clone.initiate_senders()
    with pytest.raises(DnaError, match="unknown action 'Jump'"):
        ClientTranslation([{**base, "on_actions": ["Jump"]}]).initiate_senders()


def test_argument_types_are_checked() -> None:
    with pytest.raises(TypeError, match="dna_list must be a list"):
        ClientTranslation({"type": "send"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="var_name must be a str"):
        ClientTranslation([], var_name=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rebind_globals"):
        ClientTranslation([], rebind_globals=[1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="allowed_modules"):
        ClientTranslation([], allowed_modules="json")
    with pytest.raises(SummonerError):
        ClientTranslation([1])


def test_var_name_comes_from_argument_then_context_then_default() -> None:
    context = {"type": "__context__", "var_name": "bot", "var_aliases": ["alias"]}
    assert ClientTranslation([context]).var_name == "bot"
    assert ClientTranslation([context], var_name="me")._sandbox_globals["me"] is not None
    assert ClientTranslation([]).var_name == "agent"
    aliased = ClientTranslation([context])
    assert aliased._sandbox_globals["alias"] is aliased


def test_sandbox_is_a_registered_module() -> None:
    import sys

    clone = ClientTranslation([])
    assert clone._sandbox_module_name.startswith("summoner_translation_")
    assert sys.modules[clone._sandbox_module_name].__dict__ is clone._sandbox_globals


def test_quit_is_the_base_quit_and_the_calling_handler_finishes() -> None:
    assert ClientTranslation.quit is SummonerClient.quit
    assert ClientTranslation.run is SummonerClient.run
    entry = {
        "type": "send",
        "route": "r",
        "fn_name": "leave",
        "source": "async def leave():\n    await agent.quit()\n    return 'after quit'\n",
    }
    clone = ClientTranslation([entry])
    clone.initiate_senders()
    assert call(clone._dna_senders[0]["fn"]()) == "after quit"


def test_compat_path_reexports_the_same_class() -> None:
    assert CompatTranslation is ClientTranslation


def test_replayed_handler_tracebacks_show_dna_lines() -> None:
    import traceback

    entry = {
        "type": "receive",
        "route": "x",
        "fn_name": "boom",
        "source": "async def boom(msg):\n    raise KeyError('dna')\n",
    }
    clone = ClientTranslation([entry])
    clone.initiate_receivers()
    with pytest.raises(KeyError) as caught:
        call(clone._dna_receivers[0]["fn"]({}))
    assert "raise KeyError('dna')" in "".join(traceback.format_tb(caught.value.__traceback__))


def test_unknown_entry_types_are_skipped_with_a_warning(client_logs: LogCapture) -> None:
    client_logs.watch("odd")
    clone = ClientTranslation([{"type": "mystery"}], name="odd")
    clone.initiate_all()
    assert clone._dna_receivers == []
    assert not any(r.levelno >= logging.ERROR for r in client_logs.records)


def test_a_clone_can_be_exported_and_cloned_again(agents: AgentFiles) -> None:
    module, clone = translate_every_kind(agents)
    again_entries = exported(clone)
    context = again_entries[0]
    assert (context["var_name"], context["var_aliases"]) == ("agent", ["bot"])
    assert context["missing"] == ["Trigger", "other"]  # a sandbox is not importable: still to be rebound
    again = ClientTranslation(
        again_entries, name="every-kind", rebind_globals={"Trigger": module.Trigger, "other": module.other}
    )
    again.flow().activate()
    again.initiate_all()
    assert call(records(again)["hello"]["fn"]()) == {"from": "every-kind", "limit": 3, "order": ["a", "b"]}
    assert call(records(again)["upload"]["fn"]({"x": 2})) == ["A", "B", 2]
