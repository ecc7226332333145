"""Client throughput: receive->handler, receive->handler->send, publish, and end-to-end via the Rust relay.

Run from the repository root:

    .venv/bin/python benchmarks/client_throughput.py            # all four, median of 5 runs
    .venv/bin/python benchmarks/client_throughput.py --messages 200000 --runs 5

The receive-side numbers need no relay: a feeder thread listens on loopback, and writes pre-encoded
relay lines (what a relay writes: ``{"remote_addr":..,"content":"<typed envelope>"}``) straight to the
client as fast as the socket takes them, then counts what the client sends back. The flow engine is
off. ``--profile`` runs receive->handler once under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from summoner_client.client import SummonerClient
from summoner_client.protocol.payload import wrap_with_types
from summoner_client.server import SummonerServer

CONFIG: dict[str, Any] = {"hyper_parameters": {"reconnection": {"retry_delay_seconds": 0.05}}}
PAYLOAD = {"type": "quote", "symbol": "ACME", "price": 12.5, "qty": 3, "tags": ["a", "b"]}


def relay_lines(count: int) -> bytes:
    """``count`` lines exactly as a relay would deliver them."""
    envelope = wrap_with_types(PAYLOAD, "1.3.0").rstrip("\n")
    line = orjson.dumps({"remote_addr": "127.0.0.1:50000", "content": envelope}) + b"\n"
    return line * count


class Feeder:
    """A loopback server on its own thread: sends a byte blob to the client, counts lines sent back."""

    def __init__(self, blob: bytes, expect_back: int) -> None:
        self._blob = blob
        self._expect_back = expect_back
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.back_done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = threading.Thread(target=self._count_back, args=(conn,), daemon=True)
        reader.start()
        if self._blob:
            conn.sendall(self._blob)
        reader.join()
        conn.close()
        self.sock.close()

    def _count_back(self, conn: socket.socket) -> None:
        seen = 0
        if self._expect_back == 0:
            return
        while seen < self._expect_back:
            data = conn.recv(1 << 20)
            if not data:
                break
            seen += data.count(b"\n")
        self.back_done.set()


async def receive_to_handler(count: int) -> float:
    """Messages per second from socket bytes to a completed receiver call."""
    client = SummonerClient("bench-rx")
    done = asyncio.get_running_loop().create_future()
    seen = 0

    @client.receive("quotes")
    async def on_quote(msg: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set_result(time.perf_counter())

    feeder = Feeder(relay_lines(count), 0)
    start = time.perf_counter()
    await client.start("127.0.0.1", feeder.port, config_dict=CONFIG, timeout=5)
    end = await asyncio.wait_for(done, 120)
    await client.stop()
    return count / (end - start)


async def receive_handler_send(count: int) -> float:
    """Messages per second through receiver -> queue -> multi sender -> socket."""
    client = SummonerClient("bench-echo")
    queue: asyncio.Queue[Any] = asyncio.Queue(10_000)  # bounded: the receiver waits when senders lag

    @client.receive("quotes")
    async def on_quote(msg: dict[str, Any]) -> None:
        await queue.put(msg["content"])

    @client.send("echo", multi=True)
    async def echo() -> list[Any]:
        items = [await queue.get()]
        while not queue.empty() and len(items) < 512:
            items.append(queue.get_nowait())
        return items

    feeder = Feeder(relay_lines(count), count)
    start = time.perf_counter()
    await client.start("127.0.0.1", feeder.port, config_dict=CONFIG, timeout=5)
    await asyncio.to_thread(feeder.back_done.wait, 120)
    end = time.perf_counter()
    await client.stop()
    return count / (end - start)


async def publish_rate(count: int) -> float:
    """Messages per second from ``await publish()`` to bytes read by the peer."""
    client = SummonerClient("bench-pub")
    feeder = Feeder(b"", count)
    await client.start("127.0.0.1", feeder.port, config_dict=CONFIG, timeout=5)
    start = time.perf_counter()
    for _ in range(count):
        await client.publish(PAYLOAD)
    await asyncio.to_thread(feeder.back_done.wait, 120)
    end = time.perf_counter()
    await client.stop()
    return count / (end - start)


async def end_to_end(count: int) -> float:
    """Messages per second from one client's publish to another client's receiver, via the Rust relay."""
    relay = SummonerServer("bench-relay").start(host="127.0.0.1", port=0)
    try:
        rx, tx = SummonerClient("bench-e2e-rx"), SummonerClient("bench-e2e-tx")
        done = asyncio.get_running_loop().create_future()
        seen = 0

        @rx.receive("quotes")
        async def on_quote(msg: dict[str, Any]) -> None:
            nonlocal seen
            seen += 1
            if seen == count:
                done.set_result(time.perf_counter())

        await rx.start(relay.host, relay.port, config_dict=CONFIG, timeout=5)
        await tx.start(relay.host, relay.port, config_dict=CONFIG, timeout=5)
        while relay.stats().get("members", 0) < 2:  # noqa: ASYNC110 - the relay has no event to await
            await asyncio.sleep(0.002)
        start = time.perf_counter()
        for _ in range(count):
            await tx.publish(PAYLOAD)
        end = await asyncio.wait_for(done, 120)
        await tx.stop()
        await rx.stop()
        return count / (end - start)
    finally:
        relay.stop()


BENCHES: dict[str, Callable[[int], Coroutine[Any, Any, float]]] = {
    "receive->handler": receive_to_handler,
    "receive->handler->send": receive_handler_send,
    "publish": publish_rate,
    "end-to-end via Rust relay": end_to_end,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=list(BENCHES), default=None)
    parser.add_argument("--profile", action="store_true", help="profile one receive->handler run")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.CRITICAL)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(receive_to_handler(args.messages))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        return
    for name, bench in BENCHES.items():
        if args.only and name != args.only:
            continue
        rates = [asyncio.run(bench(args.messages)) for _ in range(args.runs)]
        print(
            f"{name:28s} median {statistics.median(rates):>10,.0f} msg/s   runs: {[round(r) for r in rates]}"
        )


if __name__ == "__main__":
    main()
