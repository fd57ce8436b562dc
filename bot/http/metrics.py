"""``GET /metrics``: Prometheus text (prometheus-client's default registry), runs counted when scraped."""

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.http.keys import CHARON_KEY
from bot.metrics import RUNS


def add_routes(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)


async def metrics(request: web.Request) -> web.Response:
    charon = request.app[CHARON_KEY]
    rows = await charon.store.pool.fetch(
        "SELECT backend, state, count(*) AS n FROM runs GROUP BY backend, state"
    )
    RUNS.clear()
    for row in rows:
        RUNS.labels(row["backend"], row["state"]).set(row["n"])
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})
