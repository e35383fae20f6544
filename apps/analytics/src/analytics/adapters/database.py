"""PostgreSQL connections for the read model: a small asyncio pool of psycopg 3 connections
(psycopg_pool is not a dependency), and the mapping of connection failures to
``PlatformUnavailableError`` (a delivery answered RETRY, an HTTP 503)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus

from trader_common.ports import PlatformUnavailableError

log = logging.getLogger(__name__)

Connection = AsyncConnection[Any]


@contextmanager
def unavailable_on_connection_errors(what: str) -> Iterator[None]:
    """Turn a lost or refused connection into ``PlatformUnavailableError``."""
    try:
        yield
    except psycopg.OperationalError as error:
        raise PlatformUnavailableError(f"{what}: database unavailable ({error})") from error


class Database:
    """Up to ``size`` open connections, handed out one per caller and reused. Connections are
    in autocommit mode with the session time zone UTC; callers open transactions explicitly.
    A connection that broke, or was returned inside a transaction, is discarded."""

    def __init__(self, dsn: str, *, size: int = 4, connect_timeout: float = 5.0) -> None:
        if size < 1:
            raise ValueError(f"pool size must be at least 1, got {size}")
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._slots = asyncio.Semaphore(size)
        self._idle: list[Connection] = []
        self._closed = False

    async def _connect(self) -> Connection:
        connection = await AsyncConnection.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=max(1, round(self._connect_timeout)),
            application_name="analytics",
        )
        await connection.execute("SET TIME ZONE 'UTC'")
        return connection

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        if self._closed:
            raise PlatformUnavailableError("the database pool is closed")
        async with self._slots:
            connection: Connection | None = None
            while self._idle and connection is None:
                candidate = self._idle.pop()
                if candidate.closed or candidate.broken:
                    await candidate.close()
                else:
                    connection = candidate
            if connection is None:
                with unavailable_on_connection_errors("connect"):
                    connection = await self._connect()
            try:
                yield connection
            finally:
                reusable = (
                    not self._closed
                    and not connection.closed
                    and not connection.broken
                    and connection.info.transaction_status == TransactionStatus.IDLE
                )
                if reusable:
                    self._idle.append(connection)
                else:
                    await connection.close()

    async def ping(self) -> None:
        """Raise ``PlatformUnavailableError`` unless the database answers."""
        async with self.connection() as connection:
            with unavailable_on_connection_errors("ping"):
                await connection.execute("SELECT 1")

    async def wait_until_reachable(self, within_seconds: float) -> None:
        """Retry connecting until the database answers or ``within_seconds`` pass."""
        deadline = time.monotonic() + within_seconds
        delay = 0.2
        while True:
            try:
                await self.ping()
                return
            except PlatformUnavailableError as error:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("waiting for the database", extra={"reason": str(error)})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()
