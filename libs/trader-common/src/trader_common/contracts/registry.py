"""The schema registry: every event type, its CloudEvent type string and its JSON Schema.

Decoding an incoming CloudEvent goes through here, so an unknown type or a payload that breaks
its schema is reported with a reason a person can act on (and the message dead-lettered).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .base import Event
from .decisions import DecisionMade
from .market import BarClosed, QuoteUpdated, TradePrinted
from .positions import PositionChanged
from .system import (
    BrokerPositionsDiverged,
    BrokerPositionsRealigned,
    ConnectorHealthChanged,
    OperationalStateChanged,
    ServiceStarted,
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
)

EVENT_TYPES: tuple[type[Event], ...] = (
    QuoteUpdated,
    TradePrinted,
    BarClosed,
    OrderAccepted,
    OrderRejected,
    OrderPartiallyFilled,
    OrderFilled,
    OrderCanceled,
    OrderExpired,
    OrderReplaced,
    DecisionMade,
    PositionChanged,
    ServiceStarted,
    TradingStateChanged,
    ConnectorHealthChanged,
    OperationalStateChanged,
    BrokerPositionsDiverged,
    BrokerPositionsRealigned,
)

REGISTRY: Mapping[str, type[Event]] = {cls.cloud_event_type(): cls for cls in EVENT_TYPES}

SCHEMA_DIR = Path(__file__).with_name("schemas")


class EventDecodeError(ValueError):
    """An incoming message is not an event this platform knows how to read."""


def event_class(cloud_event_type: str) -> type[Event]:
    try:
        return REGISTRY[cloud_event_type]
    except KeyError:
        raise EventDecodeError(f"unknown event type {cloud_event_type!r}") from None


def decode_event(cloud_event_type: str, data: Any) -> Event:
    """Validate ``data`` against the model registered for ``cloud_event_type``."""
    cls = event_class(cloud_event_type)
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise EventDecodeError(f"{cloud_event_type}: data is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise EventDecodeError(
            f"{cloud_event_type}: data must be a JSON object, got {type(data).__name__}"
        )
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise EventDecodeError(f"{cloud_event_type}: schema violation: {problems}") from None


def json_schema(cls: type[Event]) -> dict[str, Any]:
    schema = cls.model_json_schema(mode="serialization")
    schema["$id"] = cls.cloud_event_type()
    schema["x-topic"] = str(cls.topic)
    schema["x-partition-key"] = cls.partition_field
    return schema


def schema_path(cls: type[Event], directory: Path = SCHEMA_DIR) -> Path:
    return directory / f"{cls.cloud_event_type()}.json"


def export_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write the JSON Schema of every event type; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for cls in EVENT_TYPES:
        path = schema_path(cls, directory)
        path.write_text(json.dumps(json_schema(cls), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
