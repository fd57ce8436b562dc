"""Fixtures for tests of the KFP backend: the loopback KFP emulator, driven by Charon's real kfp.Client.

Each test gets a database of its own (runs left active by other tests would otherwise be polled and
reported too). Test modules load these fixtures with ``pytest_plugins = ["tests.kfp_stack"]``.
"""

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.http.app import bound_port, build_app, start_site
from bot.runs import Run
from bot.runtime import Charon, open_charon
from bot.settings import Settings
from bot.terminal import TerminalNotifier
from tests.kfp_emulator import KfpEmulator

TOKEN = "kfp-test-token-1"
NAMESPACE = "team-ml"
API_TOKEN = "api-token-ci-0123456789"
PLAIN_API_TOKEN = "api-token-plain-9876543210"
EVERY_SURFACE = ("cli", "chat", "slack", "api", "schedule")


class Notices:
    """What a person would read: every final notice, as the terminal prints it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.notifier = TerminalNotifier(EVERY_SURFACE, write=self.lines.append)

    def about(self, run: Run) -> list[str]:
        return [line for line in self.lines if line.startswith(f"[{run.id}] ")]


@pytest.fixture
async def emulator() -> AsyncIterator[KfpEmulator]:
    async with KfpEmulator(token=TOKEN) as emu:
        yield emu


@pytest.fixture
async def own_database(postgres_server: str) -> AsyncIterator[str]:
    """A fresh, empty database for one test; dropped afterwards."""
    name = f"charon_kfp_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base, _, query = postgres_server.partition("?")  # the embedded server's URL names a socket dir
        yield f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def kfp_env(
    settings: Settings,
    own_database: str,
    emulator: KfpEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Environment of a Charon that runs on the emulator (and a HOME no kfp context file lives in)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    env = {
        "DATABASE_URL": own_database, "CHARON_WAREHOUSE_URL": own_database,  # no demo warehouse needed
        "KFP_HOST": emulator.url, "KFP_NAMESPACE": NAMESPACE, "KFP_EXISTING_TOKEN": TOKEN,
        "KFP_UI_URL": "https://kubeflow.example.com/pipeline",
        "CHARON_API_TOKENS": f"ci:{API_TOKEN},{PLAIN_API_TOKEN}",
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def kfp_settings(kfp_env: None) -> Settings:
    return Settings(_env_file=None)


@pytest.fixture
def notices() -> Notices:
    return Notices()


@pytest.fixture
async def kfp_charon(kfp_settings: Settings, notices: Notices) -> AsyncIterator[Charon]:
    async with open_charon(kfp_settings, [notices.notifier]) as charon:
        yield charon


@pytest.fixture
async def local_charon(
    settings: Settings, own_database: str, notices: Notices, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Charon]:
    """Charon with the local engine only (no KFP_HOST), on a database of its own."""
    monkeypatch.setenv("DATABASE_URL", own_database)
    monkeypatch.setenv("CHARON_WAREHOUSE_URL", own_database)
    async with open_charon(Settings(_env_file=None), [notices.notifier]) as charon:
        yield charon


@pytest.fixture
async def api_url(kfp_charon: Charon) -> AsyncIterator[str]:
    """Base URL of Charon's HTTP server (API, run pages, metrics) in front of ``kfp_charon``."""
    runner = await start_site(build_app(kfp_charon), "127.0.0.1", 0)
    yield f"http://127.0.0.1:{bound_port(runner)}"
    await runner.cleanup()


@pytest.fixture
def api_auth() -> dict[str, str]:
    """Headers of an API client holding the ``ci`` token."""
    return {"Authorization": f"Bearer {API_TOKEN}"}
