"""Dapr sidecar adapters over Dapr's HTTP API (v1.0).

The request path uses httpx against the sidecar's documented HTTP API: fully async, pooled, and
exactly the wire contract daprd serves. (The Dapr Python SDK's clients block the event loop on
construction while waiting for the sidecar; see docs/adr/0003-sidecar-access.md.)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from ..cloudevents import (
    CLOUDEVENTS_CONTENT_TYPE,
    cloud_event_json,
    json_string,
    to_cloud_event,
)
from ..contracts import Event
from ..ports import ConcurrencyConflictError, PlatformUnavailableError, StateItem

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SidecarHealth:
    healthy: bool
    detail: str
    components: tuple[str, ...] = field(default_factory=tuple)
    subscriptions: tuple[str, ...] = field(default_factory=tuple)


class DaprSidecar:
    """One async HTTP client to the local daprd, shared by the adapters below."""

    def __init__(
        self,
        http_port: int,
        host: str = "127.0.0.1",
        api_token: str | None = None,
        timeout_seconds: float = 5.0,
    ) -> None:
        headers = {"dapr-api-token": api_token} if api_token else {}
        self.base_url = f"http://{host}:{http_port}"
        self.client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=timeout_seconds,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise PlatformUnavailableError(
                f"Dapr sidecar at {self.base_url} is unreachable ({type(exc).__name__}: {exc})"
            ) from exc

    async def metadata(self) -> dict[str, Any]:
        response = await self.request("GET", "/v1.0/metadata")
        _raise_for_dapr(response, "read sidecar metadata")
        data: dict[str, Any] = response.json()
        return data

    async def health(self, required_components: Sequence[str] = ()) -> SidecarHealth:
        """Healthy when daprd answers its health probe and has every required component."""
        try:
            response = await self.client.get("/v1.0/healthz")
        except httpx.TransportError as exc:
            return SidecarHealth(False, f"sidecar unreachable at {self.base_url}: {exc}")
        if response.status_code >= 300:
            return SidecarHealth(False, f"sidecar not healthy (HTTP {response.status_code})")
        try:
            meta = await self.metadata()
        except PlatformUnavailableError as exc:
            return SidecarHealth(False, str(exc))
        names = tuple(sorted(c.get("name", "") for c in meta.get("components") or []))
        subs = tuple(
            sorted(
                f"{s.get('pubsubname')}/{s.get('topic')}" for s in meta.get("subscriptions") or []
            )
        )
        missing = [name for name in required_components if name not in names]
        if missing:
            return SidecarHealth(
                False, f"sidecar lacks components: {', '.join(missing)}", names, subs
            )
        return SidecarHealth(True, "ok", names, subs)


def _raise_for_dapr(response: httpx.Response, action: str) -> None:
    if response.status_code < 300:
        return
    try:
        body = response.json()
        detail = f"{body.get('errorCode', '')} {body.get('message', '')}".strip()
    except ValueError:
        detail = response.text[:300]
    raise PlatformUnavailableError(f"could not {action}: HTTP {response.status_code} {detail}")


def _lost_concurrency_check(response: httpx.Response) -> bool:
    # Stores word a failed first-write check differently: Redis names the ETag or fails the
    # set, PostgreSQL says no row was updated. All mean another writer got there first.
    if response.status_code == 409:
        return True
    if response.status_code < 400:
        return False
    text = response.text.lower()
    return any(
        marker in text
        for marker in ("etag", "no item was updated", "already exists", "failed to set key")
    )


class DaprEventPublisher:
    """Publishes events as CloudEvents through the sidecar, with the broker partition key."""

    def __init__(self, sidecar: DaprSidecar, pubsub_name: str, source: str) -> None:
        self._sidecar = sidecar
        self._pubsub = pubsub_name
        self._source = source

    async def publish(self, event: Event) -> None:
        await self.publish_raw(
            str(event.topic), to_cloud_event(event, self._source), event.partition_key()
        )

    async def publish_raw(
        self, topic: str, body: Any, partition_key: str | None = None, *, raw: bool = False
    ) -> None:
        """Publish an arbitrary payload (used by replay/redrive and tests of bad input)."""
        params = {"metadata.partitionKey": partition_key} if partition_key else {}
        if raw:
            params["metadata.rawPayload"] = "true"
        content = body if isinstance(body, bytes | str) else json.dumps(body)
        content_type = "application/octet-stream" if raw else CLOUDEVENTS_CONTENT_TYPE
        response = await self._sidecar.request(
            "POST",
            f"/v1.0/publish/{quote(self._pubsub, safe='')}/{quote(topic, safe='')}",
            params=params,
            content=content,
            headers={"content-type": content_type},
        )
        _raise_for_dapr(response, f"publish to {self._pubsub}/{topic}")

    async def publish_many(self, events: Sequence[Event]) -> None:
        """Bulk publish that keeps per-key order on every broker: one bulk request per topic and
        round, each round holding at most one event per partition key (see ``key_rounds``),
        sent once the sidecar has accepted the round before. The first failure stops the batch
        and is raised (later rounds are not sent)."""
        by_topic: dict[str, list[Event]] = {}
        for event in events:
            by_topic.setdefault(str(event.topic), []).append(event)
        for topic, batch in by_topic.items():
            for round_events in key_rounds(batch):
                body = bulk_publish_body(round_events, self._source)
                await self._bulk(topic, body, len(round_events))

    async def _bulk(self, topic: str, body: bytes, count: int) -> None:
        response = await self._sidecar.request(
            "POST",
            f"/v1.0-alpha1/publish/bulk/{quote(self._pubsub, safe='')}/{quote(topic, safe='')}",
            content=body,
            headers={"content-type": "application/json"},
        )
        _raise_for_dapr(response, f"bulk publish {count} events to {topic}")


_CONTENT_TYPE_AND_KEY = (
    b',"contentType":' + json_string(CLOUDEVENTS_CONTENT_TYPE) + b',"metadata":{"partitionKey":'
)


def bulk_publish_body(batch: Sequence[Event], source: str) -> bytes:
    """The body of a bulk publish request for ``batch``: byte for byte
    ``dumps_compact(bulk_publish_entries(batch, source))``, written without the dicts."""
    return b"".join(
        (
            b"[",
            b",".join(
                b'{"entryId":"%d","event":%b%b%b}}'
                % (
                    index,
                    cloud_event_json(event, source),
                    _CONTENT_TYPE_AND_KEY,
                    json_string(event.partition_key()),
                )
                for index, event in enumerate(batch)
            ),
            b"]",
        )
    )


def bulk_publish_entries(batch: Sequence[Event], source: str) -> list[dict[str, Any]]:
    """The reference form of a bulk publish request's entries (Dapr's ``/v1.0-alpha1/publish/
    bulk`` body): ``bulk_publish_body`` is its compact JSON."""
    return [
        {
            "entryId": str(index),
            "event": to_cloud_event(event, source),
            "contentType": CLOUDEVENTS_CONTENT_TYPE,
            "metadata": {"partitionKey": event.partition_key()},
        }
        for index, event in enumerate(batch)
    ]


def key_rounds(events: Sequence[Event]) -> list[list[Event]]:
    """``events`` split into rounds where the n-th event of each partition key is in round n.

    Dapr's bulk publish gives no order between the entries of one request: on brokers without a
    native bulk publish (NATS JetStream, Redis Streams) daprd sends them as parallel single
    publishes. So two events with the same key must never share a request.
    """
    out: list[list[Event]] = []
    seen: dict[str, int] = {}
    for event in events:
        key = event.partition_key()
        index = seen.get(key, 0)
        seen[key] = index + 1
        if index == len(out):
            out.append([])
        out[index].append(event)
    return out


class DaprStateStore:
    """Key/value state through the sidecar: ETag concurrency and per-item TTL."""

    def __init__(self, sidecar: DaprSidecar, store_name: str) -> None:
        self._sidecar = sidecar
        self._store = quote(store_name, safe="")
        self.name = store_name

    async def get(self, key: str) -> StateItem | None:
        response = await self._sidecar.request("GET", f"/v1.0/state/{self._store}/{quote(key)}")
        if response.status_code == 204 or (response.status_code == 200 and not response.content):
            return None
        _raise_for_dapr(response, f"read state {key!r} from {self.name}")
        return StateItem(key=key, value=response.json(), etag=response.headers.get("etag"))

    async def save(
        self,
        key: str,
        value: Any,
        *,
        etag: str | None = None,
        ttl_seconds: int | None = None,
        must_be_new: bool = False,
    ) -> None:
        item: dict[str, Any] = {"key": key, "value": value}
        if etag is not None:
            item["etag"] = etag
        if etag is not None or must_be_new:
            # first-write without an ETag: succeeds only while the key does not exist.
            item["options"] = {"concurrency": "first-write"}
        if ttl_seconds is not None:
            item["metadata"] = {"ttlInSeconds": str(ttl_seconds)}
        response = await self._sidecar.request("POST", f"/v1.0/state/{self._store}", json=[item])
        if (etag is not None or must_be_new) and _lost_concurrency_check(response):
            raise ConcurrencyConflictError(
                f"state {key!r} changed since ETag {etag}" if etag else f"state {key!r} exists"
            )
        _raise_for_dapr(response, f"save state {key!r} to {self.name}")

    async def delete(self, key: str, *, etag: str | None = None) -> None:
        headers = {"if-match": etag} if etag else {}
        response = await self._sidecar.request(
            "DELETE", f"/v1.0/state/{self._store}/{quote(key)}", headers=headers
        )
        if response.status_code == 409:
            raise ConcurrencyConflictError(f"state {key!r} changed since ETag {etag}")
        _raise_for_dapr(response, f"delete state {key!r} from {self.name}")

    async def get_bulk(self, keys: Sequence[str]) -> dict[str, StateItem]:
        found: dict[str, StateItem] = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            response = await self._sidecar.request(
                "POST", f"/v1.0/state/{self._store}/bulk", json={"keys": chunk, "parallelism": 8}
            )
            _raise_for_dapr(response, f"bulk read {len(chunk)} keys from {self.name}")
            for entry in response.json():
                if entry.get("error"):
                    raise PlatformUnavailableError(
                        f"could not read state {entry.get('key')!r}: {entry['error']}"
                    )
                if "data" in entry and entry["data"] is not None:
                    found[entry["key"]] = StateItem(entry["key"], entry["data"], entry.get("etag"))
        return found


class DaprServiceInvoker:
    """Service invocation through the sidecar (mTLS, retries and tracing come from Dapr)."""

    def __init__(self, sidecar: DaprSidecar) -> None:
        self._sidecar = sidecar

    async def invoke(
        self, app_id: str, method: str, *, http_method: str = "GET", body: Any = None
    ) -> tuple[int, Any]:
        response = await self._sidecar.request(
            http_method,
            f"/v1.0/invoke/{quote(app_id, safe='')}/method/{method.lstrip('/')}",
            json=body if body is not None else None,
        )
        if response.status_code >= 500 and "ERR_DIRECT_INVOKE" in response.text:
            raise PlatformUnavailableError(f"could not reach app {app_id!r}: {response.text[:300]}")
        try:
            payload = response.json() if response.content else None
        except ValueError:
            payload = response.text
        return response.status_code, payload
