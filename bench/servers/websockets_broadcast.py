"""Reference (a): a raw `websockets` server using broadcast() — the practical Python limit.

Readers connect to /ws; a control client connects to /publish?count=N&interval=S and the server
broadcasts N messages S seconds apart, each encoded once, with no await per reader.
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import parse_qs, urlsplit

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.message import frame

readers: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    url = urlsplit(connection.request.path if connection.request else "/")
    if url.path == "/publish":
        query = parse_qs(url.query)
        count = int(query.get("count", ["1"])[0])
        interval = float(query.get("interval", ["0"])[0])
        for seq in range(1, count + 1):
            broadcast(readers, frame(seq), text=True)
            await asyncio.sleep(interval)  # 0: let the loop flush, as a server between POSTs
        await connection.send("done")
        return
    readers.add(connection)
    try:
        await connection.send('{"type":"hello","seq":0}')
        await connection.wait_closed()
    finally:
        readers.discard(connection)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, backlog=4096, max_queue=1):
        print("listening", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    # uvloop, as uvicorn uses for Liveblog and (b): the comparison is of servers, not loops.
    uvloop.run(main(int(sys.argv[1])))
