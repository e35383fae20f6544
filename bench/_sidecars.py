"""What the sidecar benchmarks share: Redis and the pub/sub broker (NATS by default, or Kafka or
Redis itself) and a ``LocalPlatform`` on loopback in a temporary folder (placement and scheduler
only for benchmarks of workflows), stopped on the way out; and the figures they print."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from trader_cli.infra import KafkaServer, NatsServer, RedisServer, Server
from trader_cli.installer import kafka_libs_dir
from trader_cli.netutil import free_port
from trader_cli.platform import LocalPlatform
from trader_cli.runfile import Profile, load_run_file

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def nats_redis_platform(
    prefix: str, *, control_plane: bool = False, pubsub: str = "nats"
) -> Iterator[LocalPlatform]:
    """The platform on the Redis state store and the ``pubsub`` profile (``nats``, ``kafka`` or
    ``redis``: components/pubsub/<pubsub>)."""
    profile = Profile(pubsub=pubsub, state="redis")
    run_file = load_run_file(REPO / "dapr" / "dapr.yaml")
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        base = Path(folder)
        secrets = base / "secrets.json"
        secrets.write_text((REPO / "components/secrets/secrets.template.json").read_text())
        servers: list[Server] = []
        platform: LocalPlatform | None = None
        try:
            # One after the other, so each takes a port that is free once the previous listens.
            makers: dict[str, Callable[[], Server]] = {
                "nats": lambda: NatsServer(base / "nats", free_port()),
                "kafka": lambda: KafkaServer(base / "kafka", free_port(), kafka_libs_dir()),
            }
            for make in (
                lambda: RedisServer(base / "redis", free_port()),
                *([makers[pubsub]] if pubsub in makers else []),
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
