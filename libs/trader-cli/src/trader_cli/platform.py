"""Start and stop the local platform: infrastructure, Dapr control plane, apps and sidecars.

Used by `trader run` (foreground, output echoed with a prefix per process) and by the
integration and end-to-end tests (free ports, temporary folders, output to log files).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from .dapr_runtime import PlacementService, SchedulerService, SidecarPorts, daprd_command
from .errors import SetupError
from .infra import KafkaServer, NatsServer, PostgresServer, RedisServer, Server
from .netutil import ensure_port_free, free_port
from .procs import ManagedProcess
from .runfile import AppSpec, Profile


@dataclass
class InfraPorts:
    redis: int = int(os.environ.get("TRADER_REDIS_PORT", 16379))
    nats: int = int(os.environ.get("TRADER_NATS_PORT", 14222))
    postgres: int = int(os.environ.get("TRADER_POSTGRES_PORT", 15432))
    kafka: int = int(os.environ.get("TRADER_KAFKA_PORT", 19092))
    placement: int = int(os.environ.get("TRADER_PLACEMENT_PORT", 16050))
    scheduler: int = int(os.environ.get("TRADER_SCHEDULER_PORT", 16060))

    @classmethod
    def free(cls) -> InfraPorts:
        return cls(*(free_port() for _ in range(6)))


class Infrastructure:
    """The servers a profile needs. Redis (default state store, cache) and PostgreSQL (analytics'
    database, optional state store) are always there; NATS or Kafka by the pub/sub profile."""

    def __init__(
        self, profile: Profile, base_dir: Path, ports: InfraPorts, kafka_libs: Path
    ) -> None:
        self.profile = profile
        self.servers: list[Server] = [RedisServer(base_dir / "redis", ports.redis)]
        if profile.pubsub == "nats":
            self.servers.append(NatsServer(base_dir / "nats", ports.nats))
        if profile.pubsub == "kafka":
            self.servers.append(KafkaServer(base_dir / "kafka", ports.kafka, kafka_libs))
        # PostgreSQL always: it is analytics' own database, whatever the state profile.
        self.servers.append(PostgresServer(base_dir / "postgres", ports.postgres))

    def start(self, say: Callable[[str], object] = print) -> None:
        for server in self.servers:
            started = time.monotonic()
            reused = server.running_pid() is not None
            server.start()
            verb = "reused" if reused and not server.started_here else "started"
            took = time.monotonic() - started
            say(f"✓ {server.name} {verb} on 127.0.0.1:{server.port} ({took:.1f}s)")

    def stop(self, only_started_here: bool = True) -> None:
        for server in reversed(self.servers):
            if server.started_here or not only_started_here:
                server.stop()

    @property
    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for server in self.servers:
            env.update(server.env)
        return env


def render_config(source: Path, target: Path) -> Path:
    """The Dapr Configuration with the sampling rate and Zipkin endpoint from the environment,
    and name resolution private to this platform."""
    document = yaml.safe_load(source.read_text())
    tracing = document.setdefault("spec", {}).setdefault("tracing", {})
    rate = os.environ.get("TRADER_TRACE_SAMPLING", str(tracing.get("samplingRate", "1")))
    try:
        if not 0 <= float(rate) <= 1:
            raise ValueError
    except ValueError:
        raise SetupError(
            f"TRADER_TRACE_SAMPLING={rate!r} is not a rate", "use a number from 0 to 1"
        ) from None
    tracing["samplingRate"] = rate
    if endpoint := os.environ.get("TRADER_ZIPKIN_ENDPOINT"):
        tracing["zipkin"] = {"endpointAddress": endpoint}
    # App ids resolve within this platform only (a SQLite file in its run folder), not through
    # machine-wide mDNS: two platforms on one machine (`make run`, a test, `trader dual-run`)
    # would otherwise call each other's apps. ADR 0009.
    document["spec"]["nameResolution"] = {
        "component": "sqlite",
        "version": "v1",
        "configuration": {"connectionString": str(target.parent / "nameresolution.db")},
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(document, sort_keys=False))
    return target


_DAPRD_NOISE = (
    "mTLS is disabled",
    "increasedCardinality",
    "Graceful shutdown timeout is infinite",
    "non-YAML",
    "Error receiving from stream: rpc error: code = Canceled",
)
_LOGFMT = re.compile(r'level=(\w+) msg="((?:[^"\\]|\\.)*)"')


def readable_daprd_line(line: str) -> str | None:
    """daprd logs logfmt; show level and message, and hide start-up notices that never matter
    on a laptop (the full line is always in the log file)."""
    match = _LOGFMT.search(line)
    if match is None:
        return line
    level, message = match.groups()
    if any(noise in message for noise in _DAPRD_NOISE):
        return None
    return f"{level}: {message.encode().decode('unicode_escape')}"


def exit_reason(process: ManagedProcess) -> str:
    """The one line that says why a process died: daprd's fatal message, the app's invalid
    settings, or else the last line it wrote."""
    lines = [line for line in process.log_tail(60).splitlines() if line.strip()]
    for line in reversed(lines):
        match = _LOGFMT.search(line)
        if match and match.group(1) == "fatal":
            return match.group(2).encode().decode("unicode_escape")
    settings = [line for line in lines if line.startswith("invalid setting ")]
    if settings:
        return "; ".join(settings)
    return lines[-1] if lines else f"exit code {process.exit_code()}"


@dataclass
class RunningApp:
    spec: AppSpec
    app: ManagedProcess
    sidecar: ManagedProcess
    ports: SidecarPorts

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.spec.app_port}"

    @property
    def sidecar_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.http}"


@dataclass
class LocalPlatform:
    """Apps with their sidecars, plus placement and scheduler, on a given infrastructure."""

    apps: list[AppSpec]
    resources_paths: list[Path]
    config: Path
    infra_env: Mapping[str, str]
    run_dir: Path
    python: str
    secrets_file: Path
    placement_port: int = field(default_factory=free_port)
    scheduler_port: int = field(default_factory=free_port)
    echo: bool = False
    log_level: str = "warn"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Placement and scheduler serve actors, workflows and jobs; a platform without them (e.g. a
    # benchmark of pub/sub) starts faster and opens fewer ports.
    control_plane: bool = True
    running: dict[str, RunningApp] = field(default_factory=dict)
    placement: PlacementService | None = None
    scheduler: SchedulerService | None = None

    def _say(self, message: str) -> None:
        if self.echo:
            print(message, flush=True)

    def start(self, timeout: float = 90.0) -> None:
        try:
            if self.control_plane:
                self.placement = PlacementService(self.run_dir / "placement", self.placement_port)
                self.placement.start()
                self.scheduler = SchedulerService(self.run_dir / "scheduler", self.scheduler_port)
                self.scheduler.start()
                self._say(
                    f"✓ Dapr placement :{self.placement_port} and scheduler :{self.scheduler_port}"
                )
            config = render_config(self.config, self.run_dir / "config.yaml")
            for index, spec in enumerate(self.apps):
                running = self.start_app(spec, config)
                if index == 0:
                    # The first sidecar creates what components share (the PostgreSQL state
                    # store's tables, for one); sidecars initialising them at the same moment
                    # race on CREATE TABLE and one dies. The others start once it is done.
                    self.wait_components(running, timeout)
            self.wait_ready(self.running.values(), timeout)
        except BaseException:
            self.stop()
            raise

    def app_urls(self) -> dict[str, str]:
        """TRADER_<APP>_URL for every app of this platform (HTTP output bindings use them)."""
        return {
            f"TRADER_{spec.env_prefix}URL": f"http://127.0.0.1:{spec.app_port}"
            for spec in self.apps
        }

    def start_app(self, spec: AppSpec, config: Path | None = None) -> RunningApp:
        config = config or self.run_dir / "config.yaml"
        for port, what in (
            (spec.app_port, f"app {spec.app_id}"),
            (spec.http_port, f"sidecar of {spec.app_id}"),
        ):
            ensure_port_free(port, what, "the ports in dapr/dapr.yaml")
        ports = SidecarPorts(
            http=spec.http_port, grpc=spec.grpc_port, metrics=spec.metrics_port or free_port()
        )
        base_env = {
            **os.environ,
            **self.app_urls(),
            **self.infra_env,
            **self.extra_env,
            "TRADER_SECRETS_FILE": str(self.secrets_file),
        }
        app_env = {
            **base_env,
            **spec.env,
            f"{spec.env_prefix}PORT": str(spec.app_port),
            f"{spec.env_prefix}APP_ID": spec.app_id,
            "DAPR_HTTP_PORT": str(ports.http),
            "DAPR_GRPC_PORT": str(ports.grpc),
            "APP_ID": spec.app_id,
            "PYTHONUNBUFFERED": "1",
        }
        if self.echo:  # a person reads the console: plain lines instead of JSON
            app_env.setdefault(f"{spec.env_prefix}LOG_JSON", "false")
        command = [self.python if c in ("python", "python3") else c for c in spec.command]
        logs = self.run_dir / "logs"
        app = ManagedProcess(
            spec.app_id,
            command,
            log_file=logs / f"{spec.app_id}.log",
            env=app_env,
            cwd=spec.app_dir,
            echo=self.echo,
        )
        sidecar = ManagedProcess(
            f"{spec.app_id}-dapr",
            daprd_command(
                app_id=spec.app_id,
                app_port=spec.app_port,
                ports=ports,
                resources_paths=self.resources_paths,
                config=config,
                placement_address=(
                    f"127.0.0.1:{self.placement_port}" if self.control_plane else None
                ),
                scheduler_address=(
                    f"127.0.0.1:{self.scheduler_port}" if self.control_plane else None
                ),
                log_level=self.log_level,
            ),
            log_file=logs / f"{spec.app_id}-daprd.log",
            env=base_env,
            cwd=self.run_dir,
            echo=self.echo,
            echo_format=readable_daprd_line,
        )
        sidecar.start()
        app.start()
        running = RunningApp(spec, app, sidecar, ports)
        self.running[spec.app_id] = running
        return running

    def wait_ready(self, apps: Iterable[RunningApp], timeout: float = 90.0) -> None:
        pending = {a.spec.app_id: a for a in apps}
        deadline = time.monotonic() + timeout
        last_detail: dict[str, str] = {}
        with httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for app_id, app in list(pending.items()):
                    for process in (app.app, app.sidecar):
                        if not process.alive():
                            raise SetupError(
                                f"{process.name} exited during start-up: {exit_reason(process)}",
                                f"see {process.log_file}",
                            )
                    try:
                        response = client.get(f"{app.url}/readyz")
                        if response.status_code == 200:
                            del pending[app_id]
                            self._say(f"✓ {app_id} ready on {app.url} (sidecar {app.sidecar_url})")
                        else:
                            last_detail[app_id] = response.json().get("detail", response.text)
                    except (httpx.HTTPError, ValueError) as exc:
                        last_detail[app_id] = str(exc) or type(exc).__name__
                time.sleep(0.25)
        if pending:
            details = "; ".join(f"{a}: {last_detail.get(a, 'no answer')}" for a in pending)
            logs = ", ".join(str(pending[a].sidecar.log_file) for a in pending)
            raise SetupError(f"not ready after {timeout:.0f}s — {details}", f"see {logs}")

    def wait_components(self, app: RunningApp, timeout: float) -> None:
        """Until the sidecar has initialised its components (its outbound health is green)."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as client:
            while time.monotonic() < deadline:
                if not app.sidecar.alive():
                    raise SetupError(
                        f"{app.sidecar.name} exited during start-up: {exit_reason(app.sidecar)}",
                        f"see {app.sidecar.log_file}",
                    )
                try:
                    if client.get(f"{app.sidecar_url}/v1.0/healthz/outbound").status_code < 300:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise SetupError(
            f"{app.sidecar.name} did not initialise its components within {timeout:.0f}s",
            f"see {app.sidecar.log_file}",
        )

    def restart_app(self, app_id: str, timeout: float = 60.0) -> RunningApp:
        """Start the app process again (after ``kill``), keeping its sidecar."""
        running = self.running[app_id]
        running.app.start()
        self.wait_ready([running], timeout)
        return running

    def stop(self) -> None:
        # Sidecars first: they stop taking messages, so none is delivered to a stopped app.
        for running in reversed(list(self.running.values())):
            running.sidecar.stop()
        for running in reversed(list(self.running.values())):
            running.app.stop()
        self.running.clear()
        for service in (self.scheduler, self.placement):
            if service is not None:
                service.stop()
