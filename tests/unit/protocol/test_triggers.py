"""TRIGGERS parsing, the Trigger class, signals, events and where load_triggers looks (spec §4.1-4.3)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from summoner_client.errors import FlowSyntaxError, FlowTypeError, SummonerError, TriggersNotFoundError
from summoner_client.protocol import triggers
from summoner_client.protocol.triggers import (
    Action,
    Event,
    Move,
    Signal,
    Stay,
    Test,
    build_triggers,
    extract_signal,
    load_triggers,
    parse_signal_tree,
    parse_signal_tree_lines,
)

EXAMPLE = """\
OK
    acceptable
    all_good
error
    minor
    major    # a comment
"""

REPO_ROOT = Path(__file__).resolve().parents[3]


# --- parse_signal_tree_lines --------------------------------------------------------------------


def test_example_file_parses_to_nested_dict_with_none_leaves() -> None:
    tree = parse_signal_tree_lines(EXAMPLE.splitlines())
    assert tree == {"OK": {"acceptable": None, "all_good": None}, "error": {"minor": None, "major": None}}


def test_blank_and_comment_only_lines_are_skipped() -> None:
    lines = ["# header", "", "a   # trailing", "    ", "\t# indented comment", "b"]
    assert parse_signal_tree_lines(lines) == {"a": None, "b": None}


def test_tabs_expand_to_tabsize_eight_by_default() -> None:
    # A tab and eight spaces are the same indent, so both children sit under one parent.
    assert parse_signal_tree_lines(["a", "\tb", "        c"]) == {"a": {"b": None, "c": None}}


def test_custom_tabsize_changes_how_tabs_compare_with_spaces() -> None:
    assert parse_signal_tree_lines(["a", "\tb", "    c"], tabsize=4) == {"a": {"b": None, "c": None}}


def test_shallower_indent_returns_to_an_earlier_level() -> None:
    tree = parse_signal_tree_lines(["a", "  b", "    c", "d"])
    assert tree == {"a": {"b": {"c": None}}, "d": None}


def test_invalid_name_reports_line_and_name() -> None:
    with pytest.raises(FlowSyntaxError, match=r"^Line 2: invalid name 'bad-name'$") as info:
        parse_signal_tree_lines(["ok", "  bad-name"])
    assert info.value.line == 2
    assert info.value.column == 3
    assert info.value.snippet == "  bad-name"


def test_name_starting_with_digit_is_invalid() -> None:
    with pytest.raises(ValueError, match=r"Line 1: invalid name '1abc'"):
        parse_signal_tree_lines(["1abc"])


def test_indent_matching_no_open_level_is_inconsistent() -> None:
    with pytest.raises(FlowSyntaxError, match=r"^Inconsistent indent 2; levels: \[0, 4\]$") as info:
        parse_signal_tree_lines(["a", "    b", "  c"])
    assert info.value.line == 3


def test_duplicate_name_under_same_parent_is_rejected() -> None:
    with pytest.raises(FlowSyntaxError, match=r"^Line 3: duplicate signal name 'b' at indent level 4$"):
        parse_signal_tree_lines(["a", "    b", "    b"])


def test_same_name_under_different_parents_parses() -> None:
    assert parse_signal_tree_lines(["a", "  x", "b", "  x"]) == {"a": {"x": None}, "b": {"x": None}}


def test_flow_syntax_error_is_a_value_error_and_a_summoner_error() -> None:
    with pytest.raises(FlowSyntaxError) as info:
        parse_signal_tree_lines(["$"])
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SummonerError)


# --- build_triggers -----------------------------------------------------------------------------


def test_paths_are_sibling_indexes_depth_first() -> None:
    trigger = build_triggers(parse_signal_tree_lines(EXAMPLE.splitlines()))
    assert trigger.OK.path == (0,)
    assert trigger.acceptable.path == (0, 0)
    assert trigger.all_good.path == (0, 1)
    assert trigger.error.path == (1,)
    assert trigger.major.path == (1, 1)


def test_built_class_is_named_trigger_with_path_lookup() -> None:
    trigger = build_triggers({"OK": {"acceptable": None}, "error": None})
    assert trigger.__name__ == "Trigger"
    assert trigger._path_to_name == {(0,): "OK", (0, 0): "acceptable", (1,): "error"}
    assert trigger.name_of(0, 0) == "acceptable"
    assert trigger.name_of(1) == "error"
    assert trigger.name_of(5) is None


def test_signal_attribute_carries_its_name() -> None:
    trigger = build_triggers({"ok": None})
    assert trigger.ok == Signal((0,), "ok")
    assert trigger.ok.name == "ok"


def test_empty_mapping_counts_as_a_leaf() -> None:
    trigger = build_triggers({"a": {}, "b": None})
    assert trigger.b.path == (1,)


@pytest.mark.parametrize("name", ["class", "None", "name_of", "_path_to_name", "_private", "__init__"])
def test_reserved_names_are_rejected(name: str) -> None:
    message = (
        f"Signal name '{name}' is reserved or invalid as a Python attribute. Please use a different name."
    )
    with pytest.raises(FlowSyntaxError) as info:
        build_triggers({name: None})
    assert str(info.value) == message


def test_reserved_name_in_triggers_text_is_rejected() -> None:
    with pytest.raises(ValueError, match="reserved or invalid"):
        load_triggers(text="ok\n  for\n")


def test_name_under_two_parents_resolves_to_the_later_one_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="summoner_client"):
        trigger = build_triggers({"a": {"x": None}, "b": {"x": None}})
    assert trigger.x.path == (1, 0)
    assert trigger.name_of(0, 0) == "x"
    [record] = caplog.records
    assert record.name.startswith("summoner_client")
    assert "'x'" in record.getMessage()
    assert "a.x" in record.getMessage()
    assert "b.x" in record.getMessage()


def test_non_mapping_tree_is_a_type_error() -> None:
    with pytest.raises(FlowTypeError):
        build_triggers({"a": ["b"]})


def test_non_string_name_is_a_type_error() -> None:
    with pytest.raises(FlowTypeError):
        build_triggers({1: None})  # type: ignore[dict-item]


# --- Signal -------------------------------------------------------------------------------------


def test_signal_equality_and_hash_use_path_only() -> None:
    assert Signal((0, 1), "a") == Signal((0, 1), "b")
    assert hash(Signal((0, 1), "a")) == hash(Signal((0, 1), "b"))
    assert Signal((0,), "a") != Signal((1,), "a")


def test_signal_compared_with_non_signal_is_not_equal() -> None:
    assert Signal((0,), "a") != (0,)
    assert Signal((0,), "a").__eq__("a") is NotImplemented


def test_signal_repr() -> None:
    assert repr(Signal((0,), "ok")) == "<Signal 'ok'>"


def test_signal_path_and_name_are_read_only() -> None:
    signal = Signal((0,), "ok")
    with pytest.raises(AttributeError):
        signal.path = (1,)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        signal.name = "other"  # type: ignore[misc]


def test_ancestor_is_greater_than_descendant() -> None:
    parent, child, grandchild = Signal((0,), "p"), Signal((0, 1), "c"), Signal((0, 1, 2), "g")
    assert parent > child
    assert parent > grandchild
    assert not child > parent
    assert child < parent
    assert not parent > Signal((0,), "p")


def test_ge_and_le_include_equality() -> None:
    parent, child = Signal((0,), "p"), Signal((0, 1), "c")
    assert parent >= Signal((0,), "same path")
    assert parent >= child
    assert child <= parent
    assert child <= Signal((0, 1), "same path")
    assert not child >= parent


def test_unrelated_signals_are_neither_above_nor_below() -> None:
    a, b = Signal((0, 1), "a"), Signal((1,), "b")
    assert [a > b, a < b, a >= b, a <= b] == [False, False, False, False]


def test_signal_ordering_with_non_signal_raises_type_error() -> None:
    with pytest.raises(TypeError):
        _ = Signal((0,), "a") > 1


# --- Events and actions -------------------------------------------------------------------------


def test_event_repr_without_and_with_data() -> None:
    ok = Signal((0,), "ok")
    assert repr(Move(ok)) == "Move(<Signal 'ok'>)"
    assert repr(Stay(ok, data={"k": 1})) == "Stay(<Signal 'ok'>, data={'k': 1})"
    assert repr(Event(ok)) == "Event(<Signal 'ok'>)"


def test_event_attributes() -> None:
    ok = Signal((0,), "ok")
    event = Test(ok, data=[1])
    assert event.signal is ok
    assert event.data == [1]
    assert isinstance(event, Event)


def test_action_constants_are_the_event_classes() -> None:
    assert Action.MOVE is Move
    assert Action.STAY is Stay
    assert Action.TEST is Test


def test_test_event_class_is_not_collected_by_pytest() -> None:
    assert Test.__test__ is False


def test_extract_signal_from_event_signal_and_none() -> None:
    ok = Signal((0,), "ok")
    assert extract_signal(Move(ok)) is ok
    assert extract_signal(ok) is ok
    assert extract_signal(None) is None


@pytest.mark.parametrize("value", ["ok", 1, {"signal": None}])
def test_extract_signal_of_other_values_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        extract_signal(value)  # type: ignore[arg-type]
    with pytest.raises(FlowTypeError):
        extract_signal(value)  # type: ignore[arg-type]


# --- load_triggers ------------------------------------------------------------------------------


def test_load_triggers_from_text() -> None:
    trigger = load_triggers(text=EXAMPLE)
    assert trigger.minor.path == (1, 0)


def test_text_wins_over_json_dict_and_file(tmp_path: Path) -> None:
    trigger = load_triggers(tmp_path / "missing", text="from_text", json_dict={"from_dict": None})
    assert hasattr(trigger, "from_text")
    assert not hasattr(trigger, "from_dict")


def test_json_dict_wins_over_file_and_is_not_modified(tmp_path: Path) -> None:
    tree = {"a": {"b": None}}
    trigger = load_triggers(tmp_path / "missing", json_dict=tree)
    assert trigger.b.path == (0, 0)
    assert tree == {"a": {"b": None}}


def test_relative_file_is_read_from_patched_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "TRIGGERS").write_text(EXAMPLE, encoding="utf-8")
    monkeypatch.setattr(triggers, "WORKING_DIR", tmp_path)
    assert load_triggers().all_good.path == (0, 1)


def test_working_dir_may_be_patched_with_a_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "signals.txt").write_text("x\n", encoding="utf-8")
    monkeypatch.setattr(triggers, "WORKING_DIR", str(tmp_path))
    assert load_triggers("signals.txt").x.path == (0,)


def test_absolute_file_is_used_as_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "abs_triggers"
    path.write_text("x\n", encoding="utf-8")
    monkeypatch.setattr(triggers, "WORKING_DIR", tmp_path / "elsewhere")
    assert load_triggers(str(path)).x.path == (0,)


def test_missing_file_raises_triggers_not_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(triggers, "WORKING_DIR", tmp_path)
    expected = tmp_path / "TRIGGERS"
    with pytest.raises(TriggersNotFoundError) as info:
        load_triggers()
    assert isinstance(info.value, FileNotFoundError)
    assert str(info.value) == f"Could not find triggers file at {expected}"
    assert info.value.path == str(expected)


def test_parse_signal_tree_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "TRIGGERS"
    path.write_text("a\n\tb\n", encoding="utf-8")
    assert parse_signal_tree(path) == {"a": {"b": None}}


def _working_dir_of(args: list[str], cwd: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *sys.path])}
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=30
    )
    return Path(result.stdout.strip())


def test_working_dir_is_the_launched_scripts_directory(tmp_path: Path) -> None:
    script_dir = tmp_path / "agent"
    script_dir.mkdir()
    (script_dir / "bot.py").write_text(
        "from summoner_client.protocol import triggers\nprint(triggers.WORKING_DIR)\n", encoding="utf-8"
    )
    assert _working_dir_of([str(script_dir / "bot.py")], cwd=tmp_path) == script_dir.resolve()


def test_working_dir_falls_back_to_cwd_under_python_c(tmp_path: Path) -> None:
    code = "from summoner_client.protocol import triggers; print(triggers.WORKING_DIR)"
    assert _working_dir_of(["-c", code], cwd=tmp_path) == tmp_path.resolve()
