"""What the sidecar benchmarks share: NATS + Redis and a ``LocalPlatform`` on loopback in a
temporary folder (placement and scheduler only for benchmarks of workflows), stopped on the way
out; and the figures they print."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from trader_cli.infra import NatsServer, RedisServer, Server
from trader_cli.netutil import free_port
from trader_cli.platform import LocalPlatform
from trader_cli.runfile import Profile, load_run_file

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def nats_redis_platform(prefix: str, *, control_plane: bool = False) -> Iterator[LocalPlatform]:
    profile = Profile(pubsub="nats", state="redis")
    run_file = load_run_file(REPO / "dapr" / "dapr.yaml")
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        base = Path(folder)
        secrets = base / "secrets.json"
        secrets.write_text((REPO / "components/secrets/secrets.template.json").read_text())
        servers: list[Server] = []
        platform: LocalPlatform | None = None
        try:
            # One after the other, so each takes a port that is free once the previous listens.
            for make in (
                lambda: RedisServer(base / "redis", free_port()),
                lambda: NatsServer(base / "nats", free_port()),
            ):
                servers.append(make())
                servers[-1].start(timeout=60)
            platform = LocalPlatform(
                apps=[],
                resources_paths=profile.resources_paths(REPO, run_file.resources_paths),
                config=run_file.config,
                infra_env={k: v for server in servers for k, v in server.env.items()},
                run_dir=base / "run",
                python=sys.executable,
                secrets_file=secrets,
                log_level="warn",
                control_plane=control_plane,
            )
            platform.start(timeout=120)
            yield platform
        finally:
            if platform is not None:
                platform.stop()
            for server in reversed(servers):
                server.stop()


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def daprd_version(sidecar_url: str) -> Any:
    try:
        return httpx.get(f"{sidecar_url}/v1.0/metadata", timeout=5).json()["runtimeVersion"]
    except (httpx.HTTPError, KeyError, ValueError):
        return "?"
