from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from trader_cli.errors import SetupError
from trader_cli.platform import readable_daprd_line, render_config
from trader_cli.runfile import Profile, load_run_file

REPO = Path(__file__).resolve().parents[3]


def test_run_file_repo_file_lists_the_six_apps_with_distinct_ports() -> None:
    run_file = load_run_file(REPO / "dapr" / "dapr.yaml")
    ids = [a.app_id for a in run_file.apps]
    assert ids == [
        "market-data",
        "ai-decision",
        "trading-engine",
        "orchestrator",
        "analytics",
        "api-gateway",
    ]
    ports = [
        p for a in run_file.apps for p in (a.app_port, a.http_port, a.grpc_port, a.metrics_port)
    ]
    assert len(ports) == len(set(ports))
    assert all(a.app_dir.is_dir() for a in run_file.apps)


def test_profile_swaps_only_the_pubsub_and_state_folders() -> None:
    run_file = load_run_file(REPO / "dapr" / "dapr.yaml")
    paths = Profile("kafka", "postgres").resources_paths(REPO, run_file.resources_paths)
    names = [str(p.relative_to(REPO)) for p in paths]
    assert names == [
        "components/pubsub/kafka",
        "components/state/postgres",
        "components/secrets/local",
        "components/bindings",
        "dapr/subscriptions",
        "dapr/resiliency",
    ]
    assert all(p.is_dir() for p in paths)


def test_profile_unknown_backend_is_refused_with_the_choices() -> None:
    with pytest.raises(SetupError, match=r"unknown pub/sub profile 'rabbit'.*nats, kafka, redis"):
        Profile("rabbit")
    with pytest.raises(SetupError, match="STATE to one of redis, postgres"):
        Profile(state="mongo")


def test_profile_from_env_reads_pubsub_and_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBSUB", "Redis")
    monkeypatch.delenv("STATE", raising=False)
    assert Profile.from_env() == Profile("redis", "redis")


def test_run_file_not_a_run_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "dapr.yaml"
    bad.write_text("version: 2\napps: []\n")
    with pytest.raises(SetupError, match="not a version 1 multi-app run file"):
        load_run_file(bad)
    bad.write_text("version: 1\napps:\n  - appID: x\n")
    with pytest.raises(SetupError, match=r"apps\[0\] has no 'command'"):
        load_run_file(bad)
    bad.write_text(": : :")
    with pytest.raises(SetupError, match="cannot read run file"):
        load_run_file(bad)


def test_app_spec_env_prefix_follows_app_id() -> None:
    run_file = load_run_file(REPO / "dapr" / "dapr.yaml")
    assert run_file.app("market-data").env_prefix == "MARKET_DATA_"
    with pytest.raises(SetupError, match="app 'nope' is not in"):
        run_file.app("nope")


def test_render_config_sampling_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.setenv("TRADER_TRACE_SAMPLING", "0.25")
    monkeypatch.setenv("TRADER_ZIPKIN_ENDPOINT", "http://127.0.0.1:9411/api/v2/spans")
    out = render_config(REPO / "dapr" / "config.yaml", tmp_path / "config.yaml")
    tracing = yaml.safe_load(out.read_text())["spec"]["tracing"]
    assert tracing["samplingRate"] == "0.25"
    assert tracing["zipkin"]["endpointAddress"].startswith("http://127.0.0.1:9411")


def test_render_config_bad_sampling_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADER_TRACE_SAMPLING", "lots")
    with pytest.raises(SetupError, match="TRADER_TRACE_SAMPLING='lots' is not a rate"):
        render_config(REPO / "dapr" / "config.yaml", tmp_path / "config.yaml")


def test_readable_daprd_line_hides_noise_and_keeps_errors() -> None:
    assert readable_daprd_line('time="t" level=warning msg="mTLS is disabled. Skipping"') is None
    assert readable_daprd_line('level=error msg="publish failed"') == "error: publish failed"
    assert readable_daprd_line("plain text") == "plain text"


def test_render_config_name_resolution_is_private_to_the_run(tmp_path: Path) -> None:
    out = render_config(REPO / "dapr" / "config.yaml", tmp_path / "run" / "config.yaml")
    resolution = yaml.safe_load(out.read_text())["spec"]["nameResolution"]
    assert resolution["component"] == "sqlite"
    assert resolution["configuration"]["connectionString"] == str(
        tmp_path / "run" / "nameresolution.db"
    )
