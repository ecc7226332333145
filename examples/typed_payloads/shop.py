"""Typed payloads: a shop and a customer exchange pydantic models instead of loose dicts.

    python examples/typed_payloads/shop.py --host 127.0.0.1 --port 8888 --role shop
    python examples/typed_payloads/shop.py --host 127.0.0.1 --port 8888 --role customer

The shop takes ``Order`` messages and answers each with an ``Invoice``. An order that does not
validate never reaches the shop's handler: the client drops it and counts it in
``stats["model_rejected"]``, and the session goes on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from summoner_client.client import SummonerClient

PRICES: Final = {"apple": 0.5, "pear": 0.75, "plum": 0.25}


class Order(BaseModel):
    # Unknown fields are errors, so an invoice is never mistaken for an order, nor an order for one.
    model_config = ConfigDict(extra="forbid")

    customer: str
    item: str
    quantity: int = Field(gt=0)


class Invoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str
    item: str
    quantity: int
    total: float = Field(ge=0)


class Shop:
    """The shop: validates orders on the way in and invoices on the way out.

    Attributes:
        agent: The client to run.
        orders: Every order received, as ``Order`` instances.
    """

    def __init__(self, show: Callable[[str], None] = print) -> None:
        self.agent = agent = SummonerClient("shop")
        self.orders: list[Order] = []

        # With model=, the content is validated first: the handler gets an Order, or is not called.
        @agent.receive("orders", model=Order)
        async def take_order(msg: dict[str, Any]) -> None:
            order: Order = msg["content"]
            self.orders.append(order)
            show(f"order from {order.customer}: {order.quantity} x {order.item}")
            total = PRICES.get(order.item, 1.0) * order.quantity
            # publish(model=...) validates before queueing: a bad invoice raises here, not on the wire.
            await agent.publish(
                {"customer": order.customer, "item": order.item, "quantity": order.quantity, "total": total},
                model=Invoice,
            )


class Customer:
    """A customer: places ``orders`` one per ``every`` seconds, collects the invoices, then leaves.

    Attributes:
        agent: The client to run.
        invoices: The invoices addressed to this customer, as ``Invoice`` instances.
    """

    def __init__(
        self,
        name: str,
        orders: Sequence[tuple[str, int]],
        *,
        every: float = 1.0,
        show: Callable[[str], None] = print,
    ) -> None:
        self.agent = agent = SummonerClient(name)
        self.invoices: list[Invoice] = []
        to_place = list(orders)

        # With model=, what the sender returns is validated into an Order before it is sent.
        @agent.send("orders", every=every, run_while=lambda: bool(to_place), model=Order)
        async def place_order() -> dict[str, Any]:
            item, quantity = to_place.pop(0)
            return {"customer": name, "item": item, "quantity": quantity}

        @agent.receive("invoices", model=Invoice)
        async def on_invoice(msg: dict[str, Any]) -> None:
            invoice: Invoice = msg["content"]
            if invoice.customer == name:
                self.invoices.append(invoice)
                show(f"invoice: {invoice.quantity} x {invoice.item} = {invoice.total:.2f}")
                if len(self.invoices) == len(orders):
                    await agent.quit()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="relay host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8888, help="relay port (default 8888)")
    parser.add_argument("--role", choices=["shop", "customer"], required=True)
    parser.add_argument("--name", default="carol", help="the customer's name (default carol)")
    args = parser.parse_args(argv)
    if args.role == "shop":
        agent = Shop().agent
    else:
        agent = Customer(args.name, [("apple", 6), ("pear", 2), ("plum", 12)]).agent
    agent.run(host=args.host, port=args.port)  # until Ctrl+C
    return 0


if __name__ == "__main__":
    sys.exit(main())
