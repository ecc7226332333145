"""A plain synchronous frame loop that talks to an agent and never waits for it.

Run it headless for a few seconds (it starts its own relay on a free port)::

    python examples/frame_loop/frame_loop.py --seconds 5 --fps 60 --think-ms 80

Each frame polls an ``AsyncSlot`` for a fresh answer and, when the slot is free, asks the oracle a new
question. The oracle takes several frames to answer; the frame rate does not care. At the end the
loop prints the target and the achieved frame rate, and the most work any single frame did.

There is no asyncio in this file: the agents' handlers (``agents.py``) are the only coroutines.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from agents import Player, make_oracle

from summoner_client import AsyncSlot
from summoner_client.server import SummonerServer
from summoner_client.threads import ClientThread, Handle, stop_all

CONNECT_TIMEOUT = 5.0


@dataclass
class FrameStats:
    """What the frame loop measured."""

    frames: int = 0
    elapsed: float = 0.0
    asked: int = 0
    replies: int = 0
    slowest_frame: float = 0.0  # seconds of work in the busiest frame, sleeping excluded


def run_frames(
    slot: AsyncSlot[dict[str, Any]], ask: Callable[[int], Handle[dict[str, Any]]], fps: float, seconds: float
) -> FrameStats:
    """The program's own loop: fixed tick rate, one short update per frame, no blocking call."""
    stats = FrameStats()
    period = 1.0 / fps
    start = next_frame = time.perf_counter()
    end = start + seconds
    try:
        while (frame_start := time.perf_counter()) < end:
            # ---- one frame: everything in here must fit in the frame budget ----
            answer = slot.poll()  # never blocks: a fresh answer once, else None
            if answer is not None:
                stats.replies += 1
                print(
                    f"frame {stats.frames:4d}: reply {stats.replies}: "
                    f"{answer['x']}² = {answer['square']} (asked at frame {answer['x']})"
                )
            if slot.submit(partial(ask, stats.frames)):  # False while the oracle is still thinking
                stats.asked += 1
            stats.frames += 1
            stats.slowest_frame = max(stats.slowest_frame, time.perf_counter() - frame_start)
            # ---- wait for the next tick; a late frame starts the next one at once, without catching up ----
            next_frame += period
            delay = next_frame - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                next_frame = time.perf_counter()
    except KeyboardInterrupt:  # Ctrl+C: stop here, and report what was measured so far
        print("interrupted")
    stats.elapsed = time.perf_counter() - start
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--fps", type=float, default=60.0, help="target frame rate (default 60)")
    parser.add_argument(
        "--think-ms", type=float, default=80.0, help="the oracle's thinking time (default 80)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    relay = SummonerServer("frame-loop-relay").start(
        host="127.0.0.1", port=0, config_dict={"logger": {"log_level": "WARNING"}}
    )
    player = Player(timeout=max(0.5, 5 * args.think_ms / 1000))
    oracle_thread = ClientThread(make_oracle(args.think_ms / 1000), relay.host, relay.port)
    player_thread = ClientThread(player.agent, relay.host, relay.port)
    threads = [oracle_thread, player_thread]
    stats = FrameStats()
    try:
        # The oracle connects first, so it has joined the relay before the player's first question.
        for thread in threads:
            if not thread.start().wait_started(CONNECT_TIMEOUT):
                print(f"{thread.name} could not connect to the relay", file=sys.stderr)
                return 1

        def ask(x: int) -> Handle[dict[str, Any]]:
            # Called by the slot on its own thread: runs player.ask(x) on the player's loop. The
            # handle is awaitable, so the slot waits for it without anyone blocking.
            return player_thread.submit(partial(player.ask, x))

        print(
            f"frame loop: {args.seconds:g} s at {args.fps:g} fps; the oracle thinks for {args.think_ms:g} ms"
        )
        with AsyncSlot[dict[str, Any]]("player-asks") as slot:
            stats = run_frames(slot, ask, args.fps, args.seconds)
    finally:
        stop_all(threads, timeout=CONNECT_TIMEOUT)
        relay.stop(CONNECT_TIMEOUT)

    achieved = stats.frames / stats.elapsed if stats.elapsed else 0.0
    print(f"target fps: {args.fps:.1f}")
    print(f"achieved fps: {achieved:.1f}")
    print(f"frames: {stats.frames}, questions asked: {stats.asked}, replies received: {stats.replies}")
    print(
        f"slowest frame: {stats.slowest_frame * 1000:.2f} ms of work (frame budget {1000 / args.fps:.2f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
