"""Exchange sessions for daily bars.

A daily bar of a US equity opens at 09:30 and closes at 16:00 America/New_York on its session
date; converted through the IANA time zone database (``zoneinfo``), so the UTC times follow
daylight saving (13:30-20:00 UTC in summer, 14:30-21:00 UTC in winter). Early closes (half
days) are not modelled: every session is taken to close at 16:00. A 24-hour market (crypto,
FX) uses the UTC calendar day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Calendar = Literal["us-equity", "utc-day"]

NEW_YORK = ZoneInfo("America/New_York")
US_EQUITY_OPEN = time(9, 30)
US_EQUITY_CLOSE = time(16, 0)


def us_equity_session(day: date) -> tuple[datetime, datetime]:
    """Open and close (UTC) of the regular US equity session on ``day``."""
    opens = datetime.combine(day, US_EQUITY_OPEN, tzinfo=NEW_YORK)
    closes = datetime.combine(day, US_EQUITY_CLOSE, tzinfo=NEW_YORK)
    return opens.astimezone(UTC), closes.astimezone(UTC)


def utc_day(day: date) -> tuple[datetime, datetime]:
    opens = datetime.combine(day, time(0, 0), tzinfo=UTC)
    return opens, opens + timedelta(days=1)


def daily_session(day: date, calendar: Calendar) -> tuple[datetime, datetime]:
    return us_equity_session(day) if calendar == "us-equity" else utc_day(day)


def session_fraction(at: datetime) -> float | None:
    """How far ``at`` is into the US equity session (0 at the open, 1 at the close), or ``None``
    outside the session. Weekends count as outside; holidays are not modelled."""
    local = at.astimezone(NEW_YORK)
    if local.weekday() >= 5:
        return None
    opens, closes = us_equity_session(local.date())
    if not opens <= at < closes:
        return None
    return (at - opens) / (closes - opens)
