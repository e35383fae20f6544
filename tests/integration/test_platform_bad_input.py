"""Bad set-up input stops start-up with one clear line and leaves nothing running."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, ServerPool
from trader_cli.errors import SetupError
from trader_cli.netutil import free_port, port_open
from trader_cli.platform import LocalPlatform
from trader_cli.runfile import Profile, load_run_file

pytestmark = pytest.mark.integration


def platform_for(
    tmp_path: Path, servers: ServerPool, resources: list[Path], env: dict[str, str]
) -> LocalPlatform:
    run_file = load_run_file(REPO / "dapr" / "dapr.yaml")
    spec = run_file.app("trading-engine").with_ports(
        free_port(), free_port(), free_port(), free_port()
    )
    spec.env.update(env)
    return LocalPlatform(
        apps=[spec],
        resources_paths=resources,
        config=run_file.config,
        infra_env=servers.env_for(Profile()),
        run_dir=tmp_path / "run",
        python=sys.executable,
        secrets_file=tmp_path / "secrets.json",
    )


def test_platform_invalid_component_file_names_it_and_stops_everything(
    tmp_path: Path, servers: ServerPool, dapr_installed: None
) -> None:
    broken = tmp_path / "components"
    shutil.copytree(REPO / "components" / "pubsub" / "nats", broken)
    (broken / "pubsub.yaml").write_text(
        (broken / "pubsub.yaml").read_text().replace("pubsub.jetstream", "pubsub.nosuchthing")
    )
    platform = platform_for(
        tmp_path, servers, [broken, REPO / "components" / "state" / "redis"], {}
    )
    with pytest.raises(SetupError) as failure:
        platform.start(timeout=60)
    message = str(failure.value)
    assert "trading-engine-dapr exited during start-up" in message
    assert "pubsub.nosuchthing" in message
    assert "\n" not in failure.value.what
    spec = platform.apps[0]
    assert not port_open(spec.app_port)
    assert not port_open(spec.http_port)
    assert platform.running == {}


def test_platform_invalid_app_setting_names_the_variable(
    tmp_path: Path, servers: ServerPool, dapr_installed: None
) -> None:
    platform = platform_for(
        tmp_path,
        servers,
        [REPO / "components" / "pubsub" / "nats", REPO / "components" / "state" / "redis"],
        {"TRADING_ENGINE_QUOTE_TTL_SECONDS": "forever"},
    )
    with pytest.raises(SetupError, match="invalid setting TRADING_ENGINE_QUOTE_TTL_SECONDS"):
        platform.start(timeout=60)
    assert not port_open(platform.apps[0].http_port)
