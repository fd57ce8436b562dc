"""Shared fixtures: a real PostgreSQL (the local server if reachable, else an embedded one), settings
pointing at a fresh database and data dir, and a running Charon core."""

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.runtime import Charon, open_charon
from bot.settings import Settings

LOCAL_SERVER = os.environ.get("CHARON_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of an admin database on a real server: 127.0.0.1:5432 when it answers, else embedded
    (``CHARON_TEST_EMBEDDED=1`` forces the embedded one, to check a machine with no server)."""
    if _reachable() and not os.environ.get("CHARON_TEST_EMBEDDED"):
        yield LOCAL_SERVER
        return
    import pgserver

    with tempfile.TemporaryDirectory(prefix="charon-pg-") as folder:
        server = pgserver.get_server(Path(folder), cleanup_mode="stop")
        yield server.get_uri()
        server.cleanup()


async def _create_database(admin_url: str) -> str:
    name = f"charon_test_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


def _with_database(url: str, name: str) -> str:
    if "?" in url:  # socket-style URL (embedded): postgresql://user:@/db?host=/path
        base, query = url.split("?", 1)
        return f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    return f"{url.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(scope="session")
def database_url(postgres_server: str) -> Iterator[str]:
    """A fresh database for this test session, dropped at the end."""
    name = asyncio.run(_create_database(postgres_server))
    yield _with_database(postgres_server, name)

    async def drop() -> None:
        conn = await asyncpg.connect(postgres_server)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "charon-data"


@pytest.fixture
def settings(database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for one test: its own data dir, the session's database, fast local polling."""
    env = {
        "DATABASE_URL": database_url,
        "CHARON_DATA_DIR": str(data_dir),
        "CHARON_LOCAL_POLL_INTERVAL": "0.2",
        "CHARON_HTTP_PORT": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("KFP_HOST", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "CHARON_WAREHOUSE_URL"):
        monkeypatch.delenv(key, raising=False)
    yield Settings(_env_file=None)  # type: ignore[call-arg]
    _stop_local_runs(data_dir)


def _stop_local_runs(data_dir: Path) -> None:
    """Local runs are detached process groups: end any a test left behind."""
    for pid_file in data_dir.glob("runs/*/pid"):
        with contextlib.suppress(ValueError, OSError):
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)


@pytest.fixture
async def charon(settings: Settings) -> AsyncIterator[Charon]:
    async with open_charon(settings) as core:
        yield core
