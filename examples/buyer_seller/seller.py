"""The seller of the buyer/seller example: a negotiation run by a flow, one state per buyer in SQLite.

Each buyer (each peer address) walks this flow, and the seller remembers where every buyer stands::

    ready    --[ quote ]-->   haggling    Move: a buyer asks; the seller names its price
    haggling --[ counter ]--> haggling    Stay: an offer under the floor; the seller counters
    haggling --[ accept ]-->  sold        Move: an offer at or over the floor closes the deal
    sold     --[ receipt ]--> sold        Test: the buyer asks for its receipt; nothing moves

Run it against a relay (see the README)::

    python examples/buyer_seller/seller.py --host 127.0.0.1 --port 8888 --db seller.db

The client is built at import (``agent`` below), so tools can load this module and read its flow.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import aiosqlite

from summoner_client.client import SummonerClient
from summoner_client.protocol.process import Action, Event, Move, Node, Stay, Test
from summoner_client.protocol.triggers import load_triggers

ITEM: Final = "a crate of apples"
ASKING_PRICE: Final = 100  # the first quote every buyer gets
FLOOR: Final = 70  # the lowest offer the seller takes
STATES: Final = frozenset({"ready", "haggling", "sold"})  # the flow's states; the other nodes are labels

# Signals name what a receiver decided. Indentation makes a hierarchy: Trigger.deal > Trigger.agreed.
# on_triggers matches one signal exactly; comparisons (>, >=) test ancestry.
Trigger = load_triggers(
    text="""
deal            # the negotiation moves forward
    quoted
    agreed
haggle          # it goes round once more
    countered
info            # a question that changes nothing
    receipt
"""
)

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS negotiations (
    peer  TEXT PRIMARY KEY,   -- the buyer's address, as the relay reports it: the tape's key
    state TEXT NOT NULL,      -- ready, haggling or sold
    ask   INTEGER NOT NULL    -- the seller's current price for this buyer
);
CREATE TABLE IF NOT EXISTS deals (
    peer  TEXT PRIMARY KEY,
    buyer TEXT NOT NULL,
    price INTEGER NOT NULL
);
"""


class Store:
    """The seller's memory in SQLite: where each buyer stands, and the deals made."""

    def __init__(self) -> None:
        self._db: aiosqlite.Connection | None = None

    async def open(self, path: str | Path) -> None:
        self._db = await aiosqlite.connect(path)
        await self._db.executescript(SCHEMA)
        await self._db.commit()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open: call setup() before running the agent")
        return self._db

    async def negotiation(self, peer: str) -> tuple[str, int]:
        """Return ``(state, ask)`` for ``peer``; a buyer never seen is ``ready`` at the asking price."""
        async with self.db.execute("SELECT state, ask FROM negotiations WHERE peer = ?", (peer,)) as rows:
            row = await rows.fetchone()
        return (row[0], row[1]) if row is not None else ("ready", ASKING_PRICE)

    async def save(self, peer: str, *, state: str | None = None, ask: int | None = None) -> None:
        old_state, old_ask = await self.negotiation(peer)
        await self.db.execute(
            "INSERT OR REPLACE INTO negotiations (peer, state, ask) VALUES (?, ?, ?)",
            (peer, old_state if state is None else state, old_ask if ask is None else ask),
        )
        await self.db.commit()

    async def record_deal(self, peer: str, buyer: str, price: int) -> None:
        await self.db.execute("INSERT INTO deals (peer, buyer, price) VALUES (?, ?, ?)", (peer, buyer, price))
        await self.db.commit()

    async def price_paid(self, peer: str) -> int | None:
        async with self.db.execute("SELECT price FROM deals WHERE peer = ?", (peer,)) as rows:
            row = await rows.fetchone()
        return None if row is None else int(row[0])

    async def deals_made(self) -> int:
        async with self.db.execute("SELECT COUNT(*) FROM deals") as rows:
            row = await rows.fetchone()
        return int(row[0]) if row is not None else 0


store = Store()
agent = SummonerClient("seller")
flow = agent.flow().activate()
flow.add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")


def is_message(content: Any, kind: str) -> bool:
    return isinstance(content, dict) and content.get("type") == kind and isinstance(content.get("buyer"), str)


def reply(request: dict[str, Any], kind: str, price: int) -> dict[str, Any]:
    """The message for the buyer who sent ``request``; it travels as the event's data."""
    return {"type": kind, "to": request["buyer"], "item": ITEM, "price": price}


# ---- states: the tape holds one state per peer, read from the database and written back ----


@agent.upload_states()
async def upload(msg: Any) -> dict[str, str]:
    if not isinstance(msg, dict):
        return {}  # a relay notice: no buyer, so no state and no receiver
    peer = msg["remote_addr"]
    state, _ = await store.negotiation(peer)
    return {peer: state}  # a dict tape (INDEX): only the receivers whose source matches fire


@agent.download_states()
async def download(moves: dict[str, list[Node]]) -> None:
    # What the receivers activated, per peer: a Move gives [label, target], a Stay gives [source], a
    # Test gives [label]. Labels are not states; an empty list means nothing moved.
    for peer, nodes in moves.items():
        states = [str(node) for node in nodes if str(node) in STATES]
        if states:
            await store.save(peer, state=states[-1])


# ---- receivers: one per arrow; each fires only for buyers whose state is the arrow's source ----


@agent.receive("ready --[ quote ]--> haggling")
async def quote(msg: dict[str, Any]) -> Event | None:
    request = msg["content"]
    if not is_message(request, "ask"):
        return None  # returning None activates nothing: the buyer stays where it was
    _, ask = await store.negotiation(msg["remote_addr"])
    return Move(Trigger.quoted, data=reply(request, "quote", ask))


@agent.receive("haggling --[ counter ]--> haggling")
async def counter(msg: dict[str, Any]) -> Event | None:
    offer = msg["content"]
    if not is_message(offer, "offer") or offer["price"] >= FLOOR:
        return None
    _, ask = await store.negotiation(msg["remote_addr"])
    new_ask = max(FLOOR, (ask + offer["price"]) // 2)  # meet the buyer halfway, never under the floor
    await store.save(msg["remote_addr"], ask=new_ask)
    return Stay(Trigger.countered, data=reply(offer, "counter", new_ask))


@agent.receive("haggling --[ accept ]--> sold")
async def accept(msg: dict[str, Any]) -> Event | None:
    offer = msg["content"]
    if not is_message(offer, "offer") or offer["price"] < FLOOR:
        return None
    await store.record_deal(msg["remote_addr"], offer["buyer"], offer["price"])
    return Move(Trigger.agreed, data=reply(offer, "deal", offer["price"]))


@agent.receive("sold --[ receipt ]--> sold")
async def receipt(msg: dict[str, Any]) -> Event | None:
    request = msg["content"]
    if not is_message(request, "receipt"):
        return None
    price = await store.price_paid(msg["remote_addr"])
    return None if price is None else Test(Trigger.receipt, data=reply(request, "receipt", price))


# ---- senders: they react to the events the receivers returned ----


# Every event above carries its reply as data; this one sender sends them all, one per event.
@agent.send("/all --> /all", on_actions={Action.MOVE, Action.STAY, Action.TEST}, use_data=True)
async def answer_buyer(message: dict[str, Any]) -> dict[str, Any]:
    return message


# Without use_data a reactive sender fires once per message that produced a matching event.
@agent.send("haggling --[ accept ]--> sold", on_triggers={Trigger.agreed})
async def announce_sale() -> dict[str, Any]:
    return {"type": "announcement", "text": f"{ITEM} sold, {await store.deals_made()} so far"}


async def setup(db_path: str | Path) -> None:
    """Open the database; run it on the agent's loop before the agent runs."""
    await store.open(db_path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="relay host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8888, help="relay port (default 8888)")
    parser.add_argument("--db", default="seller.db", help="SQLite file (default seller.db)")
    args = parser.parse_args(argv)
    # The database must be opened on the loop the handlers run on. Binding our own loop to the agent
    # lets us prepare it before run() and close the database after: run() leaves a loop it did not
    # create open.
    loop = asyncio.new_event_loop()
    agent.loop = loop
    loop.run_until_complete(setup(args.db))
    try:
        agent.run(host=args.host, port=args.port)  # until Ctrl+C
    finally:
        loop.run_until_complete(store.close())
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
