"""ClientMerger (client spec §10.3): live and DNA sources, collisions, lambdas, reports, retiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from summoner_client.client import SummonerClient
from summoner_client.client.merger import ClientMerger as CompatMerger
from summoner_client.dna import ClientMerger, dna
from summoner_client.errors import FlowStateError
from tests.unit.dna._agents import AgentFiles, LogCapture, call

ALPHA = """
from typing import Any
from summoner_client.client import SummonerClient
from summoner_client.protocol.process import Direction

agent = SummonerClient("alpha")
seen = []
FACTOR = 2

@agent.upload_states()
async def upload(payload: Any) -> Any:
    return "alpha-state"

@agent.receive("chat")
async def on_chat(msg: Any) -> Any:
    seen.append(msg)
    return {"alpha": msg["n"] * FACTOR, "via": agent.name}

@agent.receive("alpha-only")
async def on_alpha(msg: Any) -> Any:
    return "alpha"

@agent.send("out", every=1, run_while=lambda: FACTOR > 1)
async def alpha_tick() -> Any:
    return {"tick": agent.name}

@agent.hook(Direction.SEND)
async def alpha_hook(payload: Any) -> Any:
    return {"alpha": payload}
"""

BETA = """
from typing import Any
from summoner_client.client import SummonerClient
from summoner_client.protocol.process import Direction

bot = SummonerClient("beta")
alias = bot

@bot.upload_states()
async def upload(payload: Any) -> Any:
    return "beta-state"

@bot.receive("chat")
async def on_chat(msg: Any) -> Any:
    return {"beta": msg["n"], "via": alias.name}

@bot.receive("beta-only")
async def on_beta(msg: Any) -> Any:
    return "beta"

@bot.hook(Direction.SEND)
async def beta_hook(payload: Any) -> Any:
    return {"beta": payload}
"""


def receivers(client: SummonerClient) -> dict[str, Any]:
    return {record["route"] + ":" + record["fn"].__name__: record["fn"] for record in client._dna_receivers}


def test_two_live_agents_merge_with_both_behaviours(agents: AgentFiles) -> None:
    alpha, beta = agents.load(ALPHA), agents.load(BETA)
    merged = ClientMerger([alpha.agent, beta.bot], name="merged")
    merged.initiate_all()
    handlers = receivers(merged)
    assert set(handlers) == {"chat:on_chat", "alpha-only:on_alpha", "beta-only:on_beta"}
    assert call(handlers["alpha-only:on_alpha"]({})) == "alpha"
    assert call(handlers["beta-only:on_beta"]({})) == "beta"
    # the module globals now name the merged client, under every alias
    assert alpha.agent is merged
    assert beta.bot is merged
    assert beta.alias is merged
    chat = [r["fn"] for r in merged._dna_receivers if r["route"] == "chat"]
    assert [call(fn({"n": 3})) for fn in chat] == [
        {"alpha": 6, "via": "merged"},
        {"beta": 3, "via": "merged"},
    ]
    assert alpha.seen == [{"n": 3}]  # clones share the module's state


def test_collisions_replace_with_a_warning(agents: AgentFiles, client_logs: LogCapture) -> None:
    alpha, beta = agents.load(ALPHA), agents.load(BETA)
    client_logs.watch("collide")
    merged = ClientMerger([alpha.agent, beta.bot], name="collide")
    merged.initiate_all()
    merged.initialize()  # binding: the receiver key "chat" is registered twice
    warnings = client_logs.messages()
    assert "@upload_states handler overwritten" in warnings
    assert "Route 'chat' already exists. Overwriting." in warnings
    assert any(m.startswith("Hook for SEND with priority () already exists") for m in warnings)
    assert call(merged._upload_states({})) == "beta-state"  # the later source wins
    assert call(merged.receiver_index["chat"].fn({"n": 1}))["beta"] == 1
    assert call(merged.sending_hooks[()]("p")) == {"beta": "p"}


def test_lambdas_survive_a_live_merge(agents: AgentFiles) -> None:
    alpha = agents.load(ALPHA)
    original = alpha.agent._dna_senders[0]["run_while"]
    merged = ClientMerger([alpha.agent])
    merged.initiate_all()
    sender = merged._dna_senders[0]
    assert sender["run_while"] is original
    assert sender["run_while"].__name__ == "<lambda>"
    assert sender["every"] == 1.0
    assert call(sender["fn"]()) == {"tick": merged.name}


def test_agents_merged_from_dna_files(agents: AgentFiles, tmp_path: Path) -> None:
    alpha, beta = agents.load(ALPHA), agents.load(BETA)
    del alpha.agent._dna_senders[:]  # a lambda run_while cannot travel through JSON
    paths = []
    for name, client in (("alpha", alpha.agent), ("beta", beta.bot)):
        path = tmp_path / f"{name}.dna.json"
        path.write_text(dna(client, include_context=True), encoding="utf-8")
        paths.append(path)
    merged = ClientMerger([{"dna_path": paths[0]}, {"dna_path": str(paths[1])}], name="from-files")
    merged.initiate_all()
    handlers = receivers(merged)
    assert set(handlers) == {"chat:on_chat", "alpha-only:on_alpha", "beta-only:on_beta"}
    assert call(handlers["beta-only:on_beta"]({})) == "beta"
    chat = [r["fn"] for r in merged._dna_receivers if r["route"] == "chat"]
    assert [call(fn({"n": 2})) for fn in chat] == [
        {"alpha": 4, "via": "from-files"},
        {"beta": 2, "via": "from-files"},
    ]
    # each DNA source got its own sandbox; the alias of beta's client is bound in beta's
    sandboxes = [s["replayer"].namespace for s in merged.sources]
    assert sandboxes[0] is not sandboxes[1]
    assert sandboxes[1]["bot"] is merged
    assert sandboxes[1]["alias"] is merged
    assert [s["label"] for s in merged.sources] == [str(paths[0]), str(paths[1])]


def test_import_reports_per_dna_source(agents: AgentFiles) -> None:
    alpha, beta = agents.load(ALPHA), agents.load(BETA)
    beta_dna = orjson.loads(dna(beta.bot, include_context=True))
    bad = [
        {"type": "__context__", "var_name": "agent", "imports": ["import json", "import no_such_dna_module"]}
    ]
    merged = ClientMerger(
        [alpha.agent, beta_dna, {"dna_list": bad, "var_name": "x"}], allowed_modules=["summoner_client"]
    )
    assert merged.sources[0]["import_report"] is None
    reports = merged._import_reports
    assert [r["label"] for r in reports] == ["dna_list[1]", "dna_list[2]"]
    assert merged.sources[1]["import_report"] is reports[0]
    assert reports[0]["failed"] == []
    assert "from typing import *" in reports[0]["succeeded"]
    assert reports[1]["skipped"] == ["import json", "import no_such_dna_module"]
    assert merged.sources[2]["var_name"] == "x"


def test_live_source_forms_and_var_name(agents: AgentFiles) -> None:
    beta = agents.load(BETA)
    merged = ClientMerger([{"client": beta.bot, "var_name": "alias"}])
    source = merged.sources[0]
    assert (source["kind"], source["var_name"], source["var_aliases"]) == ("client", "alias", ["bot"])
    inferred = ClientMerger([agents.load(ALPHA).agent]).sources[0]
    assert (inferred["var_name"], inferred["label"]) == ("agent", "client:alpha")


def test_closure_bound_agents_are_rebound_in_the_clone_only() -> None:
    def build() -> SummonerClient:
        me = SummonerClient("inner")

        @me.receive("who")
        async def who(msg: Any) -> Any:
            return me.name

        return me

    source = build()
    merged = ClientMerger([source], name="outer", close_subclients=False)
    merged.initiate_all()
    assert call(merged._dna_receivers[0]["fn"]({})) == "outer"
    assert call(source._dna_receivers[0]["fn"]({})) == "inner"
    assert merged.sources[0]["var_name"] == "me"


def test_close_subclients_drops_pending_registrations(agents: AgentFiles) -> None:
    alpha, beta = agents.load(ALPHA), agents.load(BETA)
    source_a, source_b = alpha.agent, beta.bot
    loop = source_a.loop  # a loop the client created for itself
    ClientMerger([source_a])
    assert source_a._registration_tasks == []
    assert loop.is_closed()
    ClientMerger([source_b], close_subclients=False)
    assert source_b._registration_tasks != []


def test_running_subclient_is_left_alone(client_logs: LogCapture) -> None:
    from summoner_client.client.status import ClientStatus

    client_logs.watch("watcher")
    busy = SummonerClient("busy")

    @busy.receive("x")
    async def handler(msg: Any) -> Any:
        return msg

    busy._status = ClientStatus.CONNECTED  # as during a session
    ClientMerger([busy], name="watcher")
    assert busy._registration_tasks != []
    assert any("is running" in m for m in client_logs.messages())
    busy._status = ClientStatus.NEW


def test_flow_is_checked_across_all_sources_before_any_sender() -> None:
    plain = SummonerClient("plain")

    @plain.send("p")
    async def plain_sender() -> Any:
        return 1

    needy = [
        {
            "type": "send",
            "route": "n",
            "fn_name": "needy",
            "source": "async def needy(data):\n    return data\n",
            "use_data": True,
            "on_actions": ["Move"],
        }
    ]
    merged = ClientMerger([plain, needy])
    with pytest.raises(FlowStateError, match=r"ClientMerger\.flow\(\)\.activate\(\) must be called"):
        merged.initiate_senders()
    assert merged._dna_senders == []
    merged.flow().activate()
    merged.initiate_senders()
    assert [r["fn"].__name__ for r in merged._dna_senders] == ["plain_sender", "needy"]


def test_bad_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="named_clients must be a list"):
        ClientMerger("agent")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="source #0"):
        ClientMerger([42])
    with pytest.raises(KeyError, match="needs one of the keys"):
        ClientMerger([{"clients": SummonerClient()}])
    with pytest.raises(TypeError, match="DNA must be a list"):
        ClientMerger([{"dna_list": {"type": "send"}}])
    with pytest.raises(TypeError, match="'client' is a str"):
        ClientMerger([{"client": "agent"}])
    with pytest.raises(TypeError, match="var_name must be a str"):
        ClientMerger([{"dna_list": [], "var_name": 1}])
    path = tmp_path / "not-a-list.json"
    path.write_text('{"type": "send"}', encoding="utf-8")
    with pytest.raises(TypeError, match="DNA must be a list"):
        ClientMerger([{"dna_path": path}])


def test_rebind_globals_reach_live_modules_and_sandboxes(agents: AgentFiles) -> None:
    alpha = agents.load(ALPHA)
    entries = [
        {"type": "receive", "route": "r", "fn_name": "f", "source": "async def f(msg):\n    return EXTRA\n"}
    ]
    merged = ClientMerger([alpha.agent, entries], rebind_globals={"EXTRA": "extra", "FACTOR": 10})
    merged.initiate_all()
    handlers = receivers(merged)
    assert call(handlers["r:f"]({})) == "extra"
    assert call(handlers["chat:on_chat"]({"n": 1}))["alpha"] == 10


def test_merged_live_handlers_export_their_original_source(agents: AgentFiles) -> None:
    alpha = agents.load(ALPHA)
    original = {r["fn"].__name__: r["source"] for r in alpha.agent._dna_receivers}
    merged = ClientMerger([alpha.agent])
    merged.initiate_all()
    assert {r["fn"].__name__: r["source"] for r in merged._dna_receivers} == original


def test_compat_path_reexports_the_same_class() -> None:
    assert CompatMerger is ClientMerger
