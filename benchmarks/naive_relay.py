"""A naive asyncio relay: the baseline the Python relay is measured against (spec/relay.md §7.4).

Deliberately the obvious design: each line is serialised again for every recipient, and the
sender's task writes and drains each recipient in turn, so one slow reader slows every sender.
It speaks the same wire (`{"remote_addr","content"}` lines, no echo). Benchmarks only.

    python benchmarks/naive_relay.py   # prints HOST:PORT once listening; SIGTERM stops it
"""

from __future__ import annotations

import asyncio
import json
import signal


async def main() -> None:
    clients: dict[asyncio.StreamWriter, str] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        clients[writer] = f"{host}:{port}"
        try:
            while line := await reader.readline():
                text = line.decode().rstrip("\n")
                for other, _ in list(clients.items()):
                    if other is writer:
                        continue
                    # Serialised again for every recipient (compact, as the relays write it).
                    envelope = json.dumps(
                        {"remote_addr": clients[writer], "content": text},
                        separators=(",", ":"),
                        ensure_ascii=False,
                    )
                    other.write(envelope.encode() + b"\n")
                    await other.drain()
        except (ConnectionError, UnicodeDecodeError):
            pass
        finally:
            clients.pop(writer, None)
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 20)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"{host}:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
