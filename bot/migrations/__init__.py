"""Versioned SQL migrations: ``<set>/NNNN_name.sql`` files applied once each, in order, under a lock.

The Flyway-style convention: a file is never edited once released; a change is a new file. Each
file runs in its own transaction together with its row in ``charon_migrations``, and a
transaction-level advisory lock lets several processes start at once safely.
"""

from importlib import resources

import asyncpg

_LOCK_ID = 0x43_48_41_52  # "CHAR"


def migration_files(migration_set: str) -> list[tuple[str, str]]:
    folder = resources.files(__package__) / migration_set
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name, (folder / name).read_text()) for name in names]


async def apply_migrations(pool: asyncpg.Pool, migration_set: str) -> list[str]:
    """Apply the set's pending files; returns the names applied now."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS charon_migrations ("
            " migration_set text NOT NULL, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (migration_set, name))"
        )
        for name, sql in migration_files(migration_set):
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
                done = await conn.fetchval(
                    "SELECT 1 FROM charon_migrations WHERE migration_set = $1 AND name = $2",
                    migration_set, name,
                )  # fmt: skip
                if done:
                    continue
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO charon_migrations (migration_set, name) VALUES ($1, $2)", migration_set, name
                )
                applied.append(name)
    return applied
