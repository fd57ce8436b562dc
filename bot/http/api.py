"""The HTTP API, answering the seed's clients with the seed's envelopes.

    POST /{namespace}/pipelines/run/{pipeline_name}/   JSON parameters (+ webhook_uri) → the run, or 400
    GET  /runs/{run_id}   with Authorization: Bearer or Accept: application/json → completion envelope

Every request needs ``Authorization: Bearer <token>`` with a token from ``CHARON_API_TOKENS``
(comma-separated; an entry ``label:token`` names its caller, recorded as who asked for the run).
The ``{namespace}`` path segment is kept for the seed's URLs; runs go to ``KFP_NAMESPACE``.
"""

import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import SecretStr

from bot.http.keys import CHARON_KEY
from bot.redaction import register_secret
from bot.render import render
from bot.runs import Origin
from bot.service import Reply
from bot.webhooks import completion_envelope
from commands import grammar
from commands.errors import CommandError

_REPLY_STATUS = {"input_errors": 400, "refused": 403, "launch_failed": 502, "internal_error": 500}


class ApiTokens:
    """The accepted bearer tokens, each with an optional label; compared in constant time."""

    def __init__(self, setting: SecretStr | None) -> None:
        self.entries: list[tuple[str | None, bytes]] = []
        for entry in (setting.get_secret_value() if setting else "").split(","):
            label, labelled, token = entry.strip().partition(":")
            label, token = (label, token) if labelled else ("", label)
            if token:
                register_secret(token)
                self.entries.append((label or None, token.encode()))

    def caller(self, header: str) -> tuple[bool, str | None]:
        """(whether ``header`` carries an accepted token, that token's label)."""
        scheme, _, given = header.partition(" ")
        offered = given.strip().encode() if scheme.lower() == "bearer" else b""
        found, label = False, None
        for entry_label, token in self.entries:  # every entry is compared: no early exit to time
            if hmac.compare_digest(offered, token):
                found, label = True, entry_label
        return found and bool(offered), label


API_TOKENS = web.AppKey("api_tokens", ApiTokens)


def add_routes(app: web.Application) -> None:
    app[API_TOKENS] = ApiTokens(app[CHARON_KEY].settings.api_tokens)
    for path in ("/{namespace}/pipelines/run/{pipeline_name}/", "/{namespace}/pipelines/run/{pipeline_name}"):
        app.router.add_post(path, create_run)


def wants_json(request: web.Request) -> bool:
    """An API client rather than a browser: it sends a bearer token or prefers JSON."""
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def envelope(status: str, http_status: int = 200, **response: Any) -> web.Response:
    return web.json_response({"status": status, "response": response}, status=http_status)


def _authenticate(request: web.Request) -> str | None:
    """The caller's label; raises 401 (in the seed's envelope) without an accepted token."""
    tokens = request.app[API_TOKENS]
    accepted, label = tokens.caller(request.headers.get("Authorization", ""))
    if not accepted:
        message = render("api/unauthorized.txt.j2", configured=bool(tokens.entries))
        body = json.dumps({"status": "error", "response": {"message": message}})
        raise web.HTTPUnauthorized(
            text=body, content_type="application/json", headers={"WWW-Authenticate": "Bearer"}
        )
    return label


async def create_run(request: web.Request) -> web.Response:
    label = _authenticate(request)
    charon = request.app[CHARON_KEY]
    try:
        params = await request.json()
    except ValueError:
        params = None
    if not isinstance(params, dict):
        return envelope("error", 400, message=render("api/request_problem.txt.j2", what="json"))
    webhook_uri = params.pop("webhook_uri", None)
    if webhook_uri is not None and not _http_url(webhook_uri):
        return envelope("error", 400, message=render("api/request_problem.txt.j2", what="webhook_uri"))
    try:
        pipeline = grammar.pipeline_name(request.match_info["pipeline_name"])
    except CommandError as exc:
        return envelope(
            "error", 400, message=render("api/problems.txt.j2", message=exc.message, details=exc.details)
        )
    origin = Origin("api", user_id=label, webhook_uri=webhook_uri or None)
    key = request.headers.get("Idempotency-Key")
    reply = await charon.service.execute(
        grammar.RunCommand(pipeline, params), origin, text=f"POST {request.path}",
        idempotency_key=f"api:{label or ''}:{key}" if key else None,
    )  # fmt: skip
    if not reply.ok or reply.run is None:
        return _refused(reply)
    run = reply.run
    return envelope("ok", message=render("api/run_created.txt.j2"), name=pipeline, run_id=run.id,
                    run_url=run.run_url or "", error_logs="")  # fmt: skip


def _refused(reply: Reply) -> web.Response:
    if reply.errors:
        message = render("api/problems.txt.j2", message=reply.errors[0], details=reply.errors[1:])
    else:
        message = reply.text
    extra = {"run_id": reply.run.id} if reply.run is not None else {}
    return envelope("error", _REPLY_STATUS.get(reply.kind, 409), message=message, **extra)


async def run_envelope(request: web.Request) -> web.Response:
    """``GET /runs/{run_id}`` for API clients: the run's completion envelope (``pending`` until it ends)."""
    _authenticate(request)
    run_id = request.match_info["run_id"]
    run = await request.app[CHARON_KEY].store.get(run_id)
    if run is None:
        return envelope(
            "error", 404, message=render("api/request_problem.txt.j2", what="no_run", run_id=run_id)
        )
    return web.json_response(completion_envelope(run))


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
