"""The frame-loop example, run headless as a user would: replies arrive and the frame rate holds.

The assertions read the example's own printed report. The bound on the frame rate is loose on
purpose: this checks that waiting for the agent never stalls the loop, not how fast the machine is.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "frame_loop" / "frame_loop.py"


def reported(pattern: str, output: str) -> float:
    match = re.search(pattern, output, re.MULTILINE)
    assert match is not None, f"{pattern!r} not in the example's output:\n{output}"
    return float(match.group(1))


def test_frame_loop_example_gets_replies_without_dropping_frames() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLE), "--seconds", "2", "--fps", "60", "--think-ms", "50"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    target = reported(r"^target fps: ([\d.]+)$", done.stdout)
    achieved = reported(r"^achieved fps: ([\d.]+)$", done.stdout)
    replies = reported(r"replies received: (\d+)$", done.stdout)
    assert target == 60.0
    assert 0.7 * target <= achieved <= 1.05 * target, done.stdout
    assert replies >= 3, done.stdout  # 2 s of 50 ms answers gives about 20
    assert "reply 1:" in done.stdout
