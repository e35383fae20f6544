"""A fake Anthropic Messages API on loopback, speaking the documented wire format, for driving the
real ``anthropic`` SDK (pointed at it with ``base_url``) in contract tests and benchmarks.

- ``POST /v1/messages``: a ``message`` with ``tool_use`` / ``text`` content blocks, a stop reason
  and ``usage`` with ``cache_creation_input_tokens`` / ``cache_read_input_tokens``; errors as
  ``{"type": "error", "error": {"type": ..., "message": ...}}`` with their HTTP status (429
  ``rate_limit_error`` with ``retry-after``, 529 ``overloaded_error``, 500 ``api_error``...).
- Prompt caching: the prefix up to the last ``cache_control`` breakpoint (tools, then system,
  then messages) is cached when it has at least ``min_cacheable_tokens``; the first request
  writes it (``cache_creation_input_tokens``), later identical prefixes read it
  (``cache_read_input_tokens``); ``input_tokens`` counts the rest. Tokens are estimated as
  characters / 4.
- ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}`` (ends after
  ``batch_polls_before_end`` polls) and ``GET .../results`` (JSONL with ``succeeded``,
  ``errored``, ``expired`` results).

Script it per test: ``fake.script(tool_use(...), rate_limited(retry_after=2), ...)`` queues
responses, consumed one per request (batch items included); with the queue empty the
``responder`` answers (by default a valid hold for the symbol asked about).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CHARS_PER_TOKEN = 4


def estimate_tokens(value: Any) -> int:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return max(1, (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN)


# --- scripted responses -----------------------------------------------------------------------


@dataclass
class Scripted:
    """One scripted answer. ``kind``: message | error | raw | batch_errored | batch_expired."""

    kind: str
    status: int = 200
    content: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = "tool_use"
    error_type: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    model: str | None = None


def tool_use(
    tool_input: Any,
    *,
    name: str = "submit_decision",
    text: str | None = None,
    stop_reason: str = "tool_use",
    model: str | None = None,
) -> Scripted:
    """A message calling tool ``name`` with ``tool_input`` (anything: malformed on purpose)."""
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "text", "text": text})
    content.append(
        {
            "type": "tool_use",
            "id": f"toolu_{uuid.uuid4().hex[:24]}",
            "name": name,
            "input": tool_input,
        }
    )
    return Scripted("message", content=content, stop_reason=stop_reason, model=model)


def raw_body(body: bytes, *, status: int = 200) -> Scripted:
    """Answer ``body`` as it is (``application/json``, whatever it holds): a message the fake
    would not write, a body that is not JSON at all."""
    return Scripted("raw", status=status, message=body.decode("latin-1"))


def text_only(text: str, *, stop_reason: str = "end_turn") -> Scripted:
    return Scripted("message", content=[{"type": "text", "text": text}], stop_reason=stop_reason)


def api_error(status: int, error_type: str, message: str, **headers: str) -> Scripted:
    return Scripted(
        "error",
        status=status,
        error_type=error_type,
        message=message,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
    )


def rate_limited(retry_after: float | None = 1, *, retry_after_ms: float | None = None) -> Scripted:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    return Scripted(
        "error",
        status=429,
        error_type="rate_limit_error",
        message="Number of request tokens has exceeded your per-minute rate limit",
        headers=headers,
    )


def overloaded(retry_after: float | None = None) -> Scripted:
    headers = {} if retry_after is None else {"retry-after": str(retry_after)}
    return Scripted(
        "error", status=529, error_type="overloaded_error", message="Overloaded", headers=headers
    )


def server_error() -> Scripted:
    return Scripted("error", status=500, error_type="api_error", message="Internal server error")


def slow(seconds: float, then: Scripted) -> Scripted:
    """Answer ``then`` after ``seconds`` (to make a client time out)."""
    then.delay_seconds = seconds
    return then


def batch_errored(
    error_type: str = "invalid_request_error", message: str = "bad request"
) -> Scripted:
    return Scripted("batch_errored", error_type=error_type, message=message)


def batch_expired() -> Scripted:
    return Scripted("batch_expired")


# --- the default responder --------------------------------------------------------------------

_SYMBOL = re.compile(r"Decide for ([A-Z0-9./:-]+) as of")


def asked_symbol(body: dict[str, Any]) -> str:
    for message in body.get("messages", []):
        content = message.get("content")
        texts = (
            [content]
            if isinstance(content, str)
            else [c.get("text", "") for c in content or [] if isinstance(c, dict)]
        )
        for text in texts:
            found = _SYMBOL.search(text or "")
            if found:
                return found.group(1)
    return "UNKNOWN"


def hold_responder(body: dict[str, Any]) -> Scripted:
    symbol = asked_symbol(body)
    return tool_use(
        {
            "symbol": symbol,
            "action": "hold",
            "order_type": "market",
            "confidence": 0.55,
            "horizon": "1d",
            "rationale": f"Signals for {symbol} are mixed: momentum and RSI disagree; holding.",
        }
    )


# --- the fake ---------------------------------------------------------------------------------


@dataclass
class FakeBatch:
    id: str
    created_at: datetime
    custom_ids: list[str]
    results: list[dict[str, Any]]
    polls: int = 0
    ended: bool = False


class FakeAnthropicAPI:
    def __init__(
        self, *, min_cacheable_tokens: int = 1024, batch_polls_before_end: int = 1
    ) -> None:
        self.queue: deque[Scripted] = deque()
        self.responder: Callable[[dict[str, Any]], Scripted] = hold_responder
        self.requests: list[dict[str, Any]] = []  # every /v1/messages body, in order
        self.request_headers: list[dict[str, str]] = []
        self.min_cacheable_tokens = min_cacheable_tokens
        self.batch_polls_before_end = batch_polls_before_end
        self.batches: dict[str, FakeBatch] = {}
        self.batch_create_errors: deque[Scripted] = deque()  # answers to the next batch creates
        self._cache: set[str] = set()
        self.base_url = ""
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/batches", self._create_batch, methods=["POST"]),
                Route("/v1/messages/batches/{batch_id}", self._get_batch, methods=["GET"]),
                Route(
                    "/v1/messages/batches/{batch_id}/results", self._batch_results, methods=["GET"]
                ),
            ]
        )

    # scripting
    def script(self, *responses: Scripted) -> None:
        with self._lock:
            self.queue.extend(responses)

    def reset_cache(self) -> None:
        self._cache.clear()

    def _next(self, body: dict[str, Any]) -> Scripted:
        with self._lock:
            if self.queue:
                return self.queue.popleft()
        return self.responder(body)

    # wire format
    @staticmethod
    def _error_body(error_type: str, message: str) -> dict[str, Any]:
        return {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": f"req_{uuid.uuid4().hex[:24]}",
        }

    def _error(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        return JSONResponse(self._error_body(error_type, message), status, headers=headers or {})

    def _usage(self, body: dict[str, Any], output: list[dict[str, Any]]) -> dict[str, Any]:
        """Token usage of ``body`` with the prompt cache applied (tools → system → messages)."""
        blocks: list[tuple[Any, bool]] = []
        for tool in body.get("tools") or []:
            blocks.append((tool, "cache_control" in tool))
        system = body.get("system")
        if isinstance(system, str):
            blocks.append((system, False))
        else:
            for block in system or []:
                blocks.append((block.get("text", ""), "cache_control" in block))
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, str):
                blocks.append((content, False))
            else:
                for block in content or []:
                    blocks.append((block.get("text", block), "cache_control" in block))
        if body.get("cache_control") and blocks:  # automatic caching: breakpoint on the last block
            blocks[-1] = (blocks[-1][0], True)
        counts = [estimate_tokens(b) for b, _ in blocks]
        total = sum(counts)
        last_breakpoint = max((i for i, (_, bp) in enumerate(blocks) if bp), default=-1)
        created = read = 0
        if last_breakpoint >= 0:
            prefix = sum(counts[: last_breakpoint + 1])
            if prefix >= self.min_cacheable_tokens:
                key = sha256(
                    (
                        body.get("model", "")
                        + json.dumps([b for b, _ in blocks[: last_breakpoint + 1]], sort_keys=True)
                    ).encode()
                ).hexdigest()
                with self._lock:
                    if key in self._cache:
                        read = prefix
                    else:
                        self._cache.add(key)
                        created = prefix
        out_tokens = sum(estimate_tokens(b.get("input", b.get("text", ""))) for b in output) + 12
        return {
            "input_tokens": total - created - read,
            "output_tokens": out_tokens,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": created,
                "ephemeral_1h_input_tokens": 0,
            },
            "service_tier": "standard",
        }

    def _message(self, body: dict[str, Any], scripted: Scripted) -> dict[str, Any]:
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": scripted.model or body.get("model", ""),
            "content": scripted.content,
            "stop_reason": scripted.stop_reason,
            "stop_sequence": None,
            "usage": self._usage(body, scripted.content),
        }

    @staticmethod
    def _invalid(body: Any) -> str | None:
        if not isinstance(body, dict):
            return "body must be a JSON object"
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return f"{name}: Field required"
        if not isinstance(body["messages"], list) or not body["messages"]:
            return "messages: at least one message is required"
        return None

    def _authorised(self, request: Request) -> bool:
        return bool(request.headers.get("x-api-key") or request.headers.get("authorization"))

    async def _messages(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "authentication_error", "x-api-key header is required")
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "invalid_request_error", "body is not JSON")
        problem = self._invalid(body)
        if problem:
            return self._error(400, "invalid_request_error", problem)
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(dict(request.headers))
        scripted = self._next(body)
        if scripted.delay_seconds:
            await asyncio.sleep(scripted.delay_seconds)
        if scripted.kind == "error":
            return self._error(
                scripted.status, scripted.error_type, scripted.message, scripted.headers
            )
        headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
        if scripted.kind == "raw":
            return Response(
                scripted.message.encode("latin-1"),
                scripted.status,
                headers=headers,
                media_type="application/json",
            )
        # written as Python's json writes it (ASCII, NaN as a bare word), so a scripted answer
        # may hold any value the SDK's JSON reader then reads back: NaN, lone surrogates...
        return Response(
            json.dumps(self._message(body, scripted)).encode(),
            headers=headers,
            media_type="application/json",
        )

    def _batch_json(self, batch: FakeBatch) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.ended:
            for result in batch.results:
                counts[result["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.custom_ids)
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if batch.ended else "in_progress",
            "request_counts": counts,
            "created_at": batch.created_at.isoformat().replace("+00:00", "Z"),
            "expires_at": (batch.created_at + timedelta(hours=24))
            .isoformat()
            .replace("+00:00", "Z"),
            "ended_at": datetime.now(UTC).isoformat().replace("+00:00", "Z")
            if batch.ended
            else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.base_url}/v1/messages/batches/{batch.id}/results"
            if batch.ended
            else None,
        }

    async def _create_batch(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "authentication_error", "x-api-key header is required")
        if self.batch_create_errors:
            failure = self.batch_create_errors.popleft()
            return self._error(failure.status, failure.error_type, failure.message, failure.headers)
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, "invalid_request_error", "body is not JSON")
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            return self._error(400, "invalid_request_error", "requests: at least one is required")
        results: list[dict[str, Any]] = []
        for item in requests:
            custom_id, params = item.get("custom_id"), item.get("params")
            if not isinstance(custom_id, str) or not re.fullmatch(
                r"[a-zA-Z0-9_-]{1,64}", custom_id
            ):
                return self._error(
                    400, "invalid_request_error", f"custom_id {custom_id!r} is invalid"
                )
            problem = self._invalid(params)
            if problem:
                return self._error(400, "invalid_request_error", f"{custom_id}: {problem}")
            with self._lock:
                self.requests.append(params)
            scripted = self._next(params)
            if scripted.kind == "message":
                result = {"type": "succeeded", "message": self._message(params, scripted)}
            elif scripted.kind == "batch_expired":
                result = {"type": "expired"}
            else:
                result = {
                    "type": "errored",
                    "error": self._error_body(scripted.error_type or "api_error", scripted.message),
                }
            results.append({"custom_id": custom_id, "result": result})
        batch = FakeBatch(
            id=f"msgbatch_{uuid.uuid4().hex[:24]}",
            created_at=datetime.now(UTC),
            custom_ids=[r["custom_id"] for r in results],
            results=results,
        )
        self.batches[batch.id] = batch
        return JSONResponse(self._batch_json(batch))

    async def _get_batch(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self._error(404, "not_found_error", "batch not found")
        batch.polls += 1
        if batch.polls > self.batch_polls_before_end:
            batch.ended = True
        return JSONResponse(self._batch_json(batch))

    async def _batch_results(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return self._error(404, "not_found_error", "batch not found")
        if not batch.ended:
            return self._error(400, "invalid_request_error", "batch has not ended")
        lines = "\n".join(json.dumps(r) for r in batch.results) + "\n"
        return Response(lines, media_type="application/binary")


class _ServerThread:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="fake-anthropic", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self) -> None:
        self.thread.start()
        for _ in range(1000):
            if self.server.started:
                return
            if not self.thread.is_alive():
                raise RuntimeError("fake Anthropic API did not start")
            threading.Event().wait(0.01)
        raise RuntimeError("fake Anthropic API did not start in 10 s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def running_fake(**kwargs: Any) -> Iterator[FakeAnthropicAPI]:
    """Serve a :class:`FakeAnthropicAPI` on 127.0.0.1 (a free port) for the ``with`` block."""
    fake = FakeAnthropicAPI(**kwargs)
    server = _ServerThread(fake.app)
    fake.base_url = f"http://127.0.0.1:{server.port}"
    server.start()
    try:
        yield fake
    finally:
        server.stop()
