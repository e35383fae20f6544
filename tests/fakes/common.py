"""What every fake shares: recorded requests and scripted faults."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Fault:
    """Answer requests whose path starts with ``path`` with this response, ``times`` times."""

    path: str
    status: int
    body: Any = None
    """JSON-serialisable, or ``bytes``/``str`` sent as is (for malformed bodies)."""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    times: int = 1
    skip: int = 0
    """Let this many matching requests through first (e.g. fail the second page only)."""


class FakeBase:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    # --- scripting -----------------------------------------------------------------------------

    def fail(self, path: str, status: int, body: Any = None, *, times: int = 1, **kw: Any) -> None:
        """Make the next ``times`` requests to ``path...`` answer ``status`` with ``body``."""
        with self._lock:
            self._faults.append(Fault(path, status, body, times=times, **kw))

    def rate_limit(
        self, path: str, retry_after: str | None = "1", *, times: int = 1, skip: int = 0
    ) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.fail(
            path, 429, {"message": "too many requests"}, headers=headers, times=times, skip=skip
        )

    def malformed(self, path: str, body: str | bytes = "{not json", *, times: int = 1) -> None:
        """A 200 whose body is not the documented JSON (by default not JSON at all)."""
        self.fail(path, 200, body, times=times)

    def hits(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path)]

    # --- serving -----------------------------------------------------------------------------

    def _record(self, request: Request) -> Response | None:
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                dict(request.query_params),
                {k.lower(): v for k, v in request.headers.items()},
            )
        )
        with self._lock:
            for fault in self._faults:
                if request.url.path.startswith(fault.path) and fault.times > 0:
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return _respond(fault)
        return None


def _respond(fault: Fault) -> Response:
    if isinstance(fault.body, bytes | str):
        return Response(
            fault.body,
            status_code=fault.status,
            headers=fault.headers,
            media_type=fault.content_type,
        )
    return Response(
        json.dumps(fault.body) if fault.body is not None else b"",
        status_code=fault.status,
        headers=fault.headers,
        media_type=fault.content_type,
    )


def json_response(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)
