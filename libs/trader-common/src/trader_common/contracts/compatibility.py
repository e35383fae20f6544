"""Backward-compatibility check between a committed JSON Schema and the current one.

Backward compatible means: every message valid under the old schema is still read correctly by
consumers built on the new one, and old consumers still find every field they relied on. So:
no property removed, no new required property, no type narrowed or changed, no enum value
removed, no constraint tightened on a field that existed. New optional properties are fine.
A breaking change needs a new event version (``...v2``) instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _raised(old: Any, new: Any) -> bool:
    return bool(new > old)


def _lowered(old: Any, new: Any) -> bool:
    return bool(new < old)


# For each bound: is the new value tighter than the old one?
_BOUND_TIGHTER: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": _raised,
    "exclusiveMinimum": _raised,
    "maximum": _lowered,
    "exclusiveMaximum": _lowered,
    "minLength": _raised,
    "maxLength": _lowered,
}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
        return resolved
    return schema


def _types(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        out: set[str] = set()
        for option in schema["anyOf"]:
            out |= _types(option, root)
        return out
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind is None:
        return {"any"}
    kinds = kind if isinstance(kind, list) else [kind]
    return {f"{k}:{fmt}" if fmt else str(k) for k in kinds}


def _enum(schema: dict[str, Any], root: dict[str, Any]) -> set[Any] | None:
    schema = _resolve(schema, root)
    if "enum" in schema:
        return set(schema["enum"])
    if "const" in schema:
        return {schema["const"]}
    return None


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Reasons why ``new`` is not backward compatible with ``old`` (empty when compatible)."""
    problems: list[str] = []
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    old_required = set(old.get("required", []))
    new_required = set(new.get("required", []))

    for name in sorted(set(old_props) - set(new_props)):
        problems.append(f"property {name!r} was removed")
    for name in sorted(new_required - old_required):
        problems.append(f"property {name!r} became required")
    for name in sorted(set(old_props) & set(new_props)):
        old_p, new_p = old_props[name], new_props[name]
        old_t, new_t = _types(old_p, old), _types(new_p, new)
        if "any" not in new_t and not old_t <= new_t:
            problems.append(
                f"property {name!r} changed type from {sorted(old_t)} to {sorted(new_t)}"
            )
        old_e, new_e = _enum(old_p, old), _enum(new_p, new)
        if old_e is not None and new_e is not None and not old_e <= new_e:
            problems.append(f"property {name!r} lost enum values {sorted(old_e - new_e)}")
        if old_e is None and new_e is not None:
            problems.append(f"property {name!r} was restricted to an enum")
        old_r, new_r = _resolve(old_p, old), _resolve(new_p, new)
        for bound, tighter in _BOUND_TIGHTER.items():
            if bound in new_r and (bound not in old_r or tighter(old_r[bound], new_r[bound])):
                problems.append(f"property {name!r} has a tighter {bound}")
        if new_r.get("pattern") != old_r.get("pattern") and "pattern" in new_r:
            problems.append(f"property {name!r} changed its pattern")
    if old.get("additionalProperties") is not False and new.get("additionalProperties") is False:
        problems.append("additional properties are no longer allowed")
    return problems
