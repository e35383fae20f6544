"""Event contracts for the five topics, and the schema registry."""

from .base import DEAD_LETTER_TOPIC, DECISION_REQUESTS_TOPIC, Contract, Event, Topic, utc_now
from .decisions import DecisionAction, DecisionMade
from .market import BarClosed, QuoteUpdated, TradePrinted
from .positions import PositionChanged
from .registry import (
    EVENT_TYPES,
    REGISTRY,
    EventDecodeError,
    decode_event,
    event_class,
    export_schemas,
    json_schema,
)
from .system import (
    ConnectorHealth,
    ConnectorHealthChanged,
    OperationalState,
    OperationalStateChanged,
    ServiceStarted,
    TradingState,
    TradingStateChanged,
)
from .trade import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderReplaced,
    OrderSide,
    OrderType,
    TimeInForce,
)

__all__ = [
    "DEAD_LETTER_TOPIC",
    "DECISION_REQUESTS_TOPIC",
    "EVENT_TYPES",
    "REGISTRY",
    "BarClosed",
    "ConnectorHealth",
    "ConnectorHealthChanged",
    "Contract",
    "DecisionAction",
    "DecisionMade",
    "Event",
    "EventDecodeError",
    "OperationalState",
    "OperationalStateChanged",
    "OrderAccepted",
    "OrderCanceled",
    "OrderExpired",
    "OrderFilled",
    "OrderPartiallyFilled",
    "OrderRejected",
    "OrderReplaced",
    "OrderSide",
    "OrderType",
    "PositionChanged",
    "QuoteUpdated",
    "ServiceStarted",
    "TimeInForce",
    "Topic",
    "TradePrinted",
    "TradingState",
    "TradingStateChanged",
    "decode_event",
    "event_class",
    "export_schemas",
    "json_schema",
    "utc_now",
]
