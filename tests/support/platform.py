"""Starting the recorder and market-data on a ``LocalPlatform``, each with its real daprd.

The order matters on brokers that deliver only what is published after a subscriber joined
(NATS JetStream ``deliverPolicy: new``, Kafka ``initialOffset: newest``): start the recorder,
wait until a probe published through its own sidecar comes back to it (its subscription is
live, its Kafka consumer group has joined), and only then start the publisher.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import httpx

from trader_cli.netutil import free_port
from trader_cli.platform import LocalPlatform, RunningApp
from trader_cli.runfile import AppSpec, load_run_file
from trader_common.cloudevents import to_cloud_event
from trader_common.contracts import (
    DecisionAction,
    DecisionMade,
    Event,
    QuoteUpdated,
    ServiceStarted,
    utc_now,
)

REPO = Path(__file__).resolve().parents[2]
MARKET_TOPIC = "market.events"
SYSTEM_TOPIC = "system.events"
DECISIONS_TOPIC = "ai.decisions"

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 60.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; HTTP errors and failed assertions
    count as "not yet". Raises with the last answer when ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, AssertionError) as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def publish_through(sidecar_url: str, event: Event, source: str, topic: str | None = None) -> None:
    """Publish ``event`` as a CloudEvent through a sidecar, keyed as the apps key it, on its own
    topic unless ``topic`` says otherwise."""
    response = httpx.post(
        f"{sidecar_url}/v1.0/publish/pubsub/{topic or event.topic}",
        params={"metadata.partitionKey": event.partition_key()},
        content=httpx.Request("POST", "/", json=to_cloud_event(event, source)).content,
        headers={"content-type": "application/cloudevents+json"},
        timeout=10,
    )
    assert response.status_code == 204, response.text


def app_spec(app_id: str, env: Mapping[str, str] | None = None) -> AppSpec:
    """An app of dapr/dapr.yaml on free ports, with extra environment."""
    spec = load_run_file(REPO / "dapr" / "dapr.yaml").app(app_id)
    return replace(
        spec.with_ports(free_port(), free_port(), free_port(), free_port()),
        env={**spec.env, **(env or {})},
    )


def recorder_spec(
    topics: Sequence[str] = (MARKET_TOPIC,), *, keep_events: bool = True, app_id: str | None = None
) -> AppSpec:
    """A recorder with an app id of its own (so a consumer group or durable consumer left by
    another test on the session's brokers is never reused)."""
    app_id = app_id or f"recorder-{uuid4().hex[:8]}"
    prefix = app_id.upper().replace("-", "_") + "_"
    return AppSpec(
        app_id=app_id,
        command=["python", "-m", "tests.support.recorder"],
        app_dir=REPO,
        app_port=free_port(),
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        env={
            f"{prefix}TOPICS": ",".join(topics),
            f"{prefix}KEEP_EVENTS": "true" if keep_events else "false",
        },
    )


@dataclass
class Recorder:
    running: RunningApp
    topics: Sequence[str]
    probe_ids: set[str] = field(default_factory=set)  # to tell probes from the events under test

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def sidecar_url(self) -> str:
        return self.running.sidecar_url

    def received(self, topic: str | None = None) -> list[dict[str, Any]]:
        params = {"topic": topic} if topic else {}
        response = httpx.get(f"{self.url}/received", params=params, timeout=30)
        response.raise_for_status()
        events: list[dict[str, Any]] = response.json()
        return events

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/stats", timeout=60)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def publish(self, event: Event, topic: str | None = None) -> None:
        """Publish ``event`` through the recorder's own sidecar (keyed as the apps key it), on
        its own topic unless ``topic`` says otherwise (probes of any topic)."""
        publish_through(self.sidecar_url, event, f"/{self.running.spec.app_id}", topic)

    def _probe(self, topic: str) -> Event:
        if topic == DECISIONS_TOPIC:
            return DecisionMade(
                decision_id=uuid4(),
                request_id=uuid4(),
                strategy_id="probe",
                symbol="PROBE",
                action=DecisionAction.HOLD,
                confidence=0,
                horizon="probe",
                rationale="probe",
                provider="probe",
                model="probe",
                ts_event=utc_now(),
            )
        if topic == SYSTEM_TOPIC:
            return ServiceStarted(
                service=self.running.spec.app_id, service_version="probe", ts_event=utc_now()
            )
        return QuoteUpdated(
            symbol="PROBE",
            source="recorder-probe",
            ts_event=utc_now(),
            bid=1,
            ask=1,
            bid_size=0,
            ask_size=0,
        )

    def wait_subscribed(self, timeout: float = 90.0) -> None:
        """Publish probes on each topic until one comes back to the recorder."""
        deadline = time.monotonic() + timeout
        for topic in self.topics:
            while True:
                probe = self._probe(topic)
                self.probe_ids.add(str(probe.event_id))
                self.publish(probe, topic=topic)
                seen = self._seen(topic, str(probe.event_id), min(2.0, timeout))
                if seen:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"the recorder never received a probe on {topic}")

    def _seen(self, topic: str, event_id: str, within: float) -> bool:
        keeps_events = self.running.spec.env[f"{self.running.spec.env_prefix}KEEP_EVENTS"]
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if keeps_events == "true":
                if any(e["id"] == event_id for e in self.received(topic)):
                    return True
            elif self.stats()["by_topic"].get(topic):
                # Bodies are not kept: anything on the topic shows the subscription is live.
                return True
            time.sleep(0.1)
        return False


def start_recorder(
    platform: LocalPlatform,
    topics: Sequence[str] = (MARKET_TOPIC,),
    *,
    keep_events: bool = True,
    timeout: float = 90.0,
) -> Recorder:
    """Start a recorder with its sidecar on ``platform`` and return once it is subscribed."""
    running = platform.start_app(recorder_spec(topics, keep_events=keep_events))
    platform.wait_ready([running], timeout)
    recorder = Recorder(running, list(topics))
    recorder.wait_subscribed(timeout)
    return recorder


def start_market_data(
    platform: LocalPlatform, env: Mapping[str, str], timeout: float = 90.0
) -> RunningApp:
    """Start market-data (as in dapr/dapr.yaml, on free ports) with its sidecar on
    ``platform``, with ``MARKET_DATA_*`` settings from ``env``."""
    running = platform.start_app(app_spec("market-data", {"MARKET_DATA_LOG_JSON": "false", **env}))
    platform.wait_ready([running], timeout)
    return running
