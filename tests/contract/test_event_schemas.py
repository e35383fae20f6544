"""The schema registry: committed JSON Schemas vs the current event models."""

from __future__ import annotations

import json

import pytest

from trader_common.contracts.compatibility import breaking_changes
from trader_common.contracts.registry import EVENT_TYPES, SCHEMA_DIR, json_schema, schema_path


@pytest.mark.parametrize("event_cls", EVENT_TYPES, ids=lambda c: c.cloud_event_type())
def test_event_schema_current_model_is_backward_compatible_with_committed(event_cls: type) -> None:
    path = schema_path(event_cls)
    assert path.exists(), (
        f"no committed schema for {event_cls.cloud_event_type()}: run `trader schemas export`"
    )
    problems = breaking_changes(json.loads(path.read_text()), json_schema(event_cls))
    assert problems == [], f"{event_cls.cloud_event_type()} broke compatibility: {problems}"


def test_event_schema_every_committed_schema_has_a_model() -> None:
    known = {schema_path(cls).name for cls in EVENT_TYPES}
    orphans = sorted(p.name for p in SCHEMA_DIR.glob("*.json") if p.name not in known)
    assert orphans == [], (
        f"committed schemas without a model (an event type was removed): {orphans}"
    )


def test_event_schema_types_are_versioned_cloudevent_types() -> None:
    for cls in EVENT_TYPES:
        assert cls.cloud_event_type().startswith("ai.active-trader.")
        assert cls.cloud_event_type().rsplit(".", 1)[1].startswith("v")
