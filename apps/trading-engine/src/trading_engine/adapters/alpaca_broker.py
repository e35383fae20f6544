"""Alpaca as the broker: orders through alpaca-py's ``TradingClient`` (paper API), trade updates
through its ``TradingStream``, both turned into ``BrokerReport``s.

``TradingClient`` is synchronous (requests): each call runs in a worker thread. It retries a
429 (and a 504) by itself, ``retry_attempts`` times, waiting ``retry_wait_seconds`` each time
(it does not read Retry-After); a 429 that outlasts that becomes ``BrokerUnavailableError``.
A 4xx is the broker's refusal (``BrokerRejectedError`` with its message). A resent POST that
Alpaca had already taken answers 422 "client_order_id must be unique": the order is then read
back by its client order id, so a retry never places it twice.

The stream is read with ``raw_data=True`` so that events alpaca-py's enum does not know
(done_for_day, order_cancel_rejected, ...) still arrive; every message is parsed here and what
does not parse is logged with the reason and skipped, never raised into the stream's loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import AssetClass, PositionSide
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import TimeInForce as AlpacaTif
from alpaca.trading.models import Order as AlpacaOrder
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    OrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopOrderRequest,
    TrailingStopOrderRequest,
)
from alpaca.trading.stream import TradingStream
from pydantic import ValidationError

from trader_common.contracts.trade import OrderStatus, OrderType

from ..domain.broker import BrokerReport
from ..domain.orders import OrderView
from ..service.ports import BrokerRejectedError, BrokerUnavailableError

log = logging.getLogger(__name__)

ReportHandler = Callable[[BrokerReport], Awaitable[None]]
ConnectHandler = Callable[[], Awaitable[Any]]

_FILL_EVENTS = ("fill", "partial_fill")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        # str() first: a float from the wire becomes its shortest decimal form, not its binary.
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _float(value: Decimal | None) -> float | None:
    # alpaca-py's request models take floats; short decimals survive the round trip exactly.
    return None if value is None else float(value)


def report_from_order(
    order: AlpacaOrder,
    *,
    event: str,
    ts: datetime | None = None,
    execution_id: str | None = None,
    fill_qty: Decimal | None = None,
    fill_price: Decimal | None = None,
) -> BrokerReport:
    """An Alpaca order (as alpaca-py parsed it) as a broker report. Raises ValueError for a
    status this engine does not know."""
    status = OrderStatus(getattr(order.status, "value", order.status))
    reason: str | None = None
    if status is OrderStatus.REJECTED:
        reason = f"Alpaca rejected the order ({event})"
    elif status is OrderStatus.CANCELED:
        reason = f"canceled at Alpaca ({event})"
    elif status is OrderStatus.EXPIRED:
        reason = f"expired at Alpaca ({event})"
    return BrokerReport(
        client_order_id=order.client_order_id,
        status=status,
        filled_qty=_decimal(order.filled_qty) or Decimal(0),
        ts=ts or order.updated_at,
        event=event,
        broker_order_id=str(order.id),
        filled_avg_price=_decimal(order.filled_avg_price),
        execution_id=execution_id,
        fill_qty=fill_qty,
        fill_price=fill_price,
        replaced_by=str(order.replaced_by) if order.replaced_by else None,
        reason=reason,
    )


def report_from_trade_update(data: Any) -> BrokerReport:
    """The ``data`` of a trade_updates message as a report; ValueError says why it is not one."""
    if not isinstance(data, dict):
        raise ValueError("trade update data is not an object")
    event = data.get("event")
    if not isinstance(event, str) or not event:
        raise ValueError("trade update without an event")
    raw_order = data.get("order")
    if not isinstance(raw_order, dict):
        raise ValueError(f"{event} update without an order")
    try:
        order = AlpacaOrder(**raw_order)
    except (ValidationError, TypeError) as exc:
        raise ValueError(f"{event} update with an order alpaca-py cannot read: {exc}") from None
    ts: datetime | None = None
    if isinstance(data.get("timestamp"), str):
        try:
            ts = datetime.fromisoformat(data["timestamp"].replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{event} update with a bad timestamp") from None
    if ts is not None and ts.tzinfo is None:
        raise ValueError(f"{event} update timestamp has no timezone")
    fill_qty = fill_price = None
    execution_id = None
    if event in _FILL_EVENTS:
        fill_qty, fill_price = _decimal(data.get("qty")), _decimal(data.get("price"))
        execution_id = str(data["execution_id"]) if data.get("execution_id") else None
    return report_from_order(
        order,
        event=event,
        ts=ts,
        execution_id=execution_id,
        fill_qty=fill_qty,
        fill_price=fill_price,
    )


def order_request(order: OrderView) -> OrderRequest:
    """alpaca-py's request for one of our simple orders (client order id = ours)."""
    common: dict[str, Any] = {
        "symbol": order.symbol,
        "side": AlpacaSide(order.side.value),
        "time_in_force": AlpacaTif(order.time_in_force.value),
        "client_order_id": order.client_order_id,
    }
    if order.notional is not None:
        common["notional"] = _float(order.notional)
    else:
        common["qty"] = _float(order.qty)
    kind = order.order_type
    if kind is OrderType.MARKET:
        return MarketOrderRequest(**common)
    if kind is OrderType.LIMIT:
        return LimitOrderRequest(**common, limit_price=_float(order.limit_price))
    if kind is OrderType.STOP:
        return StopOrderRequest(**common, stop_price=_float(order.stop_price))
    if kind is OrderType.STOP_LIMIT:
        return StopLimitOrderRequest(
            **common, stop_price=_float(order.stop_price), limit_price=_float(order.limit_price)
        )
    return TrailingStopOrderRequest(
        **common, trail_price=_float(order.trail_price), trail_percent=_float(order.trail_percent)
    )


def replace_request(new: OrderView) -> ReplaceOrderRequest:
    qty = new.qty
    if qty is not None and qty != qty.to_integral_value():
        raise ValueError(f"Alpaca replaces whole quantities only, not {qty}")
    trail = new.trail_price if new.trail_price is not None else new.trail_percent
    return ReplaceOrderRequest(
        qty=int(qty) if qty is not None else None,
        time_in_force=AlpacaTif(new.time_in_force.value),
        limit_price=_float(new.limit_price),
        stop_price=_float(new.stop_price),
        trail=_float(trail) if new.order_type is OrderType.TRAILING_STOP else None,
        client_order_id=new.client_order_id,
    )


# Alpaca names crypto pairs "BTC/USD" in orders but "BTCUSD" in positions.
_CRYPTO_QUOTES = ("USDT", "USDC", "USD", "BTC")


def position_symbol(position: AlpacaPosition) -> str:
    """Our symbol for an Alpaca position: crypto pairs get their slash back."""
    symbol = position.symbol
    if position.asset_class is AssetClass.CRYPTO and "/" not in symbol:
        for quote in _CRYPTO_QUOTES:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return f"{symbol[: -len(quote)]}/{quote}"
    return symbol


def positions_from(found: Any) -> dict[str, Decimal]:
    """Signed quantities by our symbol from ``get_all_positions``; a position whose quantity
    does not read is an unreadable answer, not a flat one."""
    if not isinstance(found, list):
        raise ValueError("the positions answer is not a list")
    positions: dict[str, Decimal] = {}
    for position in found:
        if not isinstance(position, AlpacaPosition):
            raise ValueError(f"not a position: {position!r:.80}")
        qty = _decimal(position.qty)
        if qty is None or not qty.is_finite():
            raise ValueError(f"position {position.symbol} has no quantity: {position.qty!r}")
        # Alpaca sends shorts with a negative qty and side short; trust the side either way.
        signed = -abs(qty) if position.side is PositionSide.SHORT else abs(qty)
        if signed:
            symbol = position_symbol(position)
            positions[symbol] = positions.get(symbol, Decimal(0)) + signed
    return positions


def _message(error: APIError) -> str:
    try:
        body = json.loads(str(error))
    except ValueError:
        return str(error)[:300] or "no message"
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(error)[:300]


class AlpacaBroker:
    """The ``Broker`` port over alpaca-py's TradingClient (paper API unless ``url_override``)."""

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        url_override: str | None = None,
        retry_attempts: int = 3,
        retry_wait_seconds: float = 3.0,
    ) -> None:
        self._client = TradingClient(api_key, secret_key, paper=True, url_override=url_override)
        # TradingClient does not pass the retry settings on to RESTClient: set them directly.
        self._client._retry = retry_attempts
        self._client._retry_wait = retry_wait_seconds  # type: ignore[assignment]
        self._attempts = retry_attempts + 1

    def _translate(self, error: APIError, what: str) -> Exception:
        status = error.status_code
        message = _message(error)
        if status == 429:
            return BrokerUnavailableError(
                f"Alpaca rate-limited {what} (HTTP 429 after {self._attempts} attempts): {message}"
            )
        if status is None or status >= 500:
            return BrokerUnavailableError(f"Alpaca failed on {what} (HTTP {status}): {message}")
        return BrokerRejectedError(f"Alpaca refused {what}: {message}", status=status)

    async def _call(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except APIError as error:
            raise self._translate(error, what) from None
        except requests.RequestException as error:
            raise BrokerUnavailableError(f"Alpaca unreachable on {what}: {error}") from None
        except (ValidationError, ValueError, TypeError) as error:
            # A 2xx whose body is not the documented JSON: we cannot tell what happened.
            raise BrokerUnavailableError(f"Alpaca answered {what} unreadably: {error}") from None

    async def submit(self, order: OrderView) -> BrokerReport:
        try:
            request = order_request(order)
        except (ValidationError, ValueError) as error:
            raise BrokerRejectedError(f"not an order Alpaca takes: {error}") from None
        try:
            placed = await self._call("the order", self._client.submit_order, request)
        except BrokerRejectedError as refused:
            if refused.status == 422 and "client_order_id" in refused.reason:
                # Our earlier attempt got through (a retried POST): read it back.
                known = await self.get(order.client_order_id)
                if known is not None:
                    return known
            raise
        return self._report(placed, "submitted")

    async def replace(self, broker_order_id: str, new: OrderView) -> BrokerReport:
        try:
            request = replace_request(new)
        except (ValidationError, ValueError) as error:
            raise BrokerRejectedError(f"not a replace Alpaca takes: {error}") from None
        placed = await self._call(
            "the replace", self._client.replace_order_by_id, broker_order_id, request
        )
        return self._report(placed, "replace submitted")

    async def cancel(self, broker_order_id: str) -> None:
        await self._call("the cancel", self._client.cancel_order_by_id, broker_order_id)

    async def get(self, client_order_id: str) -> BrokerReport | None:
        try:
            found = await self._call(
                "the order lookup", self._client.get_order_by_client_id, client_order_id
            )
        except BrokerRejectedError as refused:
            if refused.status == 404:
                return None
            raise BrokerUnavailableError(refused.reason) from None
        return self._report(found, "reconciled")

    async def positions(self) -> dict[str, Decimal]:
        found = await self._call("the positions", self._client.get_all_positions)
        try:
            return positions_from(found)
        except ValueError as error:
            raise BrokerUnavailableError(
                f"Alpaca answered the positions unreadably: {error}"
            ) from None

    def _report(self, order: Any, event: str) -> BrokerReport:
        if not isinstance(order, AlpacaOrder):
            raise BrokerUnavailableError(f"Alpaca answered {event} without an order")
        try:
            return report_from_order(order, event=event)
        except ValueError as error:
            raise BrokerUnavailableError(f"Alpaca answered {event} unreadably: {error}") from None


class _Stream(TradingStream):
    """alpaca-py's TradingStream, telling us each time it has (re)connected and listens."""

    def __init__(self, *args: Any, on_connect: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_connect = on_connect
        self.connections = 0

    async def _start_ws(self) -> None:
        await super()._start_ws()  # type: ignore[no-untyped-call]
        self.connections += 1
        self._on_connect()  # schedules; must not block the reading of the stream


class AlpacaTradeUpdates:
    """Reads Alpaca's trade_updates stream into ``on_report``; after every (re)connect calls
    ``on_connect`` (reconciliation: Alpaca does not replay what was sent while we were away).
    alpaca-py reconnects by itself with backoff."""

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        on_report: ReportHandler,
        on_connect: ConnectHandler,
        url_override: str | None = None,
        reconnect_backoff: float | None = None,
    ) -> None:
        self._on_report = on_report
        self._reconnected = on_connect
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stream = _Stream(
            api_key,
            secret_key,
            paper=True,
            raw_data=True,
            url_override=url_override,
            on_connect=self._connected,
        )
        if reconnect_backoff is not None:  # alpaca-py's default is 1 s, doubling to 30 s
            self._stream._reconnect_min_backoff = reconnect_backoff
        self._stream.subscribe_trade_updates(self._handle)
        self.skipped = 0  # messages that could not be read (logged)

    @property
    def connections(self) -> int:
        return self._stream.connections

    def _connected(self) -> None:
        task = asyncio.get_running_loop().create_task(self._reconcile())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reconcile(self) -> None:
        try:
            await self._reconnected()
        except Exception:
            log.exception("reconciliation after the stream connected failed")

    async def _handle(self, message: Any) -> None:
        try:
            data = message.get("data") if isinstance(message, dict) else None
            report = report_from_trade_update(data)
        except ValueError as error:
            self.skipped += 1
            log.warning("skipped an Alpaca trade update: %s", error)
            return
        await self._on_report(report)

    async def run(self) -> None:
        """Read until ``stop``. alpaca-py's ``run()`` starts its own event loop; this runs the
        same loop body inside ours, so reports are applied on the service's loop."""
        await self._stream._run_forever()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        await self._stream.stop_ws()
        await self._stream.close()
        for task in list(self._tasks):
            task.cancel()
