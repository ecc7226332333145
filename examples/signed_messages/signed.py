"""Signed messages: a send hook signs every payload with a shared key, a receive hook checks it.

A message whose signature does not match (forged, altered on the way, or sent by an agent without the
key) is dropped before any receiver sees it. Run two or more agents with the same key::

    python examples/signed_messages/signed.py --host 127.0.0.1 --port 8888 --name alice --key s3cret
    python examples/signed_messages/signed.py --host 127.0.0.1 --port 8888 --name bob --key s3cret
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from summoner_client.client import SummonerClient
from summoner_client.protocol.process import Direction


def signature(key: bytes, body: str) -> str:
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def make_signed_agent(name: str, key: bytes, show: Callable[[str], None] = print) -> SummonerClient:
    """Build an agent that signs what it sends, and shows only the messages signed with ``key``."""
    agent = SummonerClient(name)

    # Runs on every outgoing payload, from senders and publish alike, before it is put on the wire.
    # The payload is turned into text once, and that exact text is signed and sent: a signature over
    # a Python object would depend on how both ends happen to encode it.
    @agent.hook(Direction.SEND)
    async def sign(payload: Any) -> dict[str, str]:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        return {"body": body, "sig": signature(key, body)}

    # Runs on every inbound message before any receiver. Returning None drops the message. A hook that
    # raises lets the message through unchanged (client spec §3.5), so this one never raises.
    @agent.hook(Direction.RECEIVE)
    async def verify(msg: Any) -> dict[str, Any] | None:
        if not isinstance(msg, dict):
            return None  # a relay notice carries no signature either
        content = msg["content"]
        body = content.get("body") if isinstance(content, dict) else None
        sig = content.get("sig") if isinstance(content, dict) else None
        if not isinstance(body, str) or not isinstance(sig, str):
            show(f"dropped an unsigned message from {msg['remote_addr']}")
            return None
        if not hmac.compare_digest(sig, signature(key, body)):  # constant time: leaks nothing
            show(f"dropped a message with a bad signature from {msg['remote_addr']}")
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            return None  # signed with our key, yet not JSON: not from one of our agents
        return {"remote_addr": msg["remote_addr"], "content": payload}  # receivers see the payload

    @agent.receive("messages")
    async def on_message(msg: dict[str, Any]) -> None:
        show(f"verified from {msg['remote_addr']}: {msg['content']}")

    return agent


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="relay host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8888, help="relay port (default 8888)")
    parser.add_argument("--name", default="alice", help="the agent's name (default alice)")
    parser.add_argument("--key", required=True, help="the key every agent of the group shares")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between greetings (default 2)")
    args = parser.parse_args(argv)
    agent = make_signed_agent(args.name, args.key.encode())
    count = itertools.count(1)

    @agent.send("greetings", every=args.every)  # the send hook signs it
    async def greet() -> dict[str, Any]:
        return {"from": args.name, "text": f"hello #{next(count)}"}

    agent.run(host=args.host, port=args.port)  # until Ctrl+C
    return 0


if __name__ == "__main__":
    sys.exit(main())
