"""Page tokens for bar ranges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from market_data.domain.paging import (
    BarQuery,
    InvalidPageTokenError,
    decode_page_token,
    encode_page_token,
    page_token_end,
)

Q = BarQuery("AAPL", "1Min", datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC))


def test_page_token_round_trips_the_last_open_time() -> None:
    after = datetime(2024, 1, 2, 15, 4, tzinfo=UTC)
    assert decode_page_token(encode_page_token(Q, after), Q) == after


def test_page_token_from_another_query_is_refused() -> None:
    token = encode_page_token(Q, datetime(2024, 1, 2, 15, 4, tzinfo=UTC))
    other = BarQuery("MSFT", Q.timeframe, Q.start, Q.end)
    with pytest.raises(InvalidPageTokenError, match="different query"):
        decode_page_token(token, other)


@pytest.mark.parametrize("bad", ["", "!!!", "eyJ2IjogMn0", "bm90IGpzb24"])
def test_page_token_garbage_is_refused(bad: str) -> None:
    with pytest.raises(InvalidPageTokenError):
        decode_page_token(bad, Q)


def test_page_token_remembers_the_end_of_its_query() -> None:
    token = encode_page_token(Q, datetime(2024, 1, 2, 15, 4, tzinfo=UTC))
    assert page_token_end(token) == Q.end
    assert page_token_end("garbage") is None
