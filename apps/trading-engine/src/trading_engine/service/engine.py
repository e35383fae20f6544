"""TradingEngine: the in-process use case. Commands and market events in, domain events out.

It owns the domain core and gives it what a pure domain cannot get itself: the time (a Clock),
ids, and the trading session of each asset's exchange (a SessionCalendar). It is synchronous
and does no I/O; ``TradingService`` adds persistence and publishing around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from uuid import UUID

from trader_common.contracts import BarClosed, Event, QuoteUpdated
from trader_common.contracts.trade import OrderStatus

from ..domain.assets import AssetRegistry
from ..domain.broker import BrokerReport
from ..domain.commands import (
    CancelAllOrders,
    CancelOrder,
    ClosePosition,
    HaltTrading,
    ReplaceOrder,
    ResumeTrading,
    SubmitOrder,
)
from ..domain.core import AccountConfig, ExchangeConfig, Outcome, ReportOutcome, TradingCore
from ..domain.errors import TradingDomainError
from ..domain.events import DomainEvent
from ..domain.market import Bar, Quote
from ..domain.orders import OrderView
from ..domain.risk import RiskLimits
from ..domain.sessions import ALWAYS_OPEN_SESSION, Session
from ..domain.state import EngineState
from ..domain.views import AccountView, PositionView, account_view, position_view, position_views
from .clock import MarketClock, random_ids
from .ports import Clock, SessionCalendar

Command = (
    SubmitOrder
    | ReplaceOrder
    | CancelOrder
    | CancelAllOrders
    | ClosePosition
    | ResumeTrading
    | HaltTrading
)


class _SessionCache:
    """Remembers the last session per calendar: asking the calendar once per session instead
    of once per order keeps the hot path fast."""

    def __init__(self, calendar: SessionCalendar) -> None:
        self._calendar = calendar
        self._cached: dict[str, tuple[datetime, Session]] = {}

    def session(self, calendar_name: str, ts: datetime) -> Session:
        cached = self._cached.get(calendar_name)
        if cached is not None:
            asked_at, session = cached
            if asked_at <= ts < session.close:
                return session
        session = self._calendar.session_at_or_after(calendar_name, ts)
        self._cached[calendar_name] = (ts, session)
        return session


class TradingEngine:
    def __init__(
        self,
        *,
        assets: AssetRegistry,
        calendar: SessionCalendar,
        clock: Clock,
        exchange: ExchangeConfig | None = None,
        risk: RiskLimits | None = None,
        day_timezone: tzinfo | None = None,
        ids: Callable[[], UUID] | None = None,
        state: EngineState | None = None,
        external: bool = False,
    ) -> None:
        self._clock = clock
        self._sessions = _SessionCache(calendar)
        self.assets = assets
        self.core = TradingCore(
            assets=assets,
            ids=ids or random_ids(),
            exchange=exchange,
            risk=risk,
            day_timezone=day_timezone or UTC,
            state=state,
            external=external,
        )

    # -- state --------------------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        return self.core.state

    @property
    def version(self) -> int:
        return self.core.state.version

    def load(self, state: EngineState, events: Iterable[DomainEvent] = ()) -> None:
        """Replace the state (a snapshot, say) and apply the events that followed it."""
        state.apply_all(events)
        self.core.state = state

    def new_state(self) -> EngineState:
        return EngineState(rate_memory=self.core.risk.rate_memory)

    def _session(self, symbol: str, ts: datetime) -> Session:
        asset = self.assets.get(symbol)
        if asset is None or asset.around_the_clock:
            return ALWAYS_OPEN_SESSION
        return self._sessions.session(asset.calendar, ts)

    # -- commands -----------------------------------------------------------------------------

    def open_account(self, config: AccountConfig) -> list[DomainEvent]:
        return self.core.open_account(config, self._clock.now())

    def submit_order(self, cmd: SubmitOrder) -> Outcome:
        now = self._clock.now()
        return self.core.submit(cmd, now, self._session(cmd.symbol, now))

    def replace_order(self, cmd: ReplaceOrder) -> Outcome:
        now = self._clock.now()
        order = self.state.orders.get(cmd.order_id)
        symbol = order.symbol if order is not None else ""
        return self.core.replace_order(cmd, now, self._session(symbol, now))

    def cancel_order(self, cmd: CancelOrder) -> Outcome:
        return self.core.cancel_order(cmd, self._clock.now())

    def cancel_all_orders(self, cmd: CancelAllOrders) -> Outcome:
        return self.core.cancel_all(cmd, self._clock.now())

    def close_position(self, cmd: ClosePosition) -> Outcome:
        now = self._clock.now()
        return self.core.close_position(cmd, now, self._session(cmd.symbol, now))

    def resume_trading(self, cmd: ResumeTrading) -> Outcome:
        return self.core.resume(cmd, self._clock.now())

    def halt_trading(self, cmd: HaltTrading) -> Outcome:
        return self.core.halt(cmd, self._clock.now())

    def execute(self, cmd: Command) -> Outcome:
        """Run any command (for adapters that receive commands generically)."""
        match cmd:
            case SubmitOrder():
                return self.submit_order(cmd)
            case ReplaceOrder():
                return self.replace_order(cmd)
            case CancelOrder():
                return self.cancel_order(cmd)
            case CancelAllOrders():
                return self.cancel_all_orders(cmd)
            case ClosePosition():
                return self.close_position(cmd)
            case ResumeTrading():
                return self.resume_trading(cmd)
            case HaltTrading():
                return self.halt_trading(cmd)
        raise TradingDomainError(f"unknown command {type(cmd).__name__}")

    def apply_report(self, report: BrokerReport) -> ReportOutcome:
        """Apply a broker's report on one of our orders (external execution)."""
        return self.core.apply_report(report, self._clock.now())

    # -- market data --------------------------------------------------------------------------

    def on_quote(self, event: QuoteUpdated) -> list[DomainEvent]:
        quote = Quote(
            event.symbol,
            event.bid,
            event.ask,
            event.bid_size,
            event.ask_size,
            event.ts_event,
            event.event_id,
        )
        return self.core.on_quote(quote, self._session(quote.symbol, quote.ts), self._clock.now())

    def on_bar(self, event: BarClosed) -> list[DomainEvent]:
        bar = Bar(
            event.symbol,
            event.timeframe,
            event.ts_open,
            event.ts_event,
            event.open,
            event.high,
            event.low,
            event.close,
            event.volume,
            event.event_id,
        )
        return self.core.on_bar(bar, self._session(bar.symbol, bar.ts_open), self._clock.now())

    def on_market_event(self, event: Event) -> list[DomainEvent]:
        """Quotes and bars drive marks and fills; other market events change nothing."""
        if isinstance(self._clock, MarketClock) and isinstance(event, QuoteUpdated | BarClosed):
            self._clock.observe(event.ts_event)
        if isinstance(event, QuoteUpdated):
            return self.on_quote(event)
        if isinstance(event, BarClosed):
            return self.on_bar(event)
        return []

    def advance_clock(self, ts: datetime | None = None) -> list[DomainEvent]:
        """Let time pass (a timer calls this): day orders expire at the close, cls orders fill,
        a new risk day starts."""
        now = self._clock.now()
        return self.core.advance_clock(ts or now, now)

    # -- queries ------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The engine's time (wall time, or market time with a ``MarketClock``)."""
        return self._clock.now()

    def order(self, order_id: UUID) -> OrderView | None:
        order = self.state.orders.get(order_id)
        return None if order is None else order.view()

    def order_by_client_id(self, client_order_id: str) -> OrderView | None:
        order = self.state.order_by_client_id(client_order_id)
        return None if order is None else order.view()

    def orders(
        self,
        *,
        open_only: bool = False,
        symbol: str | None = None,
        status: OrderStatus | None = None,
    ) -> list[OrderView]:
        return [
            order.view()
            for order in self.state.orders.values()
            if (not open_only or order.is_open)
            and (symbol is None or order.symbol == symbol)
            and (status is None or order.status is status)
        ]

    def position(self, symbol: str) -> PositionView | None:
        return position_view(self.state, symbol)

    def positions(self, *, include_flat: bool = False) -> list[PositionView]:
        return position_views(self.state, include_flat=include_flat)

    def account(self) -> AccountView:
        return account_view(self.state)
