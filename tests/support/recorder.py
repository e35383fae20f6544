"""A test-only subscriber app: records every message its real Dapr sidecar delivers.

Run with ``python -m tests.support.recorder`` (cwd = the repository root), next to its daprd:
``LocalPlatform.start_app(recorder_spec(...))``. It subscribes programmatically (Dapr asks
``GET /dapr/subscribe``) to the topics in ``<PREFIX>TOPICS`` (default ``market.events``) on
``<PREFIX>PUBSUB_NAME`` (default ``pubsub``), where the prefix is the app id in upper snake case
(app id ``recorder-1a2b`` → ``RECORDER_1A2B_``), as for every app.

- ``GET /received?topic=&since=`` — what arrived, in arrival order: topic, CloudEvent id,
  type, source, subject, partition key (the CloudEvent's ``partitionkey``), the broker key when
  the broker hands one over (Kafka's ``__key``), the data, and the wall-clock arrival time.
- ``GET /stats`` — counts per topic, and the latency of each ``QuoteUpdated`` (arrival time
  minus its ``ts_event``). ``<PREFIX>KEEP_EVENTS=false`` stops keeping bodies for
  ``/received`` (the benchmark: hundreds of thousands of quotes).
- ``/healthz``, ``/readyz`` — the shared ones: ready only when the sidecar is healthy and has the
  pub/sub component.

Every message is answered SUCCESS: the recorder never drops nor retries, so what it saw is what
the broker delivered. Deliveries are handled in plain ASGI in front of the FastAPI app, so the
recorder is not what limits a benchmark.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from starlette.types import Receive, Scope, Send

from trader_common.app import SUCCESS, build_app
from trader_common.settings import AppSettings, load_settings

QUOTE_TYPE = "ai.active-trader.market.quote.v1"
PREFIX = "/events/"
JSON_HEADERS = [(b"content-type", b"application/json")]
SUCCESS_BODY = json.dumps(SUCCESS).encode()


class RecorderSettings(AppSettings):
    model_config = SettingsConfigDict(env_prefix="RECORDER_", extra="ignore")

    app_id: str = "recorder"
    topics: str = Field(default="market.events", pattern=r"^[\w.\-]+(,[\w.\-]+)*$")
    keep_events: bool = True

    def topic_list(self) -> list[str]:
        return [t.strip() for t in self.topics.split(",") if t.strip()]


class Recording:
    def __init__(self, keep_events: bool) -> None:
        self.keep_events = keep_events
        self.events: list[dict[str, Any]] = []
        self.count = 0
        self.by_topic: dict[str, int] = {}
        self.latencies: list[float] = []
        self.first_at: float | None = None
        self.last_at: float | None = None

    def add(self, topic: str, envelope: dict[str, Any], key: str | None, at: float) -> None:
        self.count += 1
        self.by_topic[topic] = self.by_topic.get(topic, 0) + 1
        self.first_at = self.first_at if self.first_at is not None else at
        self.last_at = at
        data = envelope.get("data")
        if envelope.get("type") == QUOTE_TYPE and isinstance(data, dict) and "ts_event" in data:
            try:
                sent = datetime.fromisoformat(str(data["ts_event"])).timestamp()
            except ValueError:
                pass
            else:
                self.latencies.append(at - sent)
        if not self.keep_events:
            return
        self.events.append(
            {
                "topic": topic,
                "id": envelope.get("id"),
                "type": envelope.get("type"),
                "source": envelope.get("source"),
                "subject": envelope.get("subject"),
                "partitionkey": envelope.get("partitionkey"),
                "broker_key": key,
                "data": data,
                "received_at": at,
            }
        )


def create_app(settings: RecorderSettings) -> DeliveryFastPath:
    recording = Recording(settings.keep_events)
    router = APIRouter()

    @router.get("/dapr/subscribe")
    async def subscribe() -> list[dict[str, Any]]:
        return [
            {"pubsubname": settings.pubsub_name, "topic": topic, "route": f"/events/{topic}"}
            for topic in settings.topic_list()
        ]

    @router.get("/received")
    async def received(topic: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in recording.events[since:] if topic is None or e["topic"] == topic]

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return {
            "count": recording.count,
            "by_topic": recording.by_topic,
            "first_at": recording.first_at,
            "last_at": recording.last_at,
            "latencies": recording.latencies,
        }

    app = build_app(
        settings,
        title="test recorder",
        description="Records what its sidecar delivers (tests and benchmarks only).",
        required_components=("pubsub",),
        routers=[router],
    )
    return DeliveryFastPath(app, recording)


class DeliveryFastPath:
    """``POST /events/<topic>`` answered in plain ASGI, everything else by the FastAPI app:
    FastAPI's routing and validation would more than halve what one process can take, and the
    sidecar delivers one message at a time, so every microsecond here is throughput."""

    def __init__(self, app: FastAPI, recording: Recording) -> None:
        self.app = app
        self.recording = recording

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        at = time.time()
        raw = b"".join(chunks)
        try:
            envelope: Any = json.loads(raw)
        except ValueError:
            envelope = {"data": raw.decode(errors="replace")}
        if not isinstance(envelope, dict):
            envelope = {"data": envelope}
        key = next((v.decode() for k, v in scope["headers"] if k == b"__key"), None)
        self.recording.add(path[len(PREFIX) :], envelope, key, at)
        await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
        await send({"type": "http.response.body", "body": SUCCESS_BODY})


def run() -> None:
    app_id = os.environ.get("APP_ID", "recorder")
    prefix = app_id.upper().replace("-", "_") + "_"
    # The settings of this instance read its own prefix, as every app reads its app id's.
    own: type[RecorderSettings] = type(
        "OwnRecorderSettings",
        (RecorderSettings,),
        {"model_config": SettingsConfigDict(env_prefix=prefix, extra="ignore")},
    )
    settings = load_settings(own)
    uvicorn.run(  # as trader_common.runner.serve, with the fast path in front
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    run()
