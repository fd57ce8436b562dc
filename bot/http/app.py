"""Builds the aiohttp application; each feature adds its routes from its own module."""

from aiohttp import web

from bot.http import api, metrics, pages
from bot.http.keys import CHARON_KEY
from bot.runtime import Charon
from bot.slack import http_events
from bot.slack.app import SlackBot


def build_app(charon: Charon, slack: SlackBot | None = None) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[CHARON_KEY] = charon
    pages.add_routes(app)
    api.add_routes(app)
    metrics.add_routes(app)
    if slack is not None and slack.http_events:
        http_events.add_routes(app, slack.app)
    return app


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Listen on ``host:port`` (port 0 picks a free one); returns the runner to clean up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        return int(address[1])
    raise RuntimeError("the HTTP server is not listening")
