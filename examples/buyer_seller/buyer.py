"""A buyer for the buyer/seller example: asks for a quote, haggles within its budget, asks for a receipt.

Run it once the seller is up (see the README)::

    python examples/buyer_seller/buyer.py --host 127.0.0.1 --port 8888 --name alice --budget 90
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from summoner_client.client import SummonerClient


class Buyer:
    """A buyer that opens low, raises by ``step``, takes any price within ``budget``, and walks away
    when the seller will not come down to it.

    Attributes:
        agent: The client to run. It quits on its own once the deal is done or off.
        receipt: The seller's receipt, once received.
    """

    def __init__(
        self,
        name: str,
        budget: int,
        *,
        opening: int = 50,
        step: int = 10,
        ask_every: float = 1.0,
        show: Callable[[str], None] = print,
    ) -> None:
        self.agent = agent = SummonerClient(name)
        self.budget, self.opening, self.step = budget, opening, step
        self.receipt: dict[str, Any] | None = None
        self.last_offer: int | None = None
        quoted = False

        # A timed sender: it asks for a quote every ask_every seconds until the seller answers, in
        # case the seller was not listening yet. run_while is checked before each run.
        @agent.send("ask", every=ask_every, run_while=lambda: not quoted)
        async def ask_for_a_quote() -> dict[str, Any]:
            return {"type": "ask", "buyer": name}

        @agent.receive("seller")
        async def on_message(msg: Any) -> None:
            nonlocal quoted
            content = msg["content"] if isinstance(msg, dict) else None
            if not isinstance(content, dict) or content.get("to") != name:
                return  # everyone hears everything: keep what is addressed to this buyer
            kind, price = content["type"], content["price"]
            show(f"{name}: {kind} at {price}")
            if kind in ("quote", "counter"):
                quoted = True
                offer = self.next_offer(price)
                if offer is None:
                    show(f"{name}: too expensive, walking away")
                    await agent.quit()
                    return
                self.last_offer = offer
                await agent.publish({"type": "offer", "buyer": name, "price": offer})
            elif kind == "deal":
                await agent.publish({"type": "receipt", "buyer": name})
            elif kind == "receipt":
                self.receipt = content
                await agent.quit()  # done: the session ends and run() returns

    def next_offer(self, price: int) -> int | None:
        """The next offer against the seller's ``price``, or None when there is nothing left to offer."""
        if price <= self.budget:
            return price  # affordable: take it
        if self.last_offer is None:
            return self.opening
        offer = min(self.budget, self.last_offer + self.step)
        return None if offer == self.last_offer else offer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="relay host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8888, help="relay port (default 8888)")
    parser.add_argument("--name", default="alice", help="the buyer's name (default alice)")
    parser.add_argument("--budget", type=int, default=90, help="the most it will pay (default 90)")
    args = parser.parse_args(argv)
    Buyer(args.name, args.budget).agent.run(host=args.host, port=args.port)  # returns when done
    return 0


if __name__ == "__main__":
    sys.exit(main())
