"""Claude through the official ``anthropic`` SDK.

- The decision is structured output: a forced call of the decision tool, whose input schema is
  the decision's JSON schema.
- Prompt caching: the stable part (tools + system prompt) ends with a ``cache_control``
  breakpoint; the per-decision context follows it, uncached.
- Usage and cost come from the response's ``usage`` (input, output, cache writes and reads).
- Timeouts per call; 429 / 529 / 5xx are retried here, honouring ``retry-after`` (or
  ``retry-after-ms``), up to ``max_retries`` and never waiting longer than ``max_retry_wait``
  — the SDK's own retries are off so the policy is this one, visible and tested.
- The Message Batches API for overnight work (:class:`ClaudeBatchProvider`).
- The SDK is imported off the event loop (:meth:`ClaudeProvider.load_sdk`), after startup or by
  the first call, so the process serves meanwhile.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ..domain.audit import short_text
from ..domain.decision import DECISION_TOOL_SCHEMA, TOOL_DESCRIPTION, TOOL_NAME
from ..domain.pricing import TokenUsage
from ..service.ports import (
    BatchItemResult,
    BatchStatus,
    ProviderCall,
    ProviderError,
    ProviderReply,
)

if TYPE_CHECKING:  # the SDK takes seconds to import: see ClaudeProvider.load_sdk
    import anthropic

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

RETRYABLE_STATUS = {429, 500, 502, 503, 504, 529}


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait per ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _kind(status: int) -> str:
    return {429: "rate_limited", 529: "overloaded"}.get(status, "server_error")


def _api_message(exc: anthropic.APIStatusError) -> str:
    error_type = getattr(exc, "type", None) or ""
    message = getattr(exc, "api_message", None) or ""
    detail = f"{error_type}: {message}".strip(": ")
    return detail or str(exc)[:300]


def client_factory(
    api_key: str, base_url: str | None, timeout_seconds: float
) -> Callable[[], anthropic.AsyncAnthropic]:
    """Builds the SDK client on first use: the SDK's own retries off (this module's policy
    retries, honouring retry-after), the call timeout as the client default."""

    def build() -> anthropic.AsyncAnthropic:
        import anthropic

        return anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_seconds
        )

    return build


class ClaudeProvider:
    name = "claude"

    def __init__(
        self,
        client: anthropic.AsyncAnthropic | Callable[[], anthropic.AsyncAnthropic],
        *,
        prompt_caching: bool = True,
        timeout_seconds: float = 30.0,
        max_retries: int = 3,
        max_retry_wait_seconds: float = 30.0,
        backoff_seconds: float = 0.5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client: anthropic.AsyncAnthropic | None = None
        self._factory: Callable[[], anthropic.AsyncAnthropic] | None = None
        if callable(client) and not hasattr(client, "messages"):
            self._factory = client
        else:
            self._client = client  # type: ignore[assignment]
        self.prompt_caching = prompt_caching
        self._timeout = timeout_seconds
        self._max_retries = max_retries
        self._max_wait = max_retry_wait_seconds
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._sdk: asyncio.Future[Any] | None = None

    @property
    def client(self) -> anthropic.AsyncAnthropic:
        if self._client is None:
            assert self._factory is not None
            self._client = self._factory()
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def load_sdk(self) -> None:
        """Import the SDK in a worker thread, once (about a second with compiled bytecode, a few
        without): the event loop keeps serving meanwhile. The app starts it after startup and
        every API call awaits it, so the first call waits for the import instead of blocking
        the loop."""
        if self._sdk is None:
            self._sdk = asyncio.ensure_future(
                asyncio.to_thread(importlib.import_module, "anthropic")
            )
        await asyncio.shield(self._sdk)

    def request_params(self, call: ProviderCall) -> dict[str, Any]:
        """The Messages API parameters for ``call`` (also the params of a batch request)."""
        system_block: dict[str, Any] = {"type": "text", "text": call.prompt.system}
        if self.prompt_caching:
            system_block["cache_control"] = {"type": "ephemeral"}
        return {
            "model": call.model,
            "max_tokens": call.max_tokens,
            "system": [system_block],
            "tools": [
                {
                    "name": TOOL_NAME,
                    "description": TOOL_DESCRIPTION,
                    "input_schema": DECISION_TOOL_SCHEMA,
                }
            ],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "messages": [{"role": "user", "content": call.prompt.user}],
        }

    async def call(self, what: str, fn: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """Run one API call with the retry policy; returns its result and the retries taken."""
        await self.load_sdk()
        import anthropic

        retries = 0
        while True:
            try:
                return await fn(), retries
            except anthropic.APITimeoutError as exc:
                raise ProviderError(
                    f"{what} timed out after {self._timeout}s", kind="timeout"
                ) from exc
            except anthropic.APIConnectionError as exc:
                raise ProviderError(f"{what}: cannot connect ({exc})", kind="connection") from exc
            except anthropic.APIStatusError as exc:
                status = exc.status_code
                if status not in RETRYABLE_STATUS:
                    raise ProviderError(
                        f"{what}: HTTP {status} {_api_message(exc)}", kind="api_error"
                    ) from exc
                kind = _kind(status)
                hinted = retry_after_seconds(exc.response.headers)
                wait = hinted if hinted is not None else self._backoff * (2**retries)
                if retries >= self._max_retries:
                    raise ProviderError(
                        f"{what}: HTTP {status} {_api_message(exc)} after {retries} retries",
                        kind=kind,
                    ) from exc
                if wait > self._max_wait:
                    raise ProviderError(
                        f"{what}: HTTP {status} {_api_message(exc)}; retry-after {wait:.1f}s "
                        f"exceeds the max wait {self._max_wait}s",
                        kind=kind,
                    ) from exc
                await self._sleep(wait)
                retries += 1
            except anthropic.AnthropicError as exc:
                raise ProviderError(f"{what}: {type(exc).__name__}: {exc}") from exc
            except (ValueError, RecursionError) as exc:  # the SDK could not read a 2xx body
                detail = short_text(str(exc), 200)
                raise ProviderError(
                    f"{what}: malformed response: {type(exc).__name__}: {detail}", kind="malformed"
                ) from exc

    async def decide(self, call: ProviderCall) -> ProviderReply:
        params = self.request_params(call)
        started = time.perf_counter()
        message, retries = await self.call(
            f"claude {call.model}",
            lambda: self.client.messages.create(**params, timeout=self._timeout),
        )
        latency = (time.perf_counter() - started) * 1000
        return reply_from_message(message, latency_ms=latency, retries=retries)


#: More tokens than any one call can use: a count above it is not a count.
MAX_TOKENS_PER_CALL = 10**9
MAX_TEXT_CHARS = 100_000


def _token_count(usage: Any, field: str) -> int:
    """A usage field as the non-negative token count it must be (absent: 0)."""
    value = getattr(usage, field, None)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS_PER_CALL:
        return value
    raise ProviderError(
        f"malformed Messages API response: usage.{field} is "
        f"{short_text(repr(value) if isinstance(value, str) else value, 40)}, not a token "
        f"count (0 to {MAX_TOKENS_PER_CALL})",
        kind="malformed",
    )


def _label(value: Any, limit: int) -> str | None:
    """A short text field of the response (stop reason, model, id) as text that can be stored:
    ``None`` stays ``None``; anything else that is not text is shown as its ``repr``."""
    return None if value is None else short_text(value, limit)


def reply_from_message(message: Any, *, latency_ms: float = 0.0, retries: int = 0) -> ProviderReply:
    """The decision tool's input, the text, stop reason and usage of a Messages API response.
    Whatever in it is not as documented raises :class:`ProviderError` (kind ``malformed``)."""
    try:
        raw_content = getattr(message, "content", None)
        if raw_content is not None and not isinstance(raw_content, list):
            raise ProviderError(
                "malformed Messages API response: content is a "
                f"{type(raw_content).__name__}, not a list of blocks",
                kind="malformed",
            )
        usage = getattr(message, "usage", None)
        if usage is None:
            raise ProviderError("malformed Messages API response: no usage", kind="malformed")
        token_usage = TokenUsage(
            input_tokens=_token_count(usage, "input_tokens"),
            output_tokens=_token_count(usage, "output_tokens"),
            cache_creation_input_tokens=_token_count(usage, "cache_creation_input_tokens"),
            cache_read_input_tokens=_token_count(usage, "cache_read_input_tokens"),
        )
        tool_input: object | None = None
        texts: list[str] = []
        for block in raw_content or []:
            kind = getattr(block, "type", None)
            if kind == "tool_use" and tool_input is None:
                name = getattr(block, "name", None)
                if name == TOOL_NAME:
                    tool_input = getattr(block, "input", None)
                else:
                    texts.append(f"[called unknown tool {_label(name, 64)!r}]")
            elif kind == "text":
                texts.append(short_text(getattr(block, "text", ""), MAX_TEXT_CHARS))
        return ProviderReply(
            tool_input=tool_input,
            stop_reason=_label(getattr(message, "stop_reason", None), 64),
            usage=token_usage,
            model=_label(getattr(message, "model", None), 128) or "",
            text="\n".join(texts),
            response_id=_label(getattr(message, "id", None), 128),
            latency_ms=latency_ms,
            retries=retries,
        )
    except (AttributeError, TypeError, ValueError, ArithmeticError) as exc:
        raise ProviderError(f"malformed Messages API response: {exc}", kind="malformed") from exc


class ClaudeBatchProvider:
    """Overnight decisions through the Message Batches API."""

    name = "claude"

    def __init__(self, provider: ClaudeProvider) -> None:
        self._provider = provider

    @property
    def _client(self) -> anthropic.AsyncAnthropic:
        return self._provider.client

    async def submit(self, model: str, calls: Sequence[tuple[str, ProviderCall]]) -> str:
        requests: list[Any] = [
            {"custom_id": custom_id, "params": self._provider.request_params(call)}
            for custom_id, call in calls
        ]
        batch, _ = await self._provider.call(
            "claude batch create", lambda: self._client.messages.batches.create(requests=requests)
        )
        return str(batch.id)

    async def status(self, batch_id: str) -> BatchStatus:
        batch, _ = await self._provider.call(
            f"claude batch {batch_id}", lambda: self._client.messages.batches.retrieve(batch_id)
        )
        counts = batch.request_counts
        return BatchStatus(
            batch_id=batch_id,
            ended=batch.processing_status == "ended",
            processing_status=str(batch.processing_status),
            counts={
                k: int(getattr(counts, k, 0) or 0)
                for k in ("processing", "succeeded", "errored", "canceled", "expired")
            },
        )

    async def results(self, batch_id: str) -> list[BatchItemResult]:
        async def read_all() -> list[Any]:
            decoder = await self._client.messages.batches.results(batch_id)
            return [item async for item in decoder]

        items, _ = await self._provider.call(f"claude batch {batch_id} results", read_all)
        out: list[BatchItemResult] = []
        for item in items:
            custom_id = str(getattr(item, "custom_id", ""))
            result = getattr(item, "result", None)
            kind = getattr(result, "type", None)
            if kind == "succeeded":
                try:
                    reply = reply_from_message(result.message)  # type: ignore[union-attr]
                except ProviderError as exc:
                    out.append(BatchItemResult(custom_id, None, str(exc)))
                    continue
                out.append(BatchItemResult(custom_id, reply))
            elif kind == "errored":
                error = getattr(getattr(result, "error", None), "error", None)
                detail = f"{getattr(error, 'type', 'error')}: {getattr(error, 'message', '')}"
                out.append(BatchItemResult(custom_id, None, f"errored ({detail})"))
            else:
                out.append(BatchItemResult(custom_id, None, str(kind or "unknown result")))
        return out
