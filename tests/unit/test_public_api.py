"""The original's import surface (client spec §1.1): every name importable from its module path.

An agent ports by renaming ``summoner`` to ``summoner_client``; this test is the contract for
the modules that exist so far, and ``__all__`` must list exactly the public names.
"""

import importlib

import pytest

IMPORT_TABLE: dict[str, set[str]] = {
    "summoner_client": {"__version__", "AsyncSlot"},
    "summoner_client.protocol": {
        "Signal", "Event", "Action", "Move", "Stay", "Test", "StateTape", "ParsedRoute",
        "Node", "Sender", "Receiver", "Direction", "Flow", "ArrowStyle",
    },
    "summoner_client.protocol.triggers": {
        "Signal", "Event", "Action", "Move", "Stay", "Test", "extract_signal", "load_triggers",
        "build_triggers", "parse_signal_tree", "parse_signal_tree_lines", "WORKING_DIR",
    },
    "summoner_client.protocol.process": {
        "Node", "ArrowStyle", "ParsedRoute", "Sender", "Receiver", "Direction", "StateTape",
        "TapeType", "TapeActivation", "ClientIntent", "Signal", "Event", "Action", "Move",
        "Stay", "Test", "extract_signal",
    },
    "summoner_client.protocol.flow": {"Flow", "get_token_list"},
    "summoner_client.protocol.payload": {
        "wrap_with_types", "recover_with_types", "register_envelope_version", "RelayedMessage",
        "DEFAULT_VERSION",
    },
    "summoner_client.protocol.validation": {"hook_priority_order", "_check_param_and_return"},
    "summoner_client.utils": {
        "load_config", "format_addr", "remove_last_newline", "ensure_trailing_newline",
        "get_callable_source", "is_jsonable", "fully_recover_json",
    },
    "summoner_client.logger": {
        "get_logger", "configure_logger", "Logger", "SafeStreamHandler", "BaseFormatter",
        "TextFormatter", "JsonFormatter",
    },
    "summoner_client.server": {"SummonerServer"},
    "summoner_client.client": {"SummonerClient", "ClientMerger", "ClientTranslation", "ClientStatus"},
    "summoner_client.client.client": {
        "SummonerClient", "ServerDisconnected", "SendInvocation", "TimedSenderRuntime",
    },
    "summoner_client.client.merger": {"ClientMerger", "ClientTranslation"},
    "summoner_client.errors": {
        "SummonerError", "ConfigError", "RegistrationError", "FlowSyntaxError", "ConnectionClosed",
        "ServerDisconnected", "PublishQueueFull", "ClientNotRunning",
    },
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(IMPORT_TABLE))
def test_every_name_of_the_import_table_is_importable(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = {name for name in IMPORT_TABLE[module_name] if not hasattr(module, name)}
    assert not missing, f"{module_name} lacks {sorted(missing)}"


@pytest.mark.parametrize("module_name", sorted(IMPORT_TABLE))
def test_all_lists_exactly_the_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = set(module.__all__)
    defined_here = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module_name
    }
    assert not (exported - set(vars(module))), "__all__ names something the module lacks"
    assert defined_here <= exported, f"public but not in __all__: {sorted(defined_here - exported)}"


def test_protocol_names_are_the_same_objects_everywhere() -> None:
    from summoner_client import protocol
    from summoner_client.protocol import process, triggers

    for name in ("Signal", "Event", "Action", "Move", "Stay", "Test", "extract_signal"):
        assert getattr(process, name) is getattr(triggers, name)
    for name in ("Node", "StateTape", "ParsedRoute", "Direction", "ArrowStyle"):
        assert getattr(protocol, name) is getattr(process, name)
