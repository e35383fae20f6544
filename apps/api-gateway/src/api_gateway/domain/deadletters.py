"""A dead letter: a message a subscriber could not handle, kept for inspection and redrive."""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime
from typing import Any

from trader_common.contracts import Contract

MAX_DEPTH = 32
"""A payload nested deeper than this is kept as text (so reading the log never recurses)."""


class DeadLetter(Contract):
    id: str
    received_at: datetime
    original_topic: str | None
    original_type: str | None
    payload: Any


def dead_letter_from_delivery(envelope: dict[str, Any], received_at: datetime) -> DeadLetter:
    """Unwrap what daprd delivered on the dead-letter topic (raw payload mode).

    The raw bytes are the message as it sat on the original topic: usually a CloudEvent JSON,
    but possibly anything at all, which is why it is kept as text when it is not JSON (or is
    JSON that cannot be served back as it is: not-finite numbers, or nested too deep). A
    ``data_base64`` that is not base64 is kept as it came.
    """
    raw: Any = envelope.get("data")
    if "data_base64" in envelope:
        raw = _decoded(envelope["data_base64"])
    if not _servable(raw):
        raw = _as_text(raw)
    original_topic = raw.get("topic") if isinstance(raw, dict) else None
    original_type = raw.get("type") if isinstance(raw, dict) else None
    given_id = envelope.get("id")
    letter_id = str(given_id) if isinstance(given_id, str | int) else ""
    if not _unicode(letter_id):
        letter_id = ""
    return DeadLetter(
        id=letter_id or f"dl-{received_at.timestamp()}",
        received_at=received_at,
        original_topic=original_topic if isinstance(original_topic, str) else None,
        original_type=original_type if isinstance(original_type, str) else None,
        payload=raw,
    )


def _decoded(data_base64: Any) -> Any:
    """The original message: its JSON when that can be served back as it is, else its text."""
    if not isinstance(data_base64, str):
        return data_base64
    try:
        raw_bytes = base64.b64decode(data_base64)
    except ValueError:  # binascii.Error: not base64 after all
        return data_base64
    try:
        value = json.loads(raw_bytes)
    except (ValueError, RecursionError):
        return raw_bytes.decode("utf-8", errors="replace")
    return value if _servable(value) else raw_bytes.decode("utf-8", errors="replace")


def _servable(value: Any) -> bool:
    """Whether ``value`` can be stored and served as JSON as it is: finite numbers and text
    that is valid Unicode (JSON can escape a lone surrogate, UTF-8 cannot hold one) only,
    nested at most ``MAX_DEPTH`` deep (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH or (isinstance(item, float) and not math.isfinite(item)):
            return False
        if isinstance(item, str) and not _unicode(item):
            return False
        if isinstance(item, dict):
            if not all(_unicode(key) for key in item):
                return False
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return True


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_text(value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=True)
    except (ValueError, RecursionError):
        return "<payload not readable as JSON>"
