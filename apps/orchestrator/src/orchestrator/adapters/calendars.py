"""Is a market open now? Exchange calendars from exchange-calendars; "24/7" is always open."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from ..domain.schedule import ALWAYS_OPEN


@cache
def _calendar(name: str) -> Any:
    import exchange_calendars

    return exchange_calendars.get_calendar(name)


def market_open(calendar: str, at: datetime) -> bool:
    if calendar == ALWAYS_OPEN:
        return True
    import pandas as pd

    return bool(_calendar(calendar).is_open_on_minute(pd.Timestamp(at).floor("min")))
