"""The multi-app run file (dapr/dapr.yaml, the Dapr CLI's `dapr run -f` format) and profiles."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import SetupError

PUBSUB_PROFILES = ("nats", "kafka", "redis")
STATE_PROFILES = ("redis", "postgres")


@dataclass(frozen=True)
class Profile:
    pubsub: str = "nats"
    state: str = "redis"

    def __post_init__(self) -> None:
        if self.pubsub not in PUBSUB_PROFILES:
            raise SetupError(
                f"unknown pub/sub profile {self.pubsub!r}",
                f"set PUBSUB to one of {', '.join(PUBSUB_PROFILES)}",
            )
        if self.state not in STATE_PROFILES:
            raise SetupError(
                f"unknown state profile {self.state!r}",
                f"set STATE to one of {', '.join(STATE_PROFILES)}",
            )

    @classmethod
    def from_env(cls) -> Profile:
        return cls(
            pubsub=os.environ.get("PUBSUB", "nats").strip().lower() or "nats",
            state=os.environ.get("STATE", "redis").strip().lower() or "redis",
        )

    def resources_paths(self, root: Path, declared: list[Path]) -> list[Path]:
        """The run file's resource folders with the pub/sub and state folders of this profile."""
        components = (root / "components").resolve()
        out: list[Path] = []
        for path in declared:
            resolved = path.resolve()
            if resolved.parent == components / "pubsub":
                resolved = components / "pubsub" / self.pubsub
            elif resolved.parent == components / "state":
                resolved = components / "state" / self.state
            out.append(resolved)
        return out


@dataclass
class AppSpec:
    app_id: str
    command: list[str]
    app_dir: Path
    app_port: int
    http_port: int
    grpc_port: int
    metrics_port: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def env_prefix(self) -> str:
        """Each app reads settings with its id as prefix: market-data → MARKET_DATA_."""
        return self.app_id.upper().replace("-", "_") + "_"

    def with_ports(self, app: int, http: int, grpc: int, metrics: int) -> AppSpec:
        return replace(self, app_port=app, http_port=http, grpc_port=grpc, metrics_port=metrics)


@dataclass
class RunFile:
    path: Path
    resources_paths: list[Path]
    config: Path
    log_level: str
    app_health_check_path: str
    apps: list[AppSpec]

    def app(self, app_id: str) -> AppSpec:
        for spec in self.apps:
            if spec.app_id == app_id:
                return spec
        raise SetupError(f"app {app_id!r} is not in {self.path}", "check the run file")


def _require(mapping: dict[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise SetupError(f"{where} has no {key!r}", "fix the run file (see dapr/dapr.yaml in git)")
    return mapping[key]


def load_run_file(path: Path) -> RunFile:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SetupError(f"cannot read run file {path}: {exc}", "fix or restore it") from None
    if not isinstance(document, dict) or document.get("version") != 1:
        raise SetupError(f"{path} is not a version 1 multi-app run file", "restore it from git")
    base = path.parent
    common = document.get("common") or {}
    apps = []
    for index, raw in enumerate(_require(document, "apps", str(path))):
        where = f"{path} apps[{index}]"
        command = _require(raw, "command", where)
        if not isinstance(command, list) or not command:
            raise SetupError(f"{where}.command must be a non-empty list", "fix the run file")
        apps.append(
            AppSpec(
                app_id=str(_require(raw, "appID", where)),
                command=[str(c) for c in command],
                app_dir=(base / str(_require(raw, "appDirPath", where))).resolve(),
                app_port=int(_require(raw, "appPort", where)),
                http_port=int(_require(raw, "daprHTTPPort", where)),
                grpc_port=int(_require(raw, "daprGRPCPort", where)),
                metrics_port=int(raw.get("metricsPort", 0)) or 0,
                env={str(k): str(v) for k, v in (raw.get("env") or {}).items()},
            )
        )
    resources = [(base / p).resolve() for p in common.get("resourcesPaths", [])]
    for folder in resources:
        if not folder.is_dir() and folder.parent.name not in ("pubsub", "state"):
            raise SetupError(f"resources folder {folder} does not exist", f"fix {path}")
    return RunFile(
        path=path,
        resources_paths=resources,
        config=(base / str(common.get("configFilePath", "config.yaml"))).resolve(),
        log_level=str(common.get("logLevel", "warn")),
        app_health_check_path=str(common.get("appHealthCheckPath", "/healthz")),
        apps=apps,
    )
