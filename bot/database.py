"""Connections to PostgreSQL: the configured server, or an embedded one under the data dir.

The embedded server comes from ``pgserver`` (PostgreSQL binaries in a wheel): nothing to install,
it listens on a Unix socket only, and it stops when the last Charon process holding it exits. Every
process that needs it — the CLI, ``charon serve``, a local run's child — takes its own handle.
"""

import json
import logging
import os
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from bot.migrations import apply_migrations
from bot.redaction import redact
from bot.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_PGDATA_ENV = "CHARON_EMBEDDED_PGDATA"
_handles: dict[Path, Any] = {}


def embedded_url(pgdata: Path) -> str:
    """Start (or join) the embedded server for ``pgdata`` and return its URL."""
    if pgdata not in _handles:
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); pgserver copes, so don't alarm users.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import pgserver  # imported late: it is only needed without DATABASE_URL

        pgdata.mkdir(parents=True, exist_ok=True)
        _handles[pgdata] = pgserver.get_server(pgdata, cleanup_mode="stop")
    return str(_handles[pgdata].get_uri())


def database_url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return embedded_url(settings.data_path / "pgdata")


def warehouse_url(settings: Settings) -> str:
    if settings.warehouse_url is not None:
        return settings.warehouse_url.get_secret_value()
    return database_url(settings)


def child_environment(settings: Settings) -> dict[str, str]:
    """Environment for processes Charon starts: where the warehouse is, and the server to hold."""
    env = {"CHARON_WAREHOUSE_URL": warehouse_url(settings)}
    if settings.database_url is None:
        env[EMBEDDED_PGDATA_ENV] = str(settings.data_path / "pgdata")
    return env


def hold_embedded_server() -> None:
    """In a child process: keep the parent's embedded server up until this process exits."""
    pgdata = os.environ.get(EMBEDDED_PGDATA_ENV)
    if pgdata:
        embedded_url(Path(pgdata))


async def register_json_codecs(conn: asyncpg.Connection) -> None:
    """JSON values in and out as Python objects; jsonb in binary form so COPY works too."""
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: b"\x01" + json.dumps(value).encode(),
        decoder=lambda data: json.loads(data[1:]),
        schema="pg_catalog",
        format="binary",
    )


class DatabaseUnavailable(Exception):
    """Charon's database cannot be reached or refuses Charon; ``str()`` is safe to show."""


@asynccontextmanager
async def open_pool(settings: Settings, *, max_size: int = 10) -> AsyncIterator[asyncpg.Pool]:
    """A connection pool with Charon's schema migrated to the newest version."""
    try:
        pool = await asyncpg.create_pool(
            database_url(settings), min_size=1, max_size=max_size, init=register_json_codecs
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        where = "DATABASE_URL" if settings.database_url is not None else "the embedded database"
        raise DatabaseUnavailable(f"Charon cannot use its database ({where}): {redact(str(exc))}") from None
    try:
        await apply_migrations(pool, "store")
        yield pool
    finally:
        await pool.close()
