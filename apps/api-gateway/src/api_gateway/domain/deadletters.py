"""A dead letter: a message a subscriber could not handle, kept for inspection and redrive."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from trader_common.contracts import Contract


class DeadLetter(Contract):
    id: str
    received_at: datetime
    original_topic: str | None
    original_type: str | None
    payload: Any


def dead_letter_from_delivery(envelope: dict[str, Any], received_at: datetime) -> DeadLetter:
    """Unwrap what daprd delivered on the dead-letter topic (raw payload mode).

    The raw bytes are the message as it sat on the original topic: usually a CloudEvent JSON,
    but possibly anything at all, which is why it is kept as text when it is not JSON.
    """
    raw: Any = envelope.get("data")
    if "data_base64" in envelope:
        raw_bytes = base64.b64decode(envelope["data_base64"])
        try:
            raw = json.loads(raw_bytes)
        except ValueError:
            raw = raw_bytes.decode("utf-8", errors="replace")
    original_topic = raw.get("topic") if isinstance(raw, dict) else None
    original_type = raw.get("type") if isinstance(raw, dict) else None
    return DeadLetter(
        id=str(envelope.get("id", "")) or f"dl-{received_at.timestamp()}",
        received_at=received_at,
        original_topic=original_topic,
        original_type=original_type,
        payload=raw,
    )
