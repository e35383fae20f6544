"""Schema migrations of the read model: numbered SQL files in ``analytics/migrations``
(``NNNN_name.sql``), applied in order at start-up, each once.

All pending migrations run in one transaction under a transaction-level advisory lock, so two
replicas starting together apply them once (the second waits, then finds nothing to do), and a
failing migration leaves the schema as it was. Applied versions are recorded, with a checksum of
the file, in ``analytics.schema_migrations``; a committed migration whose file has changed since,
or a database at a version this code does not know, stops start-up with the reason."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from psycopg import AsyncConnection

SCHEMA = "analytics"
MIGRATION_LOCK = 0x616E616C79746963  # "analytic": pg_advisory_xact_lock(bigint)
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The migrations cannot be applied; the message says why."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(package: str = "analytics", folder: str = "migrations") -> list[Migration]:
    """The migration files in version order; versions must run 1, 2, 3, … without gaps."""
    found: list[Migration] = []
    for entry in resources.files(package).joinpath(folder).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(
                f"migration versions must run 1, 2, 3, … without gaps or repeats: expected "
                f"{expected:04d}, found {migration.version:04d}_{migration.name}.sql"
            )
    return found


async def migrate(
    connection: AsyncConnection[Any], migrations: list[Migration] | None = None
) -> list[int]:
    """Apply the pending migrations; returns the versions applied now (empty if none)."""
    migrations = load_migrations() if migrations is None else migrations
    applied_now: list[int] = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_migrations ("
            " version integer PRIMARY KEY,"
            " name text NOT NULL,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await connection.execute(
            f"SELECT version, name, checksum FROM {SCHEMA}.schema_migrations ORDER BY version"
        )
        applied = {int(row[0]): (str(row[1]), str(row[2])) for row in await cursor.fetchall()}
        known = {migration.version for migration in migrations}
        unknown = sorted(set(applied) - known)
        if unknown:
            raise MigrationError(
                f"the database has migration {unknown[-1]:04d}_{applied[unknown[-1]][0]}, which "
                "this version of analytics does not know: it was migrated by a newer version"
            )
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version][1] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name}.sql changed after it "
                        "was applied: add a new migration instead of editing an applied one"
                    )
                continue
            await connection.execute(migration.sql.encode())
            await connection.execute(
                f"INSERT INTO {SCHEMA}.schema_migrations (version, name, checksum) "
                "VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(migration.version)
    return applied_now
