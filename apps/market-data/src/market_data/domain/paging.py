"""Opaque page tokens for bar range queries.

A token carries the open time of the last bar served and a fingerprint of the query it belongs
to, so a token replayed against a different symbol, timeframe or range is refused rather than
silently skipping data.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from .normalise import MalformedPayloadError, to_utc
from .timeframes import Timeframe


class InvalidPageTokenError(ValueError):
    """A page token that is corrupt or belongs to another query."""


@dataclass(frozen=True, slots=True)
class BarQuery:
    symbol: str
    timeframe: Timeframe
    start: datetime
    end: datetime

    def fingerprint(self) -> str:
        text = f"{self.symbol}|{self.timeframe}|{self.start.isoformat()}|{self.end.isoformat()}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_page_token(query: BarQuery, after: datetime) -> str:
    body = json.dumps(
        {"v": 1, "q": query.fingerprint(), "after": after.isoformat(), "end": query.end.isoformat()}
    )
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def _body(token: str) -> dict[str, object]:
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise InvalidPageTokenError("page_token is not a token this service issued") from None
    if not isinstance(body, dict) or body.get("v") != 1 or "after" not in body:
        raise InvalidPageTokenError("page_token is not a token this service issued")
    return body


def page_token_end(token: str) -> datetime | None:
    """The end of the query a token was issued for, so a follow-up request that leaves ``end``
    to its default (now) continues the same range. ``None`` for an unreadable token (which
    ``decode_page_token`` then refuses with the reason)."""
    try:
        return to_utc(_body(token).get("end"), "end")
    except (InvalidPageTokenError, MalformedPayloadError):
        return None


def decode_page_token(token: str, query: BarQuery) -> datetime:
    """The open time after which the next page starts."""
    body = _body(token)
    if body.get("q") != query.fingerprint():
        raise InvalidPageTokenError(
            "page_token belongs to a different query (symbol, timeframe, start or end changed)"
        )
    try:
        return to_utc(body["after"], "page_token")
    except MalformedPayloadError:
        raise InvalidPageTokenError("page_token is corrupt") from None
