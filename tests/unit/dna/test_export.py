"""DNA export (client spec §10.1): entry order and schema, every sender field, the context entry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from summoner_client.client import SummonerClient
from summoner_client.client._source import source_stub
from summoner_client.dna import dna
from summoner_client.protocol.process import Direction, Node
from tests.unit.dna._agents import EVERY_KIND, AgentFiles

STATE_KEYS = {"type", "source", "module", "fn_name"}
RECEIVE_KEYS = {"type", "route", "route_key", "priority", "model", "source", "module", "fn_name"}
HOOK_KEYS = {"type", "direction", "priority", "source", "module", "fn_name"}
SEND_KEYS = {
    "type", "route", "route_key", "multi", "use_data", "data_mode", "every",
    "run_while_kind", "run_while_value", "run_while_name", "run_while_source",
    "when_data_kind", "when_data_value", "when_data_name", "when_data_source",
    "on_triggers", "on_actions", "model", "source", "module", "fn_name",
}  # fmt: skip
CONTEXT_KEYS = {"type", "var_name", "var_aliases", "imports", "globals", "recipes", "missing"}


def entries_of(client: SummonerClient, include_context: bool = False) -> list[dict[str, Any]]:
    text = dna(client, include_context=include_context)
    assert isinstance(text, str)
    loaded: list[dict[str, Any]] = orjson.loads(text)
    return loaded


def by_name(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["fn_name"]: entry for entry in entries if entry["type"] != "__context__"}


def test_entries_come_in_spec_order_whatever_the_decoration_order(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    entries = entries_of(module.agent)
    assert [(e["type"], e["fn_name"]) for e in entries] == [
        ("upload_states", "upload"),
        ("download_states", "download"),
        ("receive", "on_ok"),
        ("receive", "on_chat"),
        ("receive", "on_ping"),
        ("send", "hello"),
        ("send", "many"),
        ("send", "react"),
        ("send", "timed_reactive"),
        ("send", "tick"),
        ("send", "forever"),
        ("hook", "tag"),
        ("hook", "stamp"),
    ]


def test_each_entry_has_exactly_the_schema_fields(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    expected = {
        "upload_states": STATE_KEYS,
        "download_states": STATE_KEYS,
        "receive": RECEIVE_KEYS,
        "send": SEND_KEYS,
        "hook": HOOK_KEYS,
    }
    for entry in entries_of(module.agent):
        assert set(entry) == expected[entry["type"]], entry["fn_name"]
        assert entry["module"] == module.__name__


def test_source_keeps_decorator_lines(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    entry = by_name(entries_of(module.agent))["on_chat"]
    assert entry["source"].startswith('@agent.receive("chat")\nasync def on_chat(msg: Any) -> Any:\n')


def test_receive_fields(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    entries = by_name(entries_of(module.agent))
    assert entries["on_ok"]["route"] == "A --[ ok ]--> B"
    assert entries["on_ok"]["route_key"] == "A--[ok]-->B"
    assert entries["on_ok"]["priority"] == [1]
    assert entries["on_ok"]["model"] is None
    assert entries["on_chat"]["priority"] == []
    assert entries["on_ping"]["model"] == f"{module.__name__}:Ping"


def test_every_sender_field(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    entries = by_name(entries_of(module.agent))
    react = entries["react"]
    assert react["on_triggers"] == ["ok"]
    assert react["on_actions"] == []
    assert (react["use_data"], react["data_mode"], react["multi"], react["every"]) == (
        True,
        "snapshot",
        False,
        None,
    )
    assert react["when_data_kind"] == "callable"
    assert react["when_data_value"] is None
    assert react["when_data_name"] == f"{module.__name__}:wanted"
    assert react["when_data_source"] == "def wanted(data: Any) -> bool:\n    return data is not None\n"
    assert (react["run_while_kind"], react["run_while_value"], react["run_while_name"]) == (
        "none",
        None,
        None,
    )
    assert react["run_while_source"] is None

    timed = entries["timed_reactive"]
    assert timed["on_actions"] == ["Move", "Test"]
    assert timed["every"] == 2.5
    assert timed["data_mode"] is None
    assert timed["when_data_kind"] == "none"

    tick = entries["tick"]
    assert tick["run_while_kind"] == "callable"
    assert tick["run_while_name"] == f"{module.__name__}:keep_running"
    assert tick["run_while_source"].startswith("def keep_running() -> bool:")

    forever = entries["forever"]
    assert (forever["run_while_kind"], forever["run_while_value"], forever["every"]) == ("bool", True, 1.0)
    assert forever["run_while_name"] is None

    assert entries["many"]["multi"] is True
    assert entries["hello"]["on_triggers"] == []
    assert entries["hello"]["route_key"] == "chat"


def test_hook_fields(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    entries = by_name(entries_of(module.agent))
    assert (entries["tag"]["direction"], entries["tag"]["priority"]) == ("RECEIVE", [2])
    assert (entries["stamp"]["direction"], entries["stamp"]["priority"]) == ("SEND", [])


def test_route_key_before_and_after_binding_and_without_flow() -> None:
    client = SummonerClient("keys")

    @client.receive(" a  b ")
    async def raw(msg: Any) -> None:
        return None

    assert entries_of(client)[0]["route_key"] == "ab"  # raw route, all whitespace removed
    flowing = SummonerClient("flowing")
    flowing.flow().activate()
    flowing.flow().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")

    @flowing.receive("A --[ ok ]--> B")
    async def parsed(msg: Any) -> None:
        return None

    @flowing.receive("not a route !")
    async def unparsable(msg: Any) -> None:
        return None

    before = [e["route_key"] for e in entries_of(flowing)]
    flowing.initialize()
    assert [e["route_key"] for e in entries_of(flowing)] == before == ["A--[ok]-->B", "notaroute!"]


def test_no_context_entry_unless_asked(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    assert all(entry["type"] != "__context__" for entry in entries_of(module.agent))
    assert entries_of(module.agent, include_context=True)[0]["type"] == "__context__"


def test_context_sorts_every_name(agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    context = entries_of(module.agent, include_context=True)[0]
    assert set(context) == CONTEXT_KEYS
    assert context["var_name"] == "agent"
    assert context["var_aliases"] == ["bot"]
    imports = context["imports"]
    assert imports == sorted(imports)
    assert {
        "from typing import *",
        "import asyncio",
        "from pathlib import Path",
        "from summoner_client.protocol.process import Node",
        "from collections import OrderedDict as OD",
    } <= set(imports)
    assert context["globals"] == {"LIMIT": 3, "NAMES": ["a", "b"]}
    assert context["recipes"] == {
        "states": "set(Node(x) for x in ['A', 'B'])",
        "home": "Path('/tmp/dna-home')",
        "lock": "asyncio.Lock()",
    }
    # another client, and a Trigger class built at run time, cannot be exported
    assert context["missing"] == ["Trigger", "other"]
    # the client itself and builtins are skipped; names covered by the typing star import need no line
    assert not any("SummonerClient" in line or "Optional" in line for line in imports)


def test_context_recipes_cover_lists_and_tuples_of_nodes_and_paths(agents: AgentFiles) -> None:
    module = agents.load(
        """
        import pathlib
        from typing import Any
        from summoner_client.client import SummonerClient
        from summoner_client.protocol.process import Node

        agent = SummonerClient("nodes")
        ordered = [Node("Z"), Node("A")]
        pair = (Node("/all"),)
        empty: list[Any] = []
        where = pathlib.Path("relative/dir")

        @agent.receive("x")
        async def handler(msg: Any) -> Any:
            return ordered, pair, empty, where, pathlib
        """
    )
    context = entries_of(module.agent, include_context=True)[0]
    assert context["recipes"] == {
        "ordered": "set(Node(x) for x in ['A', 'Z'])",
        "pair": "set(Node(x) for x in ['/all'])",
        "where": "Path('relative/dir')",
    }
    assert context["globals"] == {"empty": []}
    assert "import pathlib" in context["imports"]


def test_context_of_an_agent_built_inside_a_function_reads_closures() -> None:
    def build() -> SummonerClient:
        bot = SummonerClient("closure")
        limit = 7
        guard = asyncio.Lock()

        @bot.receive("x")
        async def handler(msg: Any) -> Any:
            async with guard:
                return bot.name, limit, Node

        return bot

    context = entries_of(build(), include_context=True)[0]
    assert context["var_name"] == "bot"
    assert context["var_aliases"] == []
    assert context["globals"] == {"limit": 7}
    assert context["recipes"] == {"guard": "asyncio.Lock()"}
    assert "from summoner_client.protocol import Node" in context["imports"]


def test_context_defaults_var_name_to_agent() -> None:
    client = SummonerClient("anonymous")

    async def handler(msg: Any) -> Any:
        return msg

    client.add_receive(handler, "x")
    context = entries_of(client, include_context=True)[0]
    assert (context["var_name"], context["var_aliases"]) == ("agent", [])


def test_annotations_and_defaults_count_as_used_names(agents: AgentFiles) -> None:
    module = agents.load(
        """
        from __future__ import annotations
        from typing import Any
        from decimal import Decimal
        from fractions import Fraction
        from summoner_client.client import SummonerClient

        agent = SummonerClient("annotated")
        DEFAULT = 5

        @agent.receive("x")
        async def handler(msg: Any, scale: int = DEFAULT) -> Decimal | Fraction | None:
            return None
        """
    )
    context = entries_of(module.agent, include_context=True)[0]
    assert {"from decimal import Decimal", "from fractions import Fraction"} <= set(context["imports"])
    assert context["globals"] == {"DEFAULT": 5}


def test_exec_built_handler_exports_its_dna_source_or_a_stub() -> None:
    client = SummonerClient("built")
    namespace: dict[str, Any] = {}
    text = "async def made(msg):\n    return msg\n"
    exec(text, namespace)
    namespace["made"].__dna_source__ = text
    client.add_receive(namespace["made"], "with-source")
    exec("async def bare(msg):\n    return msg\n", namespace)
    client.add_receive(namespace["bare"], "without-source")
    first, second = entries_of(client, include_context=True)[1:]
    assert first["source"] == text
    assert second["source"] == source_stub(namespace["bare"])
    assert second["fn_name"] == "bare"


def test_dna_source_passed_at_registration_is_what_export_writes() -> None:
    client = SummonerClient("explicit")

    async def hook(payload: Any) -> Any:
        return payload

    client.add_hook(
        hook, Direction.SEND, 3, dna_source="@agent.hook(Direction.SEND, 3)\nasync def hook(p): ...\n"
    )
    entry = entries_of(client)[0]
    assert entry["source"].startswith("@agent.hook(Direction.SEND, 3)")
    assert entry["priority"] == [3]


def test_export_is_valid_json_with_paths_elsewhere(tmp_path: Path, agents: AgentFiles) -> None:
    module = agents.load(EVERY_KIND)
    target = tmp_path / "agent.dna.json"
    target.write_text(dna(module.agent, include_context=True), encoding="utf-8")
    assert orjson.loads(target.read_bytes())[0]["type"] == "__context__"
