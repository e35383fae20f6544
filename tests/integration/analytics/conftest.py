"""A fresh PostgreSQL database per test, on the session's real PostgreSQL server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.conftest import ServerPool
from trader_cli.infra import PostgresServer


@pytest.fixture(scope="session")
def postgres(servers: ServerPool) -> PostgresServer:
    server = servers.get("postgres")
    assert isinstance(server, PostgresServer)
    return server


DatabaseFactory = Callable[[], Awaitable[str]]


@pytest.fixture
async def new_database(postgres: PostgresServer) -> AsyncIterator[DatabaseFactory]:
    """Creates empty databases on demand; returns each one's DSN. Dropped after the test."""
    created: list[str] = []

    async def create() -> str:
        name = f"analytics_{uuid4().hex[:12]}"
        async with await psycopg.AsyncConnection.connect(postgres.dsn, autocommit=True) as admin:
            await admin.execute(f"CREATE DATABASE {name}".encode())
        created.append(name)
        return make_conninfo(postgres.dsn, dbname=name)

    yield create
    async with await psycopg.AsyncConnection.connect(postgres.dsn, autocommit=True) as admin:
        for name in created:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


@pytest.fixture
async def database_dsn(new_database: DatabaseFactory) -> str:
    return await new_database()
