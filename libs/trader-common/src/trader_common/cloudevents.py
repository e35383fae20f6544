"""CloudEvents 1.0 (structured JSON mode) envelopes for platform events."""

from __future__ import annotations

from typing import Any

from .contracts import Event, EventDecodeError, decode_event

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"


def to_cloud_event(event: Event, source: str) -> dict[str, Any]:
    """The structured-mode CloudEvent for ``event``; ``source`` names the producing app."""
    return {
        "specversion": SPEC_VERSION,
        "id": str(event.event_id),
        "source": source,
        "type": event.cloud_event_type(),
        "time": event.ts_event.isoformat(),
        "subject": event.partition_key(),
        "partitionkey": event.partition_key(),
        "datacontenttype": "application/json",
        "data": event.payload(),
    }


def from_cloud_event(envelope: Any) -> Event:
    """Decode a delivered CloudEvent into its event model, or raise ``EventDecodeError``."""
    if not isinstance(envelope, dict):
        raise EventDecodeError(
            f"message is not a CloudEvent object (got {type(envelope).__name__})"
        )
    missing = [key for key in ("specversion", "id", "type", "source") if key not in envelope]
    if missing:
        raise EventDecodeError(f"CloudEvent is missing required attributes: {', '.join(missing)}")
    if envelope["specversion"] != SPEC_VERSION:
        raise EventDecodeError(f"unsupported CloudEvents specversion {envelope['specversion']!r}")
    if "data" not in envelope:
        raise EventDecodeError(
            f"CloudEvent {envelope['id']} of type {envelope['type']} has no data"
        )
    return decode_event(str(envelope["type"]), envelope["data"])
