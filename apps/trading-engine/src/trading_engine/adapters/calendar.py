"""Trading sessions from exchange-calendars (XNYS, XNAS, XLON, ...), early closes included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import exchange_calendars as xcals
import pandas as pd

from ..domain.assets import ALWAYS_OPEN
from ..domain.sessions import ALWAYS_OPEN_SESSION, Session


class UnknownCalendarError(LookupError):
    pass


class ExchangeCalendarSessions:
    """``SessionCalendar`` backed by exchange-calendars. Calendars load lazily (each takes a
    moment to build) and are kept."""

    def __init__(self) -> None:
        self._calendars: dict[str, Any] = {}

    def _calendar(self, name: str) -> Any:
        calendar = self._calendars.get(name)
        if calendar is None:
            try:
                calendar = xcals.get_calendar(name)
            except xcals.errors.InvalidCalendarName:
                raise UnknownCalendarError(
                    f"no exchange calendar named {name!r}; e.g. XNYS, XNAS, or {ALWAYS_OPEN!r}"
                ) from None
            self._calendars[name] = calendar
        return calendar

    def session_at_or_after(self, calendar: str, ts: datetime) -> Session:
        if calendar == ALWAYS_OPEN:
            return ALWAYS_OPEN_SESSION
        if ts.tzinfo is None:
            raise ValueError(f"session lookup needs a timezone-aware time, got {ts!r}")
        cal = self._calendar(calendar)
        minute = pd.Timestamp(ts).tz_convert(UTC).floor("min")
        if minute < cal.first_minute or minute > cal.last_minute:
            raise UnknownCalendarError(
                f"{calendar} covers {cal.first_minute} to {cal.last_minute}; {ts} is outside"
            )
        label = cal.minute_to_session(minute, direction="next")
        open_ = cal.session_open(label).to_pydatetime()
        close = cal.session_close(label).to_pydatetime()
        if ts >= close:  # inside the last minute before the close, floor() kept the session
            label = cal.next_session(label)
            open_ = cal.session_open(label).to_pydatetime()
            close = cal.session_close(label).to_pydatetime()
        return Session(open_.astimezone(UTC), close.astimezone(UTC))
