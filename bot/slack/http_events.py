"""``POST /slack/events``: Slack's HTTP delivery (Events API and interactivity), for apps without Socket Mode.

Bolt verifies each request's signature with ``SLACK_SIGNING_SECRET`` and answers 401 to anything unsigned
or older than five minutes; what follows is the same dispatch Socket Mode uses.
"""

import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.metrics import SLACK_ACK_SECONDS

SLACK_APP_KEY = web.AppKey("slack_app", AsyncApp)


def add_routes(app: web.Application, slack_app: AsyncApp) -> None:
    app[SLACK_APP_KEY] = slack_app
    app.router.add_post("/slack/events", slack_events)


async def slack_events(request: web.Request) -> web.Response:
    started = time.perf_counter()
    bolt_response = await request.app[SLACK_APP_KEY].async_dispatch(await to_bolt_request(request))
    response = await to_aiohttp_response(bolt_response)
    SLACK_ACK_SECONDS.observe(time.perf_counter() - started)
    return response
