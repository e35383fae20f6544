"""Equity page tokens: opaque, tied to their query."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analytics.domain.paging import (
    InvalidPageTokenError,
    decode_page_token,
    encode_page_token,
    query_fingerprint,
)

AT = datetime(2024, 3, 4, 15, 30, 12, 345678, tzinfo=UTC)


def test_page_token_round_trips_the_time() -> None:
    fingerprint = query_fingerprint("paper", None, "event", None, None)
    assert decode_page_token(encode_page_token(fingerprint, AT), fingerprint) == AT


def test_page_token_of_another_query_is_refused() -> None:
    token = encode_page_token(query_fingerprint("paper", None), AT)
    with pytest.raises(InvalidPageTokenError, match="different query"):
        decode_page_token(token, query_fingerprint("paper", "momentum"))


@pytest.mark.parametrize("token", ["garbage", "e30", "eyJ2IjogMX0", "!!!"])
def test_page_token_corrupt_is_refused(token: str) -> None:
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(token, query_fingerprint("paper"))
