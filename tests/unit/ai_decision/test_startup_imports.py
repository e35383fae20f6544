"""Start-up stays light (the service wakes from zero replicas and must be ready at once):
importing the app and building it imports neither the anthropic SDK nor the CloudEvents SDK,
whatever the routing says; they load when a decision first needs them. Checked in a fresh
interpreter, so what other tests imported cannot hide a regression. Timings are in
``python -m bench ai_decision_startup``, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEFERRED = ("anthropic", "cloudevents")

BUILD_APP = """
import json, sys
from ai_decision.main import create_app
from ai_decision.settings import AiDecisionSettings
create_app(AiDecisionSettings())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:]))))
"""

PARSE_REQUEST = """
import json, sys
from ai_decision.adapters.cloudevents_http import parse_request
data = {
    "request_id": "5b0d6f1e-8a57-4f7c-9a55-3c1d2b1f0a11",
    "strategy_id": "s1",
    "symbols": ["AAPL"],
    "as_of": "2026-01-05T15:30:00Z",
    "task": "fast",
    "account": {"equity": "100000", "cash": "100000", "buying_power": "100000"},
}
event = {
    "specversion": "1.0",
    "id": "1",
    "source": "test",
    "type": "ai.active-trader.ai.request-decision.v1",
    "datacontenttype": "application/json",
    "data": data,
}
parse_request({"content-type": "application/cloudevents+json"}, json.dumps(event).encode())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1:]))))
"""


def imported_by(script: str, env: dict[str, str] | None = None) -> list[str]:
    """Which of DEFERRED a fresh interpreter has imported after running ``script``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AI_DECISION_")}
    result = subprocess.run(
        [sys.executable, "-c", script, *DEFERRED],
        env={**clean, "AI_DECISION_LOG_LEVEL": "WARNING", **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_create_app_default_settings_imports_no_sdk() -> None:
    assert imported_by(BUILD_APP) == []


@pytest.mark.parametrize("news", ["market-data", "none"])
def test_create_app_claude_routing_imports_no_sdk_before_start(news: str) -> None:
    env = {
        "AI_DECISION_ANTHROPIC_API_KEY": "sk-test",
        "AI_DECISION_ROUTING": '{"tasks": {"fast": ["claude:claude-haiku-4-5"]}}',
        "AI_DECISION_NEWS_SOURCE": news,
    }
    assert imported_by(BUILD_APP, env) == []


def test_parse_request_first_cloudevent_imports_cloudevents_sdk() -> None:
    # the guard above means something only if the parse really uses the deferred SDK
    assert imported_by(PARSE_REQUEST) == ["cloudevents"]
