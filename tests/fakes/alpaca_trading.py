"""A fake of Alpaca's Trading API v2 (orders) and its trade_updates websocket, speaking the wire
formats alpaca-py reads: order JSON with decimal strings and RFC 3339 times
(``alpaca/trading/models.py: Order``), ``{"code", "message"}`` errors, and on ``/stream`` the
``authenticate`` / ``listen`` handshake with JSON messages in binary frames, as Alpaca's paper
endpoint sends them (``alpaca/trading/stream.py``).

Point ``TradingClient(url_override=<base url>)`` and ``TradingStream(url_override=<base
url>/stream)`` at it. Tests script the venue: ``fill`` (partial or whole), ``cancel_at_venue``,
``expire``, refusals by symbol (``refuse``), 429s (``rate_limit``), and ``drop_stream`` (the
connection goes; updates made while nobody listens are lost, as at Alpaca).

``GET /v2/positions`` answers the account's positions as Alpaca's ``Position`` JSON: what the
fills made, plus what ``hold`` adds (positions the account had before, or orders placed at the
venue outside the engine). Shorts have a negative ``qty`` and side ``short``; crypto pairs are
named without their slash (``BTCUSD``), as Alpaca names them there.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .common import FakeBase, json_response

UNAUTHORIZED = {"code": 40110000, "message": "request is not authorized"}
NOT_FOUND = {"code": 40410000, "message": "order not found"}
OPEN = {"new", "accepted", "pending_new", "partially_filled", "pending_cancel", "pending_replace"}
_DROP = object()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _position(symbol: str, qty: Decimal, price: Decimal) -> dict[str, Any]:
    crypto = "/" in symbol
    value = qty * price
    return {
        "asset_id": str(uuid.uuid5(uuid.NAMESPACE_OID, symbol)),
        "symbol": symbol.replace("/", ""),
        "exchange": "CRYPTO" if crypto else "NASDAQ",
        "asset_class": "crypto" if crypto else "us_equity",
        "asset_marginable": not crypto,
        "avg_entry_price": str(price),
        "qty": str(qty),
        "side": "long" if qty > 0 else "short",
        "market_value": str(value),
        "cost_basis": str(value),
        "unrealized_pl": "0",
        "unrealized_plpc": "0",
        "unrealized_intraday_pl": "0",
        "unrealized_intraday_plpc": "0",
        "current_price": str(price),
        "lastday_price": str(price),
        "change_today": "0",
        "qty_available": str(qty),
    }


@dataclass
class _Listener:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Any]


class FakeAlpacaTrading(FakeBase):
    def __init__(self, key: str = "test-key", secret: str = "test-secret") -> None:
        super().__init__()
        self.key = key
        self.secret = secret
        self.orders: dict[str, dict[str, Any]] = {}  # by Alpaca order id, in creation order
        self.holdings: dict[str, Decimal] = {}  # symbol as ordered -> signed quantity
        self.prices: dict[str, Decimal] = {}  # symbol -> last fill price (cost basis, marks)
        self.refusals: dict[str, tuple[int, str]] = {}  # symbol -> (HTTP status, message)
        self.auto_new = True  # announce "new" on the stream after each accepted order
        self.sent: list[dict[str, Any]] = []  # every trade update delivered to a listener
        self.lost: list[dict[str, Any]] = []  # updates made while nobody listened
        self.connections = 0
        self.auth_failures = 0
        self.block_stream = False  # refuse connections (a stream that is down)
        self._listeners: list[_Listener] = []
        self._state = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v2/orders", self._orders, methods=["POST", "GET"]),
                Route("/v2/orders:by_client_order_id", self._by_client_id, methods=["GET"]),
                Route("/v2/orders/{order_id}", self._order, methods=["GET", "DELETE", "PATCH"]),
                Route("/v2/positions", self._positions, methods=["GET"]),
                WebSocketRoute("/stream", self._stream),
            ]
        )

    # --- scripting -----------------------------------------------------------------------------

    def refuse(self, symbol: str, status: int, message: str) -> None:
        """Refuse every new order for ``symbol`` (403 insufficient buying power, 422 ...)."""
        self.refusals[symbol] = (status, message)

    def by_client_id(self, client_order_id: str) -> dict[str, Any]:
        return next(o for o in self.orders.values() if o["client_order_id"] == client_order_id)

    def posts(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and r.path == "/v2/orders")

    def fill(self, client_order_id: str, qty: str, price: str) -> dict[str, Any]:
        """The venue fills ``qty`` at ``price``: the order's cumulative quantity and average
        move, and a partial_fill or fill update goes out (or is lost, if nobody listens)."""
        with self._state:
            order = self.by_client_id(client_order_id)
            assert order["status"] in OPEN, f"cannot fill a {order['status']} order"
            before = Decimal(order["filled_qty"])
            avg = Decimal(order["filled_avg_price"] or "0")
            fill_qty, fill_price = Decimal(qty), Decimal(price)
            total = before + fill_qty
            order["filled_qty"] = str(total)
            order["filled_avg_price"] = str((before * avg + fill_qty * fill_price) / total)
            done = order["qty"] is not None and total >= Decimal(order["qty"])
            signed = fill_qty if order["side"] == "buy" else -fill_qty
            self.holdings[order["symbol"]] = self.holdings.get(order["symbol"], Decimal(0)) + signed
            self.prices[order["symbol"]] = fill_price
            order["status"] = "filled" if done else "partially_filled"
            order["updated_at"] = _now()
            if done:
                order["filled_at"] = order["updated_at"]
            update = {
                "event": "fill" if done else "partial_fill",
                "execution_id": str(uuid.uuid4()),
                "order": dict(order),
                "timestamp": order["updated_at"],
                "price": str(fill_price),
                "qty": str(fill_qty),
                "position_qty": str(total),
            }
        self.push(update)
        return update

    def hold(self, symbol: str, qty: str, price: str = "100") -> None:
        """The account holds ``qty`` more of ``symbol`` (negative: short) without any order
        of ours: a position from before, or an order placed in Alpaca's dashboard."""
        with self._state:
            self.holdings[symbol] = self.holdings.get(symbol, Decimal(0)) + Decimal(qty)
            self.prices.setdefault(symbol, Decimal(price))

    def cancel_at_venue(self, client_order_id: str) -> None:
        self._end(client_order_id, "canceled", "canceled_at")

    def expire(self, client_order_id: str) -> None:
        self._end(client_order_id, "expired", "expired_at")

    def _end(self, client_order_id: str, status: str, stamp: str) -> None:
        with self._state:
            order = self.by_client_id(client_order_id)
            order["status"] = status
            order["updated_at"] = order[stamp] = _now()
            update = {"event": status, "order": dict(order), "timestamp": order["updated_at"]}
        self.push(update)

    def push(self, update: dict[str, Any]) -> None:
        """Send one trade update to whoever listens now (Alpaca does not replay)."""
        message = {"stream": "trade_updates", "data": update}
        with self._state:
            listeners = list(self._listeners)
        if not listeners:
            self.lost.append(update)
            return
        for listener in listeners:
            listener.loop.call_soon_threadsafe(listener.queue.put_nowait, message)

    def push_raw(self, frame: bytes | str) -> None:
        """Send a frame as is (malformed input)."""
        for listener in list(self._listeners):
            listener.loop.call_soon_threadsafe(listener.queue.put_nowait, frame)

    def drop_stream(self) -> None:
        """Close every stream connection, as a network drop or a venue restart would."""
        with self._state:
            listeners = list(self._listeners)
            self._listeners.clear()
        for listener in listeners:
            listener.loop.call_soon_threadsafe(listener.queue.put_nowait, _DROP)

    @property
    def listening(self) -> int:
        return len(self._listeners)

    # --- REST ----------------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return (
            request.headers.get("APCA-API-KEY-ID") == self.key
            and request.headers.get("APCA-API-SECRET-KEY") == self.secret
        )

    def _guard(self, request: Request) -> Response | None:
        if (fault := self._record(request)) is not None:
            return fault
        if not self._authorised(request):
            return json_response(UNAUTHORIZED, 401)
        return None

    async def _orders(self, request: Request) -> Response:
        if (answer := self._guard(request)) is not None:
            return answer
        if request.method == "GET":
            wanted = request.query_params.get("status", "open")
            rows = [
                o
                for o in self.orders.values()
                if wanted == "all" or (o["status"] in OPEN) == (wanted == "open")
            ]
            return json_response(rows)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return json_response({"code": 40010000, "message": "request body is not JSON"}, 400)
        symbol = body.get("symbol")
        if symbol in self.refusals:
            status, message = self.refusals[symbol]
            return json_response({"code": status * 100000 + 1, "message": message}, status)
        coid = body.get("client_order_id") or str(uuid.uuid4())
        with self._state:
            if any(o["client_order_id"] == coid for o in self.orders.values()):
                return json_response(
                    {"code": 40010001, "message": "client_order_id must be unique"}, 422
                )
            order = self._new_order(body, coid)
        if self.auto_new:
            self._announce_new(order)
        return json_response(order)

    def _new_order(self, body: dict[str, Any], coid: str, replaces: str | None = None) -> dict:
        now = _now()
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": coid,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": replaces,
            "asset_id": "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415",
            "symbol": body["symbol"],
            "asset_class": "us_equity",
            "notional": _text(Decimal(str(body["notional"]))) if body.get("notional") else None,
            "qty": _text(Decimal(str(body["qty"]))) if body.get("qty") is not None else None,
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "simple",
            "order_type": body["type"],
            "type": body["type"],
            "side": body["side"],
            "time_in_force": body["time_in_force"],
            "limit_price": _text(Decimal(str(body["limit_price"])))
            if body.get("limit_price") is not None
            else None,
            "stop_price": _text(Decimal(str(body["stop_price"])))
            if body.get("stop_price") is not None
            else None,
            "status": "accepted",
            "extended_hours": False,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }
        self.orders[order["id"]] = order
        return order

    def _announce_new(self, order: dict[str, Any]) -> None:
        with self._state:
            if order["status"] != "accepted":
                return
            order["status"] = "new"
            order["updated_at"] = _now()
            update = {"event": "new", "order": dict(order), "timestamp": order["updated_at"]}
        self.push(update)

    async def _by_client_id(self, request: Request) -> Response:
        if (answer := self._guard(request)) is not None:
            return answer
        coid = request.query_params.get("client_order_id", "")
        found = [o for o in self.orders.values() if o["client_order_id"] == coid]
        return json_response(found[0]) if found else json_response(NOT_FOUND, 404)

    async def _order(self, request: Request) -> Response:
        if (answer := self._guard(request)) is not None:
            return answer
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return json_response(NOT_FOUND, 404)
        if request.method == "GET":
            return json_response(order)
        if request.method == "DELETE":
            if order["status"] not in OPEN:
                return json_response({"code": 42210000, "message": "order is not cancelable"}, 422)
            self.cancel_at_venue(order["client_order_id"])
            return Response(status_code=204)
        body = json.loads(await request.body())
        with self._state:
            if order["status"] not in OPEN:
                return json_response({"code": 42210000, "message": "order is not replaceable"}, 422)
            merged = {
                "symbol": order["symbol"],
                "side": order["side"],
                "type": order["type"],
                "qty": body.get("qty", order["qty"]),
                "time_in_force": body.get("time_in_force", order["time_in_force"]),
                "limit_price": body.get("limit_price", order["limit_price"]),
                "stop_price": body.get("stop_price", order["stop_price"]),
            }
            coid = body.get("client_order_id") or str(uuid.uuid4())
            new = self._new_order(merged, coid, replaces=order["id"])
            order["status"] = "replaced"
            order["replaced_by"] = new["id"]
            order["updated_at"] = order["replaced_at"] = _now()
            replaced = {"event": "replaced", "order": dict(order), "timestamp": order["updated_at"]}
        self.push(replaced)
        if self.auto_new:
            self._announce_new(new)
        return json_response(new)

    async def _positions(self, request: Request) -> Response:
        if (answer := self._guard(request)) is not None:
            return answer
        with self._state:
            held = [(s, q, self.prices.get(s, Decimal(0))) for s, q in self.holdings.items() if q]
        return json_response([_position(symbol, qty, price) for symbol, qty, price in held])

    # --- the trade_updates stream ----------------------------------------------------------------

    async def _stream(self, ws: WebSocket) -> None:
        await ws.accept()
        self.connections += 1
        listener: _Listener | None = None
        try:
            auth = json.loads(await ws.receive_text())
            data = auth.get("data") or {}
            wrong_keys = data.get("key_id") != self.key or data.get("secret_key") != self.secret
            if wrong_keys or self.block_stream:
                self.auth_failures += 1
                await ws.send_bytes(
                    json.dumps(
                        {
                            "stream": "authorization",
                            "data": {"status": "unauthorized", "action": "authenticate"},
                        }
                    ).encode()
                )
                await ws.close()
                return
            await ws.send_bytes(
                json.dumps(
                    {
                        "stream": "authorization",
                        "data": {"status": "authorized", "action": "authenticate"},
                    }
                ).encode()
            )
            listen = json.loads(await ws.receive_text())
            streams = (listen.get("data") or {}).get("streams") or []
            await ws.send_bytes(
                json.dumps({"stream": "listening", "data": {"streams": streams}}).encode()
            )
            if "trade_updates" not in streams:
                return
            listener = _Listener(asyncio.get_running_loop(), asyncio.Queue())
            with self._state:
                self._listeners.append(listener)
            # Watch the client too: when it goes, the handler must end (server shutdown waits).
            gone = asyncio.ensure_future(ws.receive())
            while True:
                getter = asyncio.ensure_future(listener.queue.get())
                await asyncio.wait({getter, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    return
                message = getter.result()
                if message is _DROP:
                    gone.cancel()
                    await ws.close()
                    return
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                elif isinstance(message, str):
                    await ws.send_text(message)
                else:
                    self.sent.append(message["data"])
                    await ws.send_bytes(json.dumps(message).encode())
        except WebSocketDisconnect:
            return
        finally:
            if listener is not None:
                with self._state:
                    if listener in self._listeners:
                        self._listeners.remove(listener)
