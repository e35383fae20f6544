from __future__ import annotations

from typing import Any

from trader_common.contracts.compatibility import breaking_changes


def schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required or [],
        "additionalProperties": False,
    }


BASE = schema(
    {
        "symbol": {"type": "string", "maxLength": 32},
        "side": {"enum": ["buy", "sell"]},
        "qty": {"type": "string", "format": "decimal"},
    },
    ["symbol"],
)


def test_compatibility_new_optional_property_is_compatible() -> None:
    new = schema({**BASE["properties"], "note": {"type": "string"}}, ["symbol"])
    assert breaking_changes(BASE, new) == []


def test_compatibility_removed_property_is_breaking() -> None:
    props = dict(BASE["properties"])
    del props["qty"]
    assert breaking_changes(BASE, schema(props, ["symbol"])) == ["property 'qty' was removed"]


def test_compatibility_newly_required_property_is_breaking() -> None:
    assert breaking_changes(BASE, schema(BASE["properties"], ["symbol", "qty"])) == [
        "property 'qty' became required"
    ]


def test_compatibility_changed_type_is_breaking() -> None:
    props = {**BASE["properties"], "qty": {"type": "number"}}
    problems = breaking_changes(BASE, schema(props, ["symbol"]))
    assert len(problems) == 1
    assert "changed type" in problems[0]


def test_compatibility_removed_enum_value_is_breaking_and_added_one_is_not() -> None:
    narrower = {**BASE["properties"], "side": {"enum": ["buy"]}}
    wider = {**BASE["properties"], "side": {"enum": ["buy", "sell", "short"]}}
    assert breaking_changes(BASE, schema(narrower, ["symbol"])) == [
        "property 'side' lost enum values ['sell']"
    ]
    assert breaking_changes(BASE, schema(wider, ["symbol"])) == []


def test_compatibility_tightened_bound_is_breaking_and_loosened_is_not() -> None:
    tighter = {**BASE["properties"], "symbol": {"type": "string", "maxLength": 8}}
    looser = {**BASE["properties"], "symbol": {"type": "string", "maxLength": 64}}
    assert breaking_changes(BASE, schema(tighter, ["symbol"])) == [
        "property 'symbol' has a tighter maxLength"
    ]
    assert breaking_changes(BASE, schema(looser, ["symbol"])) == []


def test_compatibility_resolves_refs_to_defs() -> None:
    old = {
        "properties": {"side": {"$ref": "#/$defs/Side"}},
        "$defs": {"Side": {"enum": ["buy", "sell"]}},
    }
    new = {"properties": {"side": {"$ref": "#/$defs/Side"}}, "$defs": {"Side": {"enum": ["buy"]}}}
    assert breaking_changes(old, new) == ["property 'side' lost enum values ['sell']"]
