"""The project's own infrastructure scripts against real servers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from trader_cli.errors import SetupError
from trader_cli.infra import NatsServer, PostgresServer, RedisServer, streams
from trader_cli.netutil import free_port

pytestmark = pytest.mark.integration


def test_redis_start_twice_reuses_the_running_server(tmp_path: Path) -> None:
    port = free_port()
    first = RedisServer(tmp_path / "redis", port)
    first.start()
    try:
        pid = first.running_pid()
        second = RedisServer(tmp_path / "redis", port)
        second.start()
        assert second.running_pid() == pid
        assert not second.started_here
    finally:
        assert first.stop()
    assert first.running_pid() is None
    assert not first.stop()  # nothing of ours left to stop


def test_redis_port_in_use_fails_with_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = RedisServer(tmp_path / "redis", port)
        with pytest.raises(
            SetupError, match=f"port {port} for redis is already in use.*TRADER_REDIS_PORT"
        ):
            server.start()
    assert server.running_pid() is None


def test_nats_start_creates_the_jetstream_streams(tmp_path: Path) -> None:
    import asyncio

    import nats

    server = NatsServer(tmp_path / "nats", free_port())
    server.start()
    try:

        async def stream_subjects() -> dict[str, list[str]]:
            connection = await nats.connect(server.url)
            try:
                js = connection.jetstream()
                return {
                    name: list((await js.stream_info(name)).config.subjects or [])
                    for name in streams()
                }
            finally:
                await connection.close()

        found = asyncio.run(stream_subjects())
        assert found == streams()
        assert "market.events" in found["TRADER"]
    finally:
        server.stop()


def test_postgres_start_creates_the_trader_database(servers: object) -> None:
    import subprocess

    from trader_cli.infra import PG_BIN

    pool = servers
    postgres = pool.get("postgres")  # type: ignore[attr-defined]
    assert isinstance(postgres, PostgresServer)
    result = subprocess.run(
        [str(PG_BIN / "psql"), postgres.dsn, "-tAc", "select current_database()"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "trader"
