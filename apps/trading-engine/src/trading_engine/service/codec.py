"""JSON form of the domain events, for event stores that keep JSON.

An event becomes ``{"type": "OrderFilled", "data": {...}}``: Decimals as strings (exact),
datetimes and dates in ISO 8601, UUIDs as strings, enums by value, tickets as objects. Decoding
reads the field types from the event classes, so the two always agree.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID

from ..domain import events as domain_events
from ..domain.events import DomainEvent

EVENT_CLASSES: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in vars(domain_events).values()
    if isinstance(cls, type)
    and issubclass(cls, DomainEvent)
    and cls.__module__ == domain_events.__name__
}


class EventCodecError(ValueError):
    """A stored event could not be read back."""


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise EventCodecError(f"cannot encode {type(value).__name__}: {value!r}")


def encode_event(event: DomainEvent) -> dict[str, Any]:
    return {"type": type(event).__name__, "data": _encode(event)}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _decode(options[0], value)
    if origin is tuple:
        (item_kind, _) = typing.get_args(kind)
        return tuple(_decode(item_kind, item) for item in value)
    if kind is Decimal:
        return Decimal(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is UUID:
        return UUID(value)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{name: _decode(hints[name], item) for name, item in value.items()})
    return value


def decode_event(payload: dict[str, Any]) -> DomainEvent:
    try:
        cls = EVENT_CLASSES[payload["type"]]
        event: DomainEvent = _decode(cls, payload["data"])
    except KeyError as missing:
        raise EventCodecError(f"stored event lacks {missing} or names an unknown type") from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise EventCodecError(f"stored {payload.get('type')!r} event is malformed: {exc}") from None
    return event
