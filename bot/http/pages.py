"""``/healthz`` and the run page ``/runs/{id}`` (the run link of local runs; JSON for API clients)."""

from aiohttp import web

from bot.http import api
from bot.http.keys import CHARON_KEY
from bot.launchers.local import LocalLauncher
from bot.redaction import redact
from bot.render import render


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/runs/{run_id}", run_page)


async def healthz(request: web.Request) -> web.Response:
    charon = request.app[CHARON_KEY]
    try:
        await charon.store.pool.fetchval("SELECT 1")
    except Exception:
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "backends": sorted(charon.launchers)})


async def run_page(request: web.Request) -> web.StreamResponse:
    if api.wants_json(request):  # the seed's API clients read the same path as JSON
        return await api.run_envelope(request)
    charon = request.app[CHARON_KEY]
    run = await charon.store.get(request.match_info["run_id"])
    if run is None:
        body = render("web/not_found.html.j2", what=f"run {request.match_info['run_id']}")
        return web.Response(text=body, content_type="text/html", status=404)
    launcher = charon.launchers.get(run.backend)
    log_tail = ""
    if isinstance(launcher, LocalLauncher):
        log_tail = redact(launcher.files(run.id).log_tail())
    events = await charon.store.events(run.id)
    body = render("web/run.html.j2", run=run, events=events, log_tail=log_tail)
    return web.Response(text=body, content_type="text/html")
