"""Reference (b): the common FastAPI pattern — `for ws in sockets: await ws.send_text(msg)`.

Fast while every reader is fast; one reader whose buffer is full stalls the loop for all.
Served by uvicorn exactly like Liveblog.
"""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from bench.message import frame

app = FastAPI()
sockets: list[WebSocket] = []


@app.websocket("/ws")
async def reader(websocket: WebSocket) -> None:
    await websocket.accept()
    sockets.append(websocket)
    try:
        await websocket.send_text('{"type":"hello","seq":0}')
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        sockets.remove(websocket)


@app.websocket("/publish")
async def publish(websocket: WebSocket, count: int = 1, interval: float = 0) -> None:
    await websocket.accept()
    for seq in range(1, count + 1):
        message = frame(seq).decode()
        for socket in list(sockets):
            await socket.send_text(message)
        await asyncio.sleep(interval)
    await websocket.send_text("done")
    await websocket.close()


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", backlog=4096)
