"""The signed-messages example: a signed message reaches the receiver; a tampered copy, an unsigned
line and a message signed with another key are all dropped by the receive hook."""

from __future__ import annotations

import asyncio
import json

from examples.signed_messages.signed import make_signed_agent
from summoner_client.server import RunningRelay
from summoner_client.testing import ProbeClient, wait_for_members
from tests.examples._support import FAST_CONFIG, WAIT, Lines

KEY = b"a key the group shares"


async def test_only_the_genuine_message_reaches_the_receiver(relay: RunningRelay) -> None:
    screen = Lines()
    bob = make_signed_agent("bob", KEY, show=screen)  # the receiver under test
    alice = make_signed_agent("alice", KEY, show=Lines())
    mallory = make_signed_agent("mallory", b"a key of her own", show=Lines())
    agents = [bob, alice, mallory]
    try:
        for agent in agents:
            await agent.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
        # The attacker is a raw TCP connection: it sees every line and can write anything.
        async with await ProbeClient.connect(relay.host, relay.port) as attacker:
            await wait_for_members(relay, 4)

            await alice.publish({"text": "pay 10 coins"})
            await screen.wait_for("verified")

            # It takes the signed line it saw go by, changes the amount, keeps the signature and sends
            # the result on; then a line with no signature at all.
            _, line = await attacker.next_envelope(timeout=WAIT)
            signed = json.loads(line)["_payload"]  # alice's envelope: the send hook's output
            assert json.loads(signed["body"]) == {"text": "pay 10 coins"}
            tampered = {"body": signed["body"].replace("10", "1000"), "sig": signed["sig"]}
            await attacker.send(json.dumps(tampered).encode() + b"\n")
            await attacker.send(b'{"text": "pay 1000 coins"}\n')
            await screen.wait_for("dropped a message with a bad signature")
            await screen.wait_for("dropped an unsigned message")

        await mallory.publish({"text": "pay 1000 coins"})  # well signed, with the wrong key
        await screen.wait_for("dropped a message with a bad signature", count=2)
    finally:
        for agent in agents:
            await asyncio.wait_for(agent.stop(), 10)

    verified = [line for line in screen.lines if line.startswith("verified")]
    assert len(verified) == 1
    assert verified[0].endswith(": {'text': 'pay 10 coins'}")
    assert bob.stats["messages_dropped_by_hooks"] == 3
