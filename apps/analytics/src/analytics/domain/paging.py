"""Opaque page tokens for the equity curve: the time of the last point served and a fingerprint
of the query, so a token replayed against another account, strategy, symbol, resolution or
range is refused instead of silently skipping points."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime

from .errors import AnalyticsInputError


class InvalidPageTokenError(AnalyticsInputError):
    """A page token that is corrupt or belongs to another query."""


def query_fingerprint(*parts: object) -> str:
    text = "|".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_page_token(fingerprint: str, after: datetime) -> str:
    body = json.dumps({"v": 1, "q": fingerprint, "after": after.isoformat()})
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> datetime:
    """The time after which the next page starts."""
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidPageTokenError("page_token is not a token this service issued") from None
    if not isinstance(body, dict) or body.get("v") != 1 or not isinstance(body.get("after"), str):
        raise InvalidPageTokenError("page_token is not a token this service issued")
    if body.get("q") != fingerprint:
        raise InvalidPageTokenError(
            "page_token belongs to a different query (account, strategy, symbol, resolution, "
            "start or end changed)"
        )
    try:
        after = datetime.fromisoformat(body["after"])
    except ValueError:
        raise InvalidPageTokenError("page_token is corrupt") from None
    if after.tzinfo is None:
        raise InvalidPageTokenError("page_token is corrupt")
    return after
