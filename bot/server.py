"""``charon serve``: the long-running process — poller, HTTP server, and the adapters configured."""

import asyncio
import logging

from bot.http.app import build_app, start_site
from bot.runtime import open_charon
from bot.settings import Settings
from bot.slack.app import open_slack
from bot.terminal import TerminalNotifier
from bot.webhooks import WebhookNotifier

log = logging.getLogger(__name__)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    notifiers = [TerminalNotifier(("cli",))]
    async with open_charon(settings, notifiers) as charon, open_slack(charon) as slack:
        app = build_app(charon, slack)
        runner = await start_site(app, settings.http_host, settings.http_port)
        webhooks = WebhookNotifier(charon.store.pool, settings.webhook_secret)
        charon.poller.add_notifier(webhooks)
        charon.poller.start()
        webhooks.start()
        charon.service.schedules.start()
        log.warning("Charon is serving on %s (backends: %s)", settings.base_url, ", ".join(charon.launchers))
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await charon.service.schedules.stop()
            await webhooks.close()
