"""A fake of Alpaca's market data websocket (msgpack frames, as alpaca-py's ``DataStream``
speaks it): ``connected`` on connect, ``authenticated`` (or an error) after ``auth``, a
``subscription`` acknowledgement after ``subscribe``, then the scripted frames.

Point ``StockDataStream``/``CryptoDataStream`` at it with ``url_override=<ws url>``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import msgpack
from websockets.asyncio.server import ServerConnection, serve


def _pack(frame: list[dict[str, Any]]) -> bytes:
    converted = [
        {
            k: (msgpack.Timestamp.from_datetime(v) if isinstance(v, datetime) else v)
            for k, v in message.items()
        }
        for message in frame
    ]
    return msgpack.packb(converted)


class FakeAlpacaStream:
    def __init__(self, key: str = "test-key", secret: str = "test-secret") -> None:
        self.key = key
        self.secret = secret
        self.frames: list[list[dict[str, Any]]] = []
        """Frames to send after each subscription; ``t`` values may be aware datetimes."""
        self.subscriptions: list[dict[str, Any]] = []
        self.auth_attempts = 0
        self.connections = 0

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        await ws.send(_pack([{"T": "success", "msg": "connected"}]))
        auth = msgpack.unpackb(await ws.recv())
        self.auth_attempts += 1
        if auth.get("key") != self.key or auth.get("secret") != self.secret:
            await ws.send(_pack([{"T": "error", "code": 402, "msg": "auth failed"}]))
            await ws.close()
            return
        await ws.send(_pack([{"T": "success", "msg": "authenticated"}]))
        async for raw in ws:
            message = msgpack.unpackb(raw)
            if message.get("action") != "subscribe":
                continue
            self.subscriptions.append(message)
            ack = {"T": "subscription"}
            for channel in ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses"):
                ack[channel] = message.get(channel, [])
            await ws.send(_pack([ack]))
            for frame in self.frames:
                await ws.send(_pack(frame))

    @contextmanager
    def running(self) -> Iterator[str]:
        """Serve on a free loopback port for the ``with`` block; yields ``ws://127.0.0.1:port``."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        port: list[int] = []
        stop = loop.create_future()

        async def main() -> None:
            async with serve(self._handle, "127.0.0.1", 0) as server:
                port.append(next(iter(server.sockets)).getsockname()[1])
                started.set()
                await stop

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        if not started.wait(10):
            raise RuntimeError("fake Alpaca stream did not start")
        try:
            yield f"ws://127.0.0.1:{port[0]}"
        finally:
            loop.call_soon_threadsafe(stop.set_result, None)
            thread.join(timeout=10)
            loop.close()
