"""Many agents in one process, one thread each: every agent greets all the others.

    python examples/many_agents/many.py --host 127.0.0.1 --port 8888 --agents 10

Each agent says hello when it connects, and welcomes every newcomer it hears. That way everyone
hears everyone, whatever order they join in: a newcomer's hello reaches all who are already there,
and their welcomes reach the newcomer. Ctrl+C stops them all.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from summoner_client.client import SummonerClient
from summoner_client.threads import ClientThread, run_client_threads


def say(line: str) -> None:
    """``print`` for many threads: one write per line, so two agents' lines never run together."""
    sys.stdout.write(f"{line}\n")


class Greeter:
    """One agent of the crowd.

    Attributes:
        agent: The client to run.
        heard: The names of the agents it has heard from.
        heard_everyone: Set once it has heard all ``crowd - 1`` others.
    """

    def __init__(self, name: str, crowd: int, show: Callable[[str], None] = say) -> None:
        self.agent = agent = SummonerClient(name)
        self.heard: set[str] = set()
        # Set on the agent's thread and read on others: a threading.Event, not an asyncio one.
        self.heard_everyone = threading.Event()

        # Published before the agent runs: it waits in the publish queue and goes out on connect.
        agent.publish_nowait({"type": "hello", "from": name})

        @agent.receive("greetings")
        async def on_greeting(msg: Any) -> None:
            greeting = msg["content"] if isinstance(msg, dict) else None
            if not isinstance(greeting, dict) or greeting.get("type") not in ("hello", "welcome"):
                return
            sender = greeting["from"]
            if sender in self.heard:
                return
            self.heard.add(sender)
            if greeting["type"] == "hello":  # a newcomer: it may have connected after our hello
                await agent.publish({"type": "welcome", "from": name, "to": sender})
            if len(self.heard) == crowd - 1:
                show(f"{name} has heard all {crowd - 1} others")
                self.heard_everyone.set()


def make_threads(greeters: Sequence[Greeter], host: str, port: int, **options: Any) -> list[ClientThread]:
    """One ``ClientThread`` per greeter (a thread with its own event loop), not started yet.

    ``options`` go to ``ClientThread``: ``config_path`` or ``config_dict``.
    """
    return [ClientThread(greeter.agent, host, port, **options) for greeter in greeters]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="relay host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8888, help="relay port (default 8888)")
    parser.add_argument("--agents", type=int, default=10, help="how many agents (default 10)")
    args = parser.parse_args(argv)
    greeters = [Greeter(f"agent-{i:02d}", args.agents) for i in range(args.agents)]
    threads = make_threads(greeters, args.host, args.port, config_dict={"logger": {"log_level": "WARNING"}})
    # Starts every thread, then waits on the main thread (the only one that receives Ctrl+C) and
    # stops all the agents together.
    run_client_threads(threads)
    done = sum(greeter.heard_everyone.is_set() for greeter in greeters)
    failed = [thread.name for thread in threads if thread.thread_error is not None]
    print(f"{done} of {args.agents} agents heard all the others; failed threads: {failed or 'none'}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
