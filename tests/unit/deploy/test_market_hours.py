"""The market-hours schedule's decision (knative/base/schedule/market_hours.py) on the real XNYS
calendar: warm on session days before the close, cold after it (early closes included), never
warmed on holidays or weekends; and the patch it sends."""

from __future__ import annotations

import importlib.util
import json
import warnings
from datetime import UTC, datetime
from types import ModuleType

import exchange_calendars
import pytest

from tests.unit.deploy.manifests import KNATIVE


def load_script() -> ModuleType:
    path = KNATIVE / "base" / "schedule" / "market_hours.py"
    spec = importlib.util.spec_from_file_location("market_hours", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = load_script()
with warnings.catch_warnings():
    # exchange_calendars on this pandas warns about its own use of Series.values: not ours.
    warnings.filterwarnings("ignore", message="Series.values returning")
    XNYS = exchange_calendars.get_calendar("XNYS")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_desired_min_scale_open_on_session_day_is_one() -> None:
    # Tuesday 2025-06-03, 09:25 New York (EDT, UTC-4)
    assert SCRIPT.desired_min_scale("open", at("2025-06-03T09:25:00-04:00"), XNYS) == "1"


def test_desired_min_scale_open_on_holiday_is_none() -> None:
    # Thursday 2025-12-25, Christmas: no session, stays at zero
    assert SCRIPT.desired_min_scale("open", at("2025-12-25T09:25:00-05:00"), XNYS) is None


def test_desired_min_scale_open_after_the_close_is_none() -> None:
    # a job that starts late (after the close) must not warm it up for the night
    assert SCRIPT.desired_min_scale("open", at("2025-06-03T16:30:00-04:00"), XNYS) is None


def test_desired_min_scale_close_after_early_close_is_zero() -> None:
    # Friday 2025-11-28, the day after Thanksgiving: XNYS closes at 13:00
    assert SCRIPT.desired_min_scale("close", at("2025-11-28T13:05:00-05:00"), XNYS) == "0"


def test_desired_min_scale_close_while_market_open_is_none() -> None:
    # 13:05 on a full day: the market is still open, leave it warm
    assert SCRIPT.desired_min_scale("close", at("2025-06-03T13:05:00-04:00"), XNYS) is None


def test_desired_min_scale_close_after_regular_close_is_zero() -> None:
    assert SCRIPT.desired_min_scale("close", at("2025-06-03T16:05:00-04:00"), XNYS) == "0"


def test_desired_min_scale_close_on_holiday_is_zero() -> None:
    assert SCRIPT.desired_min_scale("close", at("2025-12-25T16:05:00-05:00"), XNYS) == "0"


def test_desired_min_scale_uses_new_york_date_not_utc_date() -> None:
    # 2025-06-03 21:00 New York is already 2025-06-04 in UTC; the session of the 3rd has closed
    assert SCRIPT.desired_min_scale("close", at("2025-06-03T21:00:00-04:00"), XNYS) == "0"


def test_desired_min_scale_naive_time_raises() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SCRIPT.desired_min_scale("open", datetime(2025, 6, 3, 9, 25), XNYS)  # noqa: DTZ001


def test_desired_min_scale_unknown_action_raises() -> None:
    with pytest.raises(ValueError, match="open or close"):
        SCRIPT.desired_min_scale("noon", at("2025-06-03T12:00:00-04:00"), XNYS)


def test_patch_body_sets_only_the_min_scale_annotation() -> None:
    body = json.loads(SCRIPT.patch_body("1"))
    assert body == {
        "spec": {
            "template": {"metadata": {"annotations": {"autoscaling.knative.dev/min-scale": "1"}}}
        }
    }
    url = SCRIPT.service_url("trader")
    assert url.endswith("/apis/serving.knative.dev/v1/namespaces/trader/services/ai-decision")


def test_market_hours_main_unknown_action_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert SCRIPT.main(["noon"]) == 2
    assert "usage" in capsys.readouterr().err


def test_market_hours_main_dry_run_patches_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert SCRIPT.main(["close", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would set" in out or "nothing to change" in out
