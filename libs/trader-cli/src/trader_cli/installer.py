"""Install what the platform needs on a bare machine of this kind, skipping what is present."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from .errors import SetupError
from .infra import PG_BIN
from .paths import local_dir, repo_root, resource

# binary → Debian package that provides it
DEBIAN_PACKAGES = {
    "redis-server": "redis-server",
    "nats-server": "nats-server",
    str(PG_BIN / "postgres"): "postgresql",
    "java": "openjdk-17-jre-headless",
    "mvn": "maven",
}


def _present(binary: str) -> bool:
    return Path(binary).exists() if binary.startswith("/") else shutil.which(binary) is not None


def ensure_debian_packages() -> None:
    missing = sorted({pkg for binary, pkg in DEBIAN_PACKAGES.items() if not _present(binary)})
    if not missing:
        print("✓ Redis, NATS, PostgreSQL, Java and Maven present", flush=True)
        return
    if os.geteuid() != 0 and shutil.which("sudo") is None:
        raise SetupError(
            f"missing Debian packages: {', '.join(missing)}",
            f"install them: sudo apt-get install -y {' '.join(missing)}",
        )
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    print(f"… installing Debian packages: {', '.join(missing)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        [*prefix, "apt-get", "update", "-qq"],
        [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SetupError(f"{' '.join(command)} failed", result.stderr.strip()[-400:])
    print(f"✓ installed {', '.join(missing)}", flush=True)


def kafka_libs_dir() -> Path:
    return local_dir() / "kafka" / "libs"


def ensure_kafka() -> Path:
    libs = kafka_libs_dir()
    pom = resource("kafka", "pom.xml")
    stamp = libs / ".pom"
    if stamp.exists() and stamp.read_text() == pom.read_text():
        print("✓ Kafka present in .local/kafka", flush=True)
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SetupError("Maven is not installed", "apt-get install maven (make setup does it)")
    print("… fetching Apache Kafka from Maven Central", flush=True)
    started = time.monotonic()
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SetupError("fetching Kafka with Maven failed", (result.stdout + result.stderr)[-600:])
    stamp.write_text(pom.read_text())
    print(f"✓ Kafka fetched ({time.monotonic() - started:.0f}s)", flush=True)
    return libs


def ensure_secrets_file() -> Path:
    """The local secret store file; created from the committed template when absent."""
    template = repo_root() / "components" / "secrets" / "secrets.template.json"
    secrets = Path(os.environ.get("TRADER_SECRETS_FILE", local_dir() / "secrets.json"))
    if not secrets.exists():
        secrets.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, secrets)
        secrets.chmod(0o600)
        print(f"✓ created {secrets} from the template (fill in keys to leave offline mode)")
    return secrets
