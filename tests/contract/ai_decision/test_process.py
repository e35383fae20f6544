"""The real process (``python -m ai_decision``) on a free loopback port, without a sidecar:
it starts from nothing and serves at once, answers a CloudEvent push it cannot serve yet with a
retryable 503 (never a 500), and the pub/sub route with RETRY. Startup time is printed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.unit.ai_decision.builders import binary, dapr_envelope, make_request

pytestmark = pytest.mark.contract


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def process() -> Iterator[tuple[str, float]]:
    port, sidecar_port = free_port(), free_port()  # nothing listens on the sidecar port
    env = {
        **os.environ,
        "AI_DECISION_PORT": str(port),
        "AI_DECISION_NEWS_SOURCE": "none",
        "DAPR_HTTP_PORT": str(sidecar_port),
        "OTEL_TRACES_EXPORTER": "none",
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ai_decision"],
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        ready_after: float | None = None
        for _ in range(600):
            if proc.poll() is not None:
                pytest.fail(f"ai_decision exited with {proc.returncode} while starting")
            try:
                if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                    ready_after = time.perf_counter() - started
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        if ready_after is None:
            pytest.fail("ai_decision did not serve /healthz within 30 s")
        print(f"\nai_decision served /healthz {ready_after:.2f} s after process start")
        yield base, ready_after
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_process_without_sidecar_answers_push_with_503_and_pubsub_with_retry(
    process: tuple[str, float],
) -> None:
    base, _ = process
    headers, body = binary(make_request(["AAPL"]))
    pushed = httpx.post(f"{base}/decisions/requests", content=body, headers=headers, timeout=10)
    assert pushed.status_code == 503
    assert pushed.json()["error"] == "dependency unavailable"
    delivered = httpx.post(
        f"{base}/events/decision-requests",
        content=dapr_envelope(make_request(["AAPL"])),
        headers={"content-type": "application/cloudevents+json"},
        timeout=10,
    )
    assert delivered.json() == {"status": "RETRY"}
    assert httpx.get(f"{base}/readyz", timeout=10).status_code == 503


def test_process_bad_cloudevent_is_400_before_any_dependency(process: tuple[str, float]) -> None:
    base, _ = process
    response = httpx.post(
        f"{base}/decisions/requests",
        content=b'{"specversion": "1.0", "id": "1"}',
        headers={"content-type": "application/cloudevents+json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "source" in response.json()["detail"]
