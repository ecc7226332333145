"""``summoner flow graph``: load a user's module, bind its client, write the drawing, warn on stderr."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from summoner_client.cli import main

AGENT = textwrap.dedent(
    """
    from typing import Any

    from summoner_client.client import SummonerClient
    from summoner_client.protocol import Event, Move

    buyer = SummonerClient("buyer")
    flow = buyer.flow().activate()
    flow.add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    Trigger = flow.triggers(json_dict={"ok": None})

    @buyer.receive(route="--> browsing")
    async def start(msg: Any) -> None:
        return None

    @buyer.receive(route="browsing --[ quote ]--> deciding")
    async def on_quote(msg: Any) -> Event:
        return Move(Trigger.ok)

    @buyer.receive(route="deciding --[ buy ]--> owner")
    async def on_buy(msg: Any) -> Event:
        return Move(Trigger.ok)

    def make_buyer() -> SummonerClient:
        return buyer

    if __name__ == "__main__":
        buyer.run()
    """
)


@pytest.fixture
def agent_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the command puts the file's folder on it
    path = tmp_path / "buyer_agent.py"
    path.write_text(AGENT)
    yield path
    for name in [name for name in sys.modules if name.endswith("buyer_agent")]:
        del sys.modules[name]  # the command registers the module it loads, as an import would


def test_mermaid_goes_to_stdout_and_warnings_to_stderr(agent_file: Path) -> None:
    result = CliRunner().invoke(main, ["flow", "graph", f"{agent_file}:buyer"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart LR\n")
    assert '|"quote<br/>receive: on_quote"|' in result.stdout
    assert result.stderr == "warning: state 'owner' is never left: no receiver route moves out of it\n"


def test_dot_to_a_file_from_a_factory_and_a_module_name(
    agent_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a dotted module name is looked up from the current directory
    output = tmp_path / "buyer.dot"
    result = CliRunner().invoke(main, ["flow", "graph", "buyer_agent:make_buyer", "-o", str(output)])
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert text.startswith('digraph "buyer" {')
    assert 'n1 -> n2 [label="buy\\nreceive: on_buy"];' in text


def test_a_name_that_is_not_a_client_is_a_usage_error(agent_file: Path) -> None:
    result = CliRunner().invoke(main, ["flow", "graph", f"{agent_file}:Trigger"])
    assert result.exit_code == 2
    assert "not a SummonerClient" in result.output


def test_png_file_is_written_by_the_installed_command(agent_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "buyer.png"
    command = [
        sys.executable,
        "-m",
        "summoner_client.cli",
        "flow",
        "graph",
        f"{agent_file}:buyer",
        "-o",
        str(output),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert output.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "wrote png flow graph of 'buyer'" in done.stderr


def test_png_without_matplotlib_fails_and_says_why(
    agent_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    output = tmp_path / "buyer.png"
    result = CliRunner().invoke(main, ["flow", "graph", f"{agent_file}:buyer", "-o", str(output)])
    assert result.exit_code == 1
    assert "PNG output needs matplotlib" in result.stderr
    assert not output.exists()


@pytest.mark.parametrize("suffix", ["mmd", "png"])
def test_the_buyer_seller_example_renders_to_mermaid_and_png(tmp_path: Path, suffix: str) -> None:
    seller = Path(__file__).parents[2] / "examples" / "buyer_seller" / "seller.py"
    output = tmp_path / f"seller.{suffix}"
    command = [sys.executable, "-m", "summoner_client.cli", "flow", "graph", str(seller), "-o", str(output)]
    if suffix == "mmd":
        command += ["--format", "mermaid"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    if suffix == "png":
        assert output.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    else:
        text = output.read_text()
        assert text.startswith(("flowchart", "graph"))
        assert "-->" in text
