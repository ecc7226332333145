"""A console chat agent: what you type goes to everyone on the relay, and what they type is printed.

Run a relay, then one agent per terminal::

    summoner relay --port 8888
    python examples/chat/chat.py --host 127.0.0.1 --port 8888 --name alice
    python examples/chat/chat.py --host 127.0.0.1 --port 8888 --name bob

Commands: ``/travel HOST PORT`` moves the agent to another relay; ``/quit`` (or Ctrl+D) leaves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aioconsole import ainput

from summoner_client.client import SummonerClient

ReadLine = Callable[[str], Awaitable[str]]
"""Where typed lines come from: ``ainput`` in a terminal; anything awaitable in a test."""

Show = Callable[[str], None]
"""Where lines for the user go: ``print`` in a terminal."""


def make_chat_agent(name: str, read_line: ReadLine = ainput, show: Show = print) -> SummonerClient:
    """Build a chat agent that reads lines with ``read_line`` and prints with ``show``.

    ``read_line(prompt)`` returns one typed line and raises ``EOFError`` when input ends.
    """
    agent = SummonerClient(name)

    # Without a flow, every receiver gets every message; the route is only a name.
    @agent.receive("chat")
    async def on_message(msg: Any) -> None:
        if isinstance(msg, str):  # a notice from the relay itself, such as "Warning: ..."
            show(f"[relay] {msg}")
            return
        content = msg["content"]
        if isinstance(content, dict) and isinstance(content.get("text"), str):
            show(f"[{content.get('from', msg['remote_addr'])}] {content['text']}")

    # A plain sender runs again as soon as it returns. Waiting for the keyboard here holds back only
    # this sender: messages keep arriving and printing meanwhile.
    @agent.send("chat")
    async def type_a_line() -> dict[str, str] | None:
        try:
            line = (await read_line(f"{name}> ")).strip()
        except EOFError:  # Ctrl+D, or the end of piped input
            line = "/quit"
        if not line.startswith("/"):
            return {"from": name, "text": line} if line else None  # returning None sends nothing
        command, *args = line.split()
        if command == "/quit":
            show("bye")
            await agent.quit()  # ends the session gracefully; run() returns
        elif command == "/travel" and len(args) == 2 and args[1].isdigit():
            show(f"travelling to {args[0]}:{args[1]}")
            await agent.travel_to(args[0], int(args[1]))  # this session ends; the next one is there
        else:
            show("commands: /travel HOST PORT, /quit")
        return None

    return agent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="relay host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8888, help="relay port (default 8888)")
    parser.add_argument("--name", default="guest", help="the name others see (default guest)")
    args = parser.parse_args(argv)
    make_chat_agent(args.name).run(host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
