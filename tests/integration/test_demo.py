"""``summoner demo``, run as a user runs it: a real process, a real relay, five agents, a clean exit."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from summoner_client.demo import AGENT_NAMES


@pytest.mark.parametrize("flags", [[], ["--python"]], ids=["rust", "python"])
def test_demo_prints_every_agent_and_a_summary_then_exits_cleanly(flags: list[str]) -> None:
    command = [sys.executable, "-m", "summoner_client.cli", "demo", "--seconds", "3", *flags]
    done = subprocess.run(command, capture_output=True, text=True, timeout=45, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for name in AGENT_NAMES:
        assert re.search(rf"^ +\d+\.\d\ds  {name} +-> \S+ +\S", out, re.MULTILINE), (
            f"{name} said nothing:\n{out}"
        )
        row = re.search(rf"^  {name} +(\d+) +(\d+)$", out, re.MULTILINE)
        assert row is not None, f"no summary row for {name}:\n{out}"
        assert int(row.group(1)) >= 1
        assert int(row.group(2)) >= 1
    assert re.search(r"^done after 3\.\d s: the (native|python) relay", out, re.MULTILINE), out
    assert "3 + 4 = 7" in out
    assert "moving to 'resting'" in out
