"""Shared fixtures. Tiers: unit (no servers), contract (schemas; provider fakes on loopback),
integration (real Redis / NATS / PostgreSQL / Kafka / daprd), e2e (several apps with their real
sidecars). Servers start lazily, once per session, on free loopback ports in temporary folders,
and stop at the end of the session."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trader_cli.dapr_runtime import missing_binaries, pinned_version
from trader_cli.errors import SetupError
from trader_cli.infra import KafkaServer, NatsServer, PostgresServer, RedisServer, Server
from trader_cli.installer import kafka_libs_dir
from trader_cli.netutil import free_port
from trader_cli.platform import LocalPlatform
from trader_cli.runfile import AppSpec, Profile, load_run_file

REPO = Path(__file__).resolve().parents[1]


class ServerPool:
    """Starts each kind of server at most once per session, on demand."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.servers: dict[str, Server] = {}

    def get(self, name: str) -> Server:
        if name not in self.servers:
            folder = self.base / name
            factories: dict[str, Callable[[], Server]] = {
                "redis": lambda: RedisServer(folder, free_port()),
                "nats": lambda: NatsServer(folder, free_port()),
                "postgres": lambda: PostgresServer(folder, free_port()),
                "kafka": lambda: KafkaServer(folder, free_port(), kafka_libs_dir()),
            }
            server = factories[name]()
            server.start(timeout=120)
            self.servers[name] = server
        return self.servers[name]

    def env_for(self, profile: Profile) -> dict[str, str]:
        env = dict(self.get("redis").env)
        if profile.pubsub in ("nats", "kafka"):
            env.update(self.get(profile.pubsub).env)
        if profile.state == "postgres":
            env.update(self.get("postgres").env)
        return env

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerPool]:
    # A folder of our own, not pytest's numbered temp folders: pytest prunes those (keeping the
    # last few runs), and a concurrent pytest run would delete a live server's data under it.
    base = Path(tempfile.mkdtemp(prefix="trader-test-infra-"))
    pool = ServerPool(base)
    try:
        yield pool
    finally:
        pool.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def dapr_installed() -> None:
    missing = missing_binaries(pinned_version())
    if missing:
        raise SetupError(
            f"Dapr binaries missing or at another version: {', '.join(missing)}",
            "run `make setup` (make test does it) to build them",
        )


PlatformFactory = Callable[..., LocalPlatform]


@pytest.fixture
def platform_factory(
    servers: ServerPool, dapr_installed: None, tmp_path: Path
) -> Iterator[PlatformFactory]:
    """Start some apps of dapr/dapr.yaml with their sidecars on free ports for one test.

    ``secrets`` fills keys of the local-file secret store the sidecars read (a copy of
    components/secrets/secrets.template.json for this test), e.g.
    ``{"finnhub": {"api-key": "..."}}``."""
    started: list[LocalPlatform] = []
    run_file = load_run_file(REPO / "dapr" / "dapr.yaml")
    secrets_file = tmp_path / "secrets.json"
    template = (REPO / "components" / "secrets" / "secrets.template.json").read_text()
    secrets_file.write_text(template)

    def start(
        apps: list[str],
        profile: Profile = Profile(),
        env: dict[str, dict[str, str]] | None = None,
        extra_env: dict[str, str] | None = None,
        secrets: dict[str, dict[str, str]] | None = None,
    ) -> LocalPlatform:
        if secrets is not None:
            document = json.loads(template)
            for group, values in secrets.items():
                document.setdefault(group, {}).update(values)
            secrets_file.write_text(json.dumps(document, indent=2))
        specs: list[AppSpec] = []
        for app_id in apps:
            spec = run_file.app(app_id).with_ports(
                free_port(), free_port(), free_port(), free_port()
            )
            spec.env.update((env or {}).get(app_id, {}))
            specs.append(spec)
        platform = LocalPlatform(
            apps=specs,
            resources_paths=profile.resources_paths(REPO, run_file.resources_paths),
            config=run_file.config,
            infra_env={
                **servers.env_for(profile),
                # analytics keeps its read model in PostgreSQL whatever the state profile
                **(servers.get("postgres").env if "analytics" in apps else {}),
            },
            run_dir=tmp_path / f"run-{len(started)}",
            python=sys.executable,
            secrets_file=secrets_file,
            log_level="info",
            extra_env=extra_env or {},
        )
        started.append(platform)
        platform.start(timeout=120)
        return platform

    try:
        yield start
    finally:
        for platform in reversed(started):
            platform.stop()
