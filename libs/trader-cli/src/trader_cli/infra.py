"""Local infrastructure as real servers: Redis, NATS JetStream, PostgreSQL, Kafka (KRaft).

Each server keeps its data and log in its own folder (under .local/ for `make run`, a temporary
folder for tests), listens on 127.0.0.1 only, and records its pid there. Start is idempotent
(a live server of ours on the same port is reused) and waits for readiness; stop ends only a
server whose pid file we wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

from trader_common.contracts import DEAD_LETTER_TOPIC, DECISION_REQUESTS_TOPIC, Topic

from .errors import SetupError
from .netutil import ensure_port_free, free_port, port_open
from .paths import resource
from .procs import ManagedProcess, pid_alive, stop_group

PG_BIN = Path(os.environ.get("TRADER_PG_BIN", "/usr/lib/postgresql/15/bin"))
STREAM_NAME = "TRADER"
DLQ_STREAM_NAME = "TRADER_DEADLETTERS"


class Server(ABC):
    name: str
    setting: str  # the env var that sets its port, for error messages

    def __init__(self, data_dir: Path, port: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.log_file = data_dir / f"{self.name}.log"
        self.pid_file = data_dir / f"{self.name}.pid"
        self.started_here = False

    # -- what each server defines ------------------------------------------------------------
    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def ready(self) -> bool: ...

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """One-time set-up of the data folder before the first start."""

    def after_ready(self) -> None:  # noqa: B027 - optional hook
        """Set-up that needs the running server (streams, databases)."""

    def run_as(self) -> str | None:
        return None

    @property
    @abstractmethod
    def env(self) -> dict[str, str]:
        """Variables that point Dapr components at this server."""

    # -- lifecycle ----------------------------------------------------------------------------
    def running_pid(self) -> int | None:
        try:
            record = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return None
        pid = int(record.get("pid", 0))
        if pid and record.get("port") == self.port and pid_alive(pid):
            return pid
        return None

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.running_pid() is not None and self.ready():
            self.after_ready()
            return
        ensure_port_free(self.port, self.name, self.setting)
        self.prepare()
        process = ManagedProcess(
            self.name, self.command(), log_file=self.log_file, cwd=self.data_dir, user=self.run_as()
        )
        process.start()
        assert process.pid is not None
        self.pid_file.write_text(json.dumps({"pid": process.pid, "port": self.port}))
        self.started_here = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive():
                self.pid_file.unlink(missing_ok=True)
                raise SetupError(
                    f"{self.name} exited during start-up (code {process.exit_code()})",
                    f"see {self.log_file}:\n{process.log_tail()}",
                )
            if self.ready():
                self.after_ready()
                return
            time.sleep(0.2)
        process.stop()
        self.pid_file.unlink(missing_ok=True)
        raise SetupError(
            f"{self.name} did not become ready on port {self.port} within {timeout:.0f}s",
            f"see {self.log_file}:\n{process.log_tail()}",
        )

    def stop(self) -> bool:
        pid = self.running_pid()
        if pid is None:
            return False
        stop_group(pid, timeout=20)
        self.pid_file.unlink(missing_ok=True)
        return True


class RedisServer(Server):
    name = "redis"
    setting = "TRADER_REDIS_PORT"

    def command(self) -> list[str]:
        return [
            _require("redis-server", "apt-get install redis-server (make setup does it)"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
        ]

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def env(self) -> dict[str, str]:
        return {"TRADER_REDIS_HOST": f"127.0.0.1:{self.port}"}


class NatsServer(Server):
    name = "nats"
    setting = "TRADER_NATS_PORT"

    def __init__(self, data_dir: Path, port: int, monitor_port: int | None = None) -> None:
        super().__init__(data_dir, port)
        self.monitor_port = monitor_port or free_port()

    def command(self) -> list[str]:
        return [
            _require("nats-server", "apt-get install nats-server (make setup does it)"),
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-m",
            str(self.monitor_port),
            "-js",
            "-sd",
            str(self.data_dir / "jetstream"),
            "-n",
            f"trader-{self.port}",
        ]

    def running_pid(self) -> int | None:
        pid = super().running_pid()
        if pid is not None:
            record = json.loads(self.pid_file.read_text())
            self.monitor_port = int(record.get("monitor_port", self.monitor_port))
        return pid

    def start(self, timeout: float = 60.0) -> None:
        super().start(timeout)
        record = json.loads(self.pid_file.read_text())
        record["monitor_port"] = self.monitor_port
        self.pid_file.write_text(json.dumps(record))

    def ready(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.monitor_port}/healthz?js-enabled-only=true"
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def after_ready(self) -> None:
        asyncio.run(ensure_stream(self.url))

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {"TRADER_NATS_URL": self.url}


def streams() -> dict[str, list[str]]:
    """JetStream streams and their subjects. Dead letters get a stream of their own: JetStream
    de-duplicates by message id (the CloudEvent id) across a whole stream, so a dead letter in
    the same stream as its original would be discarded as a duplicate."""
    return {
        STREAM_NAME: [str(topic) for topic in Topic] + [DECISION_REQUESTS_TOPIC],
        DLQ_STREAM_NAME: [DEAD_LETTER_TOPIC],
    }


async def ensure_stream(url: str) -> None:
    """Create (or update) the JetStream streams that hold the platform's topics."""
    import nats
    from nats.js.api import RetentionPolicy, StorageType, StreamConfig
    from nats.js.errors import NotFoundError

    connection = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=1)
    try:
        js = connection.jetstream()
        for name, subjects in streams().items():
            config = StreamConfig(
                name=name,
                subjects=subjects,
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                max_age=7 * 24 * 3600,
                duplicate_window=120,
            )
            try:
                await js.stream_info(name)
                await js.update_stream(config)
            except NotFoundError:
                await js.add_stream(config)
    finally:
        await connection.close()


class PostgresServer(Server):
    name = "postgres"
    setting = "TRADER_POSTGRES_PORT"
    user = "trader"
    database = "trader"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def run_as(self) -> str | None:
        # PostgreSQL refuses to run as root; the Debian package provides a postgres user.
        return "postgres" if os.geteuid() == 0 else None

    def prepare(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        initdb = PG_BIN / "initdb"
        if not initdb.exists():
            raise SetupError(
                f"PostgreSQL server binaries not found in {PG_BIN}",
                "apt-get install postgresql (make setup does it) or set TRADER_PG_BIN",
            )
        self.pgdata.mkdir(parents=True, exist_ok=True)
        user = self.run_as()
        if user:
            _allow_traverse(self.data_dir)
            shutil.chown(self.data_dir, user)
            shutil.chown(self.pgdata, user)
        command = [
            str(initdb),
            "-D",
            str(self.pgdata),
            "-U",
            self.user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]
        if user:
            command = ["runuser", "-u", user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SetupError("initdb failed", result.stderr.strip()[-500:])

    def command(self) -> list[str]:
        return [
            str(PG_BIN / "postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            str(self.pgdata),
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self.run_as()
        if user:
            _allow_traverse(self.data_dir)
            shutil.chown(self.data_dir, user)
        super().start(timeout)

    def ready(self) -> bool:
        result = subprocess.run(
            [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
            check=False,
        )
        return result.returncode == 0

    def after_ready(self) -> None:
        exists = subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname='{self.database}'",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if exists.stdout.strip() != "1":
            subprocess.run(
                [
                    str(PG_BIN / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    self.database,
                ],
                capture_output=True,
                text=True,
                check=True,
            )

    @property
    def dsn(self) -> str:
        return (
            f"host=127.0.0.1 port={self.port} user={self.user} dbname={self.database} "
            "sslmode=disable"
        )

    @property
    def env(self) -> dict[str, str]:
        return {"TRADER_POSTGRES_DSN": self.dsn}


class KafkaServer(Server):
    name = "kafka"
    setting = "TRADER_KAFKA_PORT"

    def __init__(
        self, data_dir: Path, port: int, libs_dir: Path, controller_port: int | None = None
    ) -> None:
        super().__init__(data_dir, port)
        self.libs_dir = libs_dir.resolve()
        self.controller_port = controller_port or free_port()

    def _properties(self) -> Path:
        return self.data_dir / "server.properties"

    def prepare(self) -> None:
        if not any(self.libs_dir.glob("kafka_2.13-*.jar")):
            raise SetupError(f"Kafka is not installed in {self.libs_dir}", "run `make setup`")
        logs = self.data_dir / "logs"
        self._properties().write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={logs}",
                    "num.partitions=3",
                    "auto.create.topics.enable=true",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "log.retention.hours=168",
                    "",
                ]
            )
        )
        if not (logs / "meta.properties").exists():
            result = subprocess.run(
                [
                    *self._java(),
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    str(uuid.uuid4().hex[:22]),
                    "-c",
                    str(self._properties()),
                    "--ignore-formatted",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise SetupError(
                    "formatting Kafka storage failed", result.stdout[-500:] + result.stderr[-500:]
                )

    def _java(self) -> list[str]:
        java = _require(
            "java", "install a Java 17 runtime (apt-get install openjdk-17-jre-headless)"
        )
        return [
            java,
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{resource('kafka', 'log4j.properties')}",
            "-cp",
            f"{self.libs_dir}/*",
        ]

    def command(self) -> list[str]:
        return [*self._java(), "kafka.Kafka", str(self._properties())]

    def running_pid(self) -> int | None:
        pid = super().running_pid()
        if pid is not None:
            record = json.loads(self.pid_file.read_text())
            self.controller_port = int(record.get("controller_port", self.controller_port))
        return pid

    def start(self, timeout: float = 90.0) -> None:
        super().start(timeout)
        record = json.loads(self.pid_file.read_text())
        record["controller_port"] = self.controller_port
        self.pid_file.write_text(json.dumps(record))

    def ready(self) -> bool:
        if not port_open(self.port):
            return False
        # The port opens before the broker is registered: ask for metadata (ApiVersions is
        # answered only once the broker is up).
        return _kafka_api_versions(self.port)

    @property
    def env(self) -> dict[str, str]:
        return {"TRADER_KAFKA_BROKERS": f"127.0.0.1:{self.port}"}


def _kafka_api_versions(port: int) -> bool:
    """Send a Kafka ApiVersions v0 request; True when the broker answers with no error."""
    client_id = b"trader"
    body = (18).to_bytes(2, "big") + (0).to_bytes(2, "big") + (1).to_bytes(4, "big")
    body += len(client_id).to_bytes(2, "big") + client_id
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(len(body).to_bytes(4, "big") + body)
            header = sock.recv(4)
            if len(header) < 4:
                return False
            reply = sock.recv(int.from_bytes(header, "big"))
            return len(reply) >= 6 and int.from_bytes(reply[4:6], "big") == 0
    except OSError:
        return False


def _allow_traverse(path: Path) -> None:
    """Let the postgres user reach its data folder (temporary folders are created 0700)."""
    for ancestor in path.resolve().parents:
        mode = ancestor.stat().st_mode
        if not mode & 0o001:
            ancestor.chmod(mode | 0o001)


def _require(binary: str, fix: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise SetupError(f"{binary} is not installed", fix)
    return path
