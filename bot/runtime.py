"""Assembly: settings → database → store, launchers, poller, service. Every entry point starts here."""

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.database import child_environment, open_pool
from bot.demo_warehouse import seed_demo_warehouse
from bot.launchers.base import Launcher
from bot.launchers.local import LocalLauncher
from bot.notifiers import Notifier
from bot.policy_file import PolicyFile
from bot.poller import Poller
from bot.redaction import register_secret
from bot.schedules import build_scheduler
from bot.service import CharonService
from bot.settings import Settings
from bot.store import RunStore

log = logging.getLogger(__name__)


@dataclass
class Charon:
    settings: Settings
    store: RunStore
    launchers: dict[str, Launcher]
    poller: Poller
    service: CharonService

    @property
    def local(self) -> LocalLauncher:
        launcher = self.launchers["local"]
        assert isinstance(launcher, LocalLauncher)
        return launcher


def _register_secrets(settings: Settings) -> None:
    for _, value in settings:
        if hasattr(value, "get_secret_value") and value is not None:
            for part in value.get_secret_value().split(","):
                register_secret(part.strip())


def build_launchers(settings: Settings) -> dict[str, Launcher]:
    """The local engine always (it also serves runs recorded before a switch); KFP when configured."""
    local = LocalLauncher(
        settings.data_path / "runs",
        settings.run_page_url,
        max_running=settings.max_local_runs,
        poll_interval=settings.local_poll_interval,
        child_env=child_environment(settings),
    )
    launchers: dict[str, Launcher] = {"local": local}
    if settings.kfp_host:
        from bot.launchers.kfp import KfpLauncher

        launchers["kfp"] = KfpLauncher(settings)
    return launchers


@asynccontextmanager
async def open_charon(settings: Settings, notifiers: Sequence[Notifier] = ()) -> AsyncIterator[Charon]:
    _register_secrets(settings)
    policy = PolicyFile.load(settings.policy_file) if settings.policy_file else None
    settings.data_path.mkdir(parents=True, exist_ok=True)
    async with open_pool(settings) as pool:
        if settings.warehouse_url is None:
            await seed_demo_warehouse(pool)
        store = RunStore(pool)
        launchers = build_launchers(settings)
        poller = Poller(store, launchers, notifiers)
        service = CharonService(settings, store, launchers, poller, policy)
        service.schedules = build_scheduler(service, pool, launchers)
        try:
            yield Charon(settings, store, launchers, poller, service)
        finally:
            await poller.stop()
            for launcher in launchers.values():
                await launcher.close()
