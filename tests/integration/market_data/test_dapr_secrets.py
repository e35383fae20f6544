"""Provider keys through a real daprd and its local-file secret store (the component the
platform ships, components/secrets/local): nested keys with ``:``, unset and empty keys, an
unknown store, and no sidecar at all."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from market_data.adapters.secrets import DaprSecretSource
from trader_cli.dapr_runtime import SidecarPorts, daprd_command
from trader_cli.netutil import free_port, wait_port
from trader_cli.procs import ManagedProcess
from trader_common.adapters.dapr import DaprSidecar
from trader_common.ports import PlatformUnavailableError

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]

ALPACA_KEY = "AKTESTKEY0000000001"
ALPACA_SECRET = "alpaca-secret-value-do-not-log"


@pytest.fixture(scope="module")
def sidecar_port(dapr_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A daprd with no app and only the shipped secret store, reading a secrets file made
    from the template (Alpaca's keys filled in, the others left empty)."""
    folder = tmp_path_factory.mktemp("secrets-sidecar")
    document = json.loads((REPO / "components" / "secrets" / "secrets.template.json").read_text())
    document["alpaca"] = {"api-key": ALPACA_KEY, "secret-key": ALPACA_SECRET}
    secrets_file = folder / "secrets.json"
    secrets_file.write_text(json.dumps(document))
    ports = SidecarPorts()
    process = ManagedProcess(
        "daprd",
        daprd_command(
            app_id="secrets-test",
            app_port=None,
            ports=ports,
            resources_paths=[REPO / "components" / "secrets" / "local"],
            config=None,
            placement_address=None,
            scheduler_address=None,
            log_level="info",
        ),
        log_file=folder / "daprd.log",
        env={**os.environ, "TRADER_SECRETS_FILE": str(secrets_file)},
    )
    process.start()
    try:
        wait_port(ports.http, 30, "daprd")
        for _ in range(150):
            if httpx.get(f"http://127.0.0.1:{ports.http}/v1.0/healthz").status_code < 300:
                break
            time.sleep(0.2)
        yield ports.http
    finally:
        process.stop()


@pytest.fixture
async def client(sidecar_port: int) -> AsyncIterator[DaprSidecar]:
    handle = DaprSidecar(sidecar_port)
    yield handle
    await handle.close()


async def test_dapr_secret_nested_key_is_read_through_the_sidecar(client: DaprSidecar) -> None:
    source = DaprSecretSource(client)
    assert await source.get("alpaca:api-key") == ALPACA_KEY
    assert await source.get("alpaca:secret-key") == ALPACA_SECRET


async def test_dapr_secret_not_in_the_store_is_none(client: DaprSidecar) -> None:
    assert await DaprSecretSource(client).get("polygon:api-key") is None


async def test_dapr_secret_empty_value_is_none(client: DaprSidecar) -> None:
    # The template's keys are empty strings: "not set", so the connector stays down.
    assert await DaprSecretSource(client).get("finnhub:api-key") is None


async def test_dapr_secret_unknown_store_is_an_error_naming_the_secret_not_its_value(
    client: DaprSidecar,
) -> None:
    with pytest.raises(PlatformUnavailableError, match="'alpaca:api-key' from 'vault'") as caught:
        await DaprSecretSource(client, store="vault").get("alpaca:api-key")
    assert ALPACA_KEY not in str(caught.value)
    assert ALPACA_SECRET not in str(caught.value)


async def test_dapr_secret_sidecar_down_is_platform_unavailable() -> None:
    handle = DaprSidecar(free_port())  # nothing listens there
    try:
        with pytest.raises(PlatformUnavailableError, match="unreachable"):
            await DaprSecretSource(handle).get("alpaca:api-key")
    finally:
        await handle.close()
