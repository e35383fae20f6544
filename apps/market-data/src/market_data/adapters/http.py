"""HTTP plumbing shared by the provider adapters: a client-side rate limiter in front of every
request, 429 handling that honours ``Retry-After``, default timeouts, and secret redaction.

The SDK clients (alpaca-py, finnhub-python) use ``requests`` sessions; ``ThrottledAdapter`` is
mounted on their session, so every page of a paginated SDK call is limited and a 429 in the
middle of pagination is retried in place instead of losing the pages before it.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..domain.ratelimit import RateBudget, parse_retry_after, retry_delay


class SharedBudget:
    """A ``RateBudget`` shared by the threads that run SDK calls."""

    def __init__(self, budget: RateBudget, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._budget = budget
        self._monotonic = monotonic
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            return self._budget.reserve(self._monotonic())

    def block_for(self, seconds: float) -> None:
        with self._lock:
            self._budget.block_until(self._monotonic() + seconds)


class ThrottledAdapter(HTTPAdapter):
    """Waits for the rate budget before each request; on 429 waits ``Retry-After`` (or backs
    off) and retries, up to ``max_retries_429`` times and never longer than ``max_wait`` per
    wait. The final 429 is returned to the SDK, which raises its own error."""

    def __init__(
        self,
        budget: SharedBudget,
        *,
        timeout: float = 10.0,
        max_retries_429: int = 3,
        max_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self._budget = budget
        self._timeout = timeout
        self._max_retries_429 = max_retries_429
        self._max_wait = max_wait
        self._sleep = sleep
        self.retried_429 = 0
        self.waited: list[float] = []

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        attempt = 0
        while True:
            wait = self._budget.reserve()
            if wait > 0:
                self.waited.append(wait)
                self._sleep(wait)
            response = super().send(request, **kwargs)
            if response.status_code != 429 or attempt >= self._max_retries_429:
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            delay = retry_delay(retry_after, attempt)
            if delay > self._max_wait:
                return response
            response.close()
            self._budget.block_for(delay)
            self.retried_429 += 1
            attempt += 1


def mount_throttle(session: requests.Session, adapter: ThrottledAdapter) -> None:
    session.mount("http://", adapter)
    session.mount("https://", adapter)


class AsyncBudget:
    """A ``RateBudget`` for one event loop's async callers."""

    def __init__(
        self,
        budget: RateBudget,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._budget = budget
        self._monotonic = monotonic
        self._sleep = sleep
        self.waited: list[float] = []

    async def acquire(self) -> None:
        wait = self._budget.reserve(self._monotonic())
        if wait > 0:
            self.waited.append(wait)
            await self._sleep(wait)

    def block_for(self, seconds: float) -> None:
        self._budget.block_until(self._monotonic() + seconds)


_QUERY_SECRETS = re.compile(r"(?i)((?:token|apikey|api_key|x_cg_[a-z]+_api_key)=)[^&\s'\"]+")


class Redactor:
    """Removes secret values (and ``token=`` style query parameters) from text before it is
    logged or put in an error message."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, values: Iterable[str | None]) -> None:
        self._secrets.update(v for v in values if v and len(v) >= 4)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return _QUERY_SECRETS.sub(r"\1***", text)
