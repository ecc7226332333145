"""The buyer/seller example: three buyers haggle with the seller at once. Two close a deal, each at its
own price, and one walks away; the seller's database holds each buyer's state and the two deals."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from examples.buyer_seller import seller
from examples.buyer_seller.buyer import Buyer
from summoner_client.server import RunningRelay
from summoner_client.testing import ProbeClient, wait_for_members
from tests.examples._support import FAST_CONFIG, WAIT, Lines


def read_db(path: Path) -> tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    """The seller's tables: ``negotiations`` as peer -> (state, ask), ``deals`` as buyer -> (peer, price)."""
    with sqlite3.connect(path) as db:
        negotiations = {peer: (state, ask) for peer, state, ask in db.execute("SELECT * FROM negotiations")}
        deals = {buyer: (peer, price) for peer, buyer, price in db.execute("SELECT * FROM deals")}
    return negotiations, deals


async def announcements(bystander: ProbeClient, count: int) -> list[str]:
    """Read what the bystander heard until ``count`` announcements came by; return their texts."""
    heard: list[str] = []
    while len(heard) < count:
        _, line = await bystander.next_envelope(timeout=WAIT)
        payload = json.loads(line)["_payload"]  # the line is the sender's typed envelope
        if isinstance(payload, dict) and payload.get("type") == "announcement":
            heard.append(payload["text"])
    return heard


async def test_deals_close_and_the_database_remembers(relay: RunningRelay, tmp_path: Path) -> None:
    db_path = tmp_path / "seller.db"
    screen = Lines()
    buyers = {
        "alice": Buyer("alice", budget=90, ask_every=0.2, show=screen),  # takes the first counter, 75
        "bob": Buyer("bob", budget=72, ask_every=0.2, show=screen),  # haggles twice, down to the floor
        "carol": Buyer("carol", budget=60, ask_every=0.2, show=screen),  # the floor is out of her reach
    }
    await seller.setup(db_path)
    try:
        await seller.agent.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
        async with await ProbeClient.connect(relay.host, relay.port) as bystander:  # hears every line
            await wait_for_members(relay, 2)  # the seller listens before the first buyer asks
            for buyer in buyers.values():
                await buyer.agent.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
            async with asyncio.timeout(2 * WAIT):  # each buyer leaves on its own: deal done, or walked away
                for buyer in buyers.values():
                    await buyer.agent.wait_stopped()
            # The sender reacting to Trigger.agreed announced each sale to everyone.
            sales = await announcements(bystander, 2)
    finally:
        for agent in [seller.agent, *(buyer.agent for buyer in buyers.values())]:
            await asyncio.wait_for(agent.stop(), 10)
        await seller.store.close()

    # What the buyers got.
    assert buyers["alice"].receipt == {"type": "receipt", "to": "alice", "item": seller.ITEM, "price": 75}
    assert buyers["bob"].receipt is not None
    assert buyers["bob"].receipt["price"] == 70
    assert buyers["carol"].receipt is None
    assert "carol: too expensive, walking away" in screen.lines
    assert screen.lines.count("bob: counter at 75") == screen.lines.count("bob: counter at 70") == 1
    assert sales == [f"{seller.ITEM} sold, 1 so far", f"{seller.ITEM} sold, 2 so far"]

    # What the seller remembers: one row per peer, since the tape was keyed by the buyer's address.
    negotiations, deals = read_db(db_path)
    assert {buyer: price for buyer, (_, price) in deals.items()} == {"alice": 75, "bob": 70}
    peers = {buyer: peer for buyer, (peer, _) in deals.items()}
    assert negotiations[peers["alice"]] == ("sold", 75)  # the ask after one counter-offer
    assert negotiations[peers["bob"]] == ("sold", 70)
    (carol_peer,) = set(negotiations) - set(peers.values())
    assert negotiations[carol_peer] == ("haggling", 70)
