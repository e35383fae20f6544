"""The Dapr runtime: build daprd, placement and scheduler from the Go module proxy at one pinned
release (allcomponents), install them in ~/.dapr/bin, and run them.

The pin lives in dapr/runtime/go.mod (a tool module that repeats upstream's replace
directives); a binary already in ~/.dapr/bin that reports the pinned version is reused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SetupError
from .infra import Server
from .netutil import free_port
from .paths import dapr_bin_dir, repo_root

DAPR_BINARIES = ("daprd", "placement", "scheduler")


def pinned_version() -> str:
    go_mod = (repo_root() / "dapr" / "runtime" / "go.mod").read_text()
    match = re.search(r"^require github\.com/dapr/dapr v(\S+)", go_mod, re.MULTILINE)
    if not match:
        raise SetupError(
            "dapr/runtime/go.mod does not pin github.com/dapr/dapr", "restore it from git"
        )
    return match.group(1)


def installed_version(binary: Path) -> str | None:
    if not binary.exists():
        return None
    try:
        result = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or result.stderr.strip() or None


STAMP_FILE = ".trader-dapr-build.json"


def _stamp(binary: Path) -> dict[str, object]:
    info = binary.stat()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


def missing_binaries(version: str, bin_dir: Path | None = None) -> list[str]:
    """Binaries absent or not at ``version``. daprd reports its version; placement and scheduler
    do not (no --version flag), so a stamp written after our build vouches for them."""
    bin_dir = bin_dir or dapr_bin_dir()
    try:
        stamp = json.loads((bin_dir / STAMP_FILE).read_text())
    except (OSError, ValueError):
        stamp = {}
    missing = []
    for name in DAPR_BINARIES:
        binary = bin_dir / name
        if not binary.exists():
            missing.append(name)
        elif name == "daprd":
            if installed_version(binary) != version:
                missing.append(name)
        elif stamp.get("version") != version or stamp.get(name) != _stamp(binary):
            missing.append(name)
    return missing


def _write_stamp(version: str, bin_dir: Path) -> None:
    record: dict[str, object] = {"version": version, "tags": "allcomponents"}
    for name in DAPR_BINARIES:
        record[name] = _stamp(bin_dir / name)
    (bin_dir / STAMP_FILE).write_text(json.dumps(record, indent=2))


def ensure_dapr(bin_dir: Path | None = None) -> Path:
    """Build and install whatever binary is missing or at another version."""
    bin_dir = bin_dir or dapr_bin_dir()
    version = pinned_version()
    missing = missing_binaries(version, bin_dir)
    if not missing:
        print(f"✓ Dapr {version} runtime present in {bin_dir}", flush=True)
        return bin_dir
    go = shutil.which("go")
    if go is None:
        raise SetupError(
            "the Go toolchain is not installed", "install Go 1.26 or newer to build Dapr"
        )
    module = repo_root() / "dapr" / "runtime"
    bin_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"… building Dapr {version} ({', '.join(missing)}, tag allcomponents) from the Go module "
        "proxy; the first build takes 15–30 minutes on 2 cores",
        flush=True,
    )
    started = time.monotonic()
    command = [
        go,
        "build",
        "-tags",
        "allcomponents",
        "-trimpath",
        "-buildvcs=false",
        "-ldflags",
        f"-s -w -X github.com/dapr/dapr/pkg/buildinfo.version={version}",
        "-o",
        str(bin_dir) + os.sep,
        *(f"github.com/dapr/dapr/cmd/{name}" for name in missing),
    ]
    env = {
        **os.environ,
        "GOFLAGS": "-mod=readonly",
        "CGO_ENABLED": os.environ.get("CGO_ENABLED", "1"),
    }
    process = subprocess.Popen(
        command, cwd=module, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    tail: list[str] = []
    last_progress = started
    downloads = 0
    for line in process.stdout:
        tail = [*tail[-30:], line.rstrip()]
        if line.startswith("go: downloading"):
            downloads += 1
        if time.monotonic() - last_progress > 30:
            print(
                f"  … still building ({time.monotonic() - started:.0f}s, {downloads} modules "
                "downloaded)",
                flush=True,
            )
            last_progress = time.monotonic()
    if process.wait() != 0:
        raise SetupError("building the Dapr runtime failed", "\n".join(tail))
    if installed_version(bin_dir / "daprd") == version:
        _write_stamp(version, bin_dir)
    still_missing = missing_binaries(version, bin_dir)
    if still_missing:
        raise SetupError(
            f"built Dapr binaries do not report version {version}: {', '.join(still_missing)}",
            "remove them from ~/.dapr/bin and run make setup again",
        )
    print(f"✓ built Dapr {version} in {time.monotonic() - started:.0f}s → {bin_dir}", flush=True)
    return bin_dir


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(200 <= response.status < 300)
    except OSError:
        return False


class PlacementService(Server):
    name = "placement"
    setting = "TRADER_PLACEMENT_PORT"

    def __init__(self, data_dir: Path, port: int, healthz_port: int | None = None) -> None:
        super().__init__(data_dir, port)
        self.healthz_port = healthz_port or free_port()
        self.metrics_port = free_port()
        self.raft_port = free_port()

    def command(self) -> list[str]:
        return [
            str(dapr_bin_dir() / "placement"),
            "--port",
            str(self.port),
            "--listen-address",
            "127.0.0.1",
            "--healthz-port",
            str(self.healthz_port),
            "--healthz-listen-address",
            "127.0.0.1",
            "--metrics-port",
            str(self.metrics_port),
            "--metrics-listen-address",
            "127.0.0.1",
            "--initial-cluster",
            f"dapr-placement-0=127.0.0.1:{self.raft_port}",
            "--log-level",
            "warn",
        ]

    def ready(self) -> bool:
        return _http_ok(f"http://127.0.0.1:{self.healthz_port}/healthz")

    @property
    def env(self) -> dict[str, str]:
        return {}


class SchedulerService(Server):
    name = "scheduler"
    setting = "TRADER_SCHEDULER_PORT"

    def __init__(self, data_dir: Path, port: int) -> None:
        super().__init__(data_dir, port)
        self.healthz_port = free_port()
        self.metrics_port = free_port()
        self.etcd_client_port = free_port()
        self.etcd_peer_port = free_port()

    def command(self) -> list[str]:
        return [
            str(dapr_bin_dir() / "scheduler"),
            "--port",
            str(self.port),
            "--listen-address",
            "127.0.0.1",
            "--healthz-port",
            str(self.healthz_port),
            "--healthz-listen-address",
            "127.0.0.1",
            "--metrics-port",
            str(self.metrics_port),
            "--metrics-listen-address",
            "127.0.0.1",
            "--etcd-data-dir",
            str(self.data_dir / "etcd"),
            "--etcd-client-port",
            str(self.etcd_client_port),
            "--etcd-client-listen-address",
            "127.0.0.1",
            "--etcd-initial-cluster",
            f"dapr-scheduler-server-0=http://127.0.0.1:{self.etcd_peer_port}",
            "--log-level",
            "warn",
        ]

    def ready(self) -> bool:
        return _http_ok(f"http://127.0.0.1:{self.healthz_port}/healthz")

    @property
    def env(self) -> dict[str, str]:
        return {}


@dataclass
class SidecarPorts:
    http: int = field(default_factory=free_port)
    grpc: int = field(default_factory=free_port)
    internal_grpc: int = field(default_factory=free_port)
    metrics: int = field(default_factory=free_port)


def daprd_command(
    *,
    app_id: str,
    app_port: int | None,
    ports: SidecarPorts,
    resources_paths: Sequence[Path],
    config: Path | None,
    placement_address: str | None,
    scheduler_address: str | None,
    log_level: str = "warn",
    app_health_check_path: str | None = "/healthz",
) -> list[str]:
    command = [
        str(dapr_bin_dir() / "daprd"),
        "--app-id",
        app_id,
        "--dapr-http-port",
        str(ports.http),
        "--dapr-grpc-port",
        str(ports.grpc),
        "--dapr-internal-grpc-port",
        str(ports.internal_grpc),
        "--metrics-port",
        str(ports.metrics),
        "--dapr-listen-addresses",
        "127.0.0.1",
        "--dapr-internal-grpc-listen-address",
        "127.0.0.1",
        "--metrics-listen-address",
        "127.0.0.1",
        "--log-level",
        log_level,
        "--mode",
        "standalone",
    ]
    if app_port is not None:
        command += [
            "--app-port",
            str(app_port),
            "--app-protocol",
            "http",
            "--app-channel-address",
            "127.0.0.1",
        ]
        if app_health_check_path:
            command += [
                "--enable-app-health-check",
                "--app-health-check-path",
                app_health_check_path,
                "--app-health-probe-interval",
                "1",
            ]
    for path in resources_paths:
        command += ["--resources-path", str(path)]
    if config is not None:
        command += ["--config", str(config)]
    command += ["--placement-host-address", placement_address or ""]
    if scheduler_address:
        command += ["--scheduler-host-address", scheduler_address]
    return command


def python_executable() -> str:
    return sys.executable
