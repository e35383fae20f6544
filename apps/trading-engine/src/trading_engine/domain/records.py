"""``record``: a frozen, slotted, keyword-only dataclass with a cheaper constructor.

A frozen dataclass's generated ``__init__`` stores each field with ``object.__setattr__`` (it
must bypass its own ``__setattr__``, which refuses writes). That costs more than half the time
of building an event, and the engine builds several events per order. The same write through
the slot's own descriptor is about twice as fast, and still bypasses the frozen
``__setattr__``. Everything else (frozen writes refused, eq, hash, repr, ``dataclasses.replace``,
copy and pickle) is the dataclass's own.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")


def _slot_setter(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        member = klass.__dict__.get(name)
        if member is not None and hasattr(member, "__set__"):
            return member.__set__
    raise TypeError(f"{cls.__name__}.{name} is not a slot")


@dataclass_transform(frozen_default=True, kw_only_default=True)
def record(cls: type[T]) -> type[T]:
    built: type[T] = dataclasses.dataclass(frozen=True, slots=True, kw_only=True)(cls)
    fields = dataclasses.fields(built)  # type: ignore[arg-type]
    namespace: dict[str, Any] = {}
    params = []
    lines = []
    for field in fields:
        if field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{built.__name__}.{field.name}: record fields take no factories")
        namespace[f"_set_{field.name}"] = _slot_setter(built, field.name)
        if field.default is dataclasses.MISSING:
            params.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            params.append(f"{field.name}=_default_{field.name}")
        lines.append(f"    _set_{field.name}(self, {field.name})")
    if hasattr(built, "__post_init__"):
        lines.append("    self.__post_init__()")
    source = f"def __init__(self, *, {', '.join(params)}):\n" + "\n".join(lines or ["    pass"])
    local: dict[str, Any] = {}
    exec(source, namespace, local)  # the same technique dataclasses itself uses
    init = local["__init__"]
    init.__qualname__ = f"{built.__qualname__}.__init__"
    built.__init__ = init  # type: ignore[method-assign]
    return built
