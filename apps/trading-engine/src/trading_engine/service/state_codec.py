"""JSON form of the engine state, for snapshots in a JSON store.

Generic over the state's dataclasses, driven by their type hints (so it follows the state as it
changes): Decimals as strings (exact), datetimes and dates in ISO 8601, UUIDs as strings, enums
by value, dicts as ``[key, value]`` pairs (keys keep their type and their insertion order,
which the engine relies on), sets and deques as lists. ``EngineState.working`` holds the same
``Order`` objects as ``orders``; it is stored as order ids and rebuilt from ``orders``, so the
decoded state shares them exactly as the live one does.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections import deque
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any
from uuid import UUID

from ..domain.orders import Order
from ..domain.state import EngineState

FORMAT = 1


class StateCodecError(ValueError):
    """A stored snapshot could not be read back."""


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
    if isinstance(value, dict):
        return [[_encode(k), _encode(v)] for k, v in value.items()]
    if isinstance(value, set | frozenset):
        return sorted((_encode(item) for item in value), key=str)
    if isinstance(value, tuple | list | deque):
        return [_encode(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise StateCodecError(f"cannot encode {type(value).__name__}: {value!r}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        return _decode(options[0], value)
    if origin is dict:
        key_kind, value_kind = args
        return {_decode(key_kind, k): _decode(value_kind, v) for k, v in value}
    if origin in (set, frozenset):
        return origin(_decode(args[0], item) for item in value)
    if origin is deque:
        return deque(_decode(args[0], item) for item in value)
    if origin is list:
        return [_decode(args[0], item) for item in value]
    if origin is tuple:
        return tuple(_decode(args[0], item) for item in value)
    if kind is Any or kind is type(None):
        return value
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
        fields = {f.name: f for f in dataclasses.fields(kind)}
        given = {name: _decode(hints[name], item) for name, item in value.items()}
        made = kind(**{k: v for k, v in given.items() if fields[k].init})
        for name, item in given.items():
            if not fields[name].init:
                object.__setattr__(made, name, item)
        return made
    return value


def encode_state(state: EngineState) -> dict[str, Any]:
    data = _encode(dataclasses.replace(state, working={}))
    data["working"] = [
        [symbol, [str(order_id) for order_id in book]] for symbol, book in state.working.items()
    ]
    return {"format": FORMAT, "state": data}


def decode_state(payload: dict[str, Any]) -> EngineState:
    try:
        if payload["format"] != FORMAT:
            raise StateCodecError(f"unknown snapshot format {payload['format']!r}")
        data = dict(payload["state"])
        working_ids = data.pop("working")
        state: EngineState = _decode(EngineState, {**data, "working": []})
        orders: dict[UUID, Order] = state.orders
        state.working = {
            symbol: {UUID(i): orders[UUID(i)] for i in ids} for symbol, ids in working_ids
        }
    except StateCodecError:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise StateCodecError(f"stored snapshot is malformed: {exc!r}") from None
    return state
