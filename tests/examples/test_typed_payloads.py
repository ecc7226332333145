"""The typed-payloads example: orders and invoices arrive as model instances; an invalid order is
dropped and counted, and the shop keeps serving; an invalid publish raises at the caller."""

from __future__ import annotations

import asyncio

import pytest

from examples.typed_payloads.shop import Customer, Invoice, Order, Shop
from summoner_client.client import SummonerClient
from summoner_client.client.status import ClientStatus
from summoner_client.server import RunningRelay
from summoner_client.testing import wait_for_members
from tests.examples._support import FAST_CONFIG, WAIT, Lines


async def test_models_in_and_out_and_invalid_orders_rejected(relay: RunningRelay) -> None:
    shop_screen, customer_screen = Lines(), Lines()
    shop = Shop(show=shop_screen)
    customer = Customer("carol", [("apple", 6), ("pear", 2)], every=0.05, show=customer_screen)
    prankster = SummonerClient("prankster")  # an agent without models: it can send anything
    agents = [shop.agent, customer.agent, prankster]
    try:
        await shop.agent.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
        await prankster.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
        await wait_for_members(relay, 2)  # the shop listens before the customer's first order
        await customer.agent.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
        await customer_screen.wait_for("invoice: 2 x pear")
        async with asyncio.timeout(WAIT):
            await customer.agent.wait_stopped()  # both orders invoiced: the customer leaves

        # Two invalid orders, then a valid one from the same untyped agent.
        await prankster.publish({"customer": "dave", "item": "apple", "quantity": -3})
        await prankster.publish({"customer": "dave", "item": "apple", "quantity": 1, "discount": 0.9})
        await prankster.publish({"customer": "dave", "item": "plum", "quantity": 4})
        await shop_screen.wait_for("order from dave")
        assert shop.agent.status is ClientStatus.CONNECTED  # the same session as before

        # publish(model=...) validates at the caller: nothing is queued, nothing is sent.
        with pytest.raises(ValueError, match="quantity"):
            await customer.agent.publish({"customer": "carol", "item": "plum", "quantity": 0}, model=Order)
    finally:
        for agent in agents:
            await asyncio.wait_for(agent.stop(), 10)

    assert shop.orders == [
        Order(customer="carol", item="apple", quantity=6),
        Order(customer="carol", item="pear", quantity=2),
        Order(customer="dave", item="plum", quantity=4),
    ]
    assert customer.invoices == [
        Invoice(customer="carol", item="apple", quantity=6, total=3.0),
        Invoice(customer="carol", item="pear", quantity=2, total=1.5),
    ]
    # The two invalid orders never reached the handler, and did not end the shop's session.
    stats = shop.agent.stats
    assert stats["model_rejected"] == 2
    assert stats["connects"] == 1
    assert stats["receiver_errors"] == 0
