"""Webhooks: the seed's completion envelope, POSTed to a run's ``webhook_uri`` when the run ends.

``WebhookNotifier.run_finished`` only writes the delivery to an outbox table, so the poller never
waits on a slow receiver. ``deliver_due`` sends what is due — with ``X-Charon-Signature:
sha256=<hex HMAC-SHA256 of the body>`` when ``CHARON_WEBHOOK_SECRET`` is set — and a failure (no
answer or a non-2xx status) is tried again with exponential back-off, every attempt recorded.
"""

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
from typing import Any

import aiohttp
import asyncpg
from pydantic import SecretStr

from bot.background import BackgroundLoop
from bot.metrics import WEBHOOK_ATTEMPTS
from bot.redaction import redact
from bot.render import render
from bot.runs import Run, RunState

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Charon-Signature"
DELIVERY_HEADER = "X-Charon-Delivery"
MAX_ATTEMPTS = 10
FIRST_RETRY_S = 10.0
MAX_RETRY_S = 3600.0
"""Retries wait 10 s, 20 s, 40 s … (±20 %), at most an hour; after 10 attempts (~1.5 h) it is given up."""
TIMEOUT_S = 10.0
_LEASE_S = 60.0
_BATCH = 20


def completion_envelope(run: Run) -> dict[str, Any]:
    """``{"status": "ok"|"error"|"pending", "response": {message, run_id, run_url, error_logs, uris}}``."""
    succeeded = run.state is RunState.SUCCEEDED
    status = "ok" if succeeded else "error" if run.state.terminal else "pending"
    uris = [str(o["uri"]) for o in run.outputs] if succeeded else None
    response = {
        "message": render("api/run_message.txt.j2", run=run),
        "run_id": run.id,
        "run_url": run.run_url or "",
        "error_logs": render("api/error_details.txt.j2", run=run) if status == "error" else "",
        "uris": uris,
    }
    return {"status": status, "response": response}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier(BackgroundLoop):
    """Delivers the final notice of runs started with a ``webhook_uri`` (through the HTTP API)."""

    task_name = "charon-webhooks"

    name = "webhook"
    surfaces: tuple[str, ...] = ("api",)

    def __init__(
        self,
        pool: asyncpg.Pool,
        secret: SecretStr | None,
        *,
        first_retry_s: float = FIRST_RETRY_S,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.pool = pool
        self._secret = secret.get_secret_value() if secret else None
        self.first_retry_s = first_retry_s
        self.max_attempts = max_attempts
        self._http: aiohttp.ClientSession | None = None
        self._wake = asyncio.Event()

    def accepts(self, run: Run) -> bool:
        return bool(run.reply_to.get("webhook_uri"))

    async def run_finished(self, run: Run) -> None:
        envelope = completion_envelope(run)
        envelope["response"]["webhook"] = True
        notice = f"{run.id}:{run.finished_at.isoformat() if run.finished_at else ''}"
        await self.pool.execute(
            "INSERT INTO webhook_deliveries (run_id, notice, url, body) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (notice) DO NOTHING",
            run.id, notice, run.reply_to["webhook_uri"], json.dumps(envelope, separators=(",", ":")),
        )  # fmt: skip
        self._wake.set()

    async def run_changed(self, run: Run) -> None:
        return None

    async def deliver_due(self) -> int:
        """Send every delivery that is due (claimed, so each is sent by one process); returns how many."""
        rows = await self.pool.fetch(
            "UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $1) WHERE id IN ("
            " SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL AND abandoned_at IS NULL"
            " AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
            " RETURNING id, url, body, attempts",
            _LEASE_S, _BATCH,
        )  # fmt: skip
        await asyncio.gather(*(self._attempt(row) for row in rows))
        return len(rows)

    async def _attempt(self, row: Any) -> None:
        body = row["body"].encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Charon",
            DELIVERY_HEADER: str(row["id"]),
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        status: int | None = None
        error: str | None = None
        try:
            async with self._session().post(row["url"], data=body, headers=headers) as response:
                status = response.status
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = redact(f"{type(exc).__name__}: {exc}")[:500]
        attempts = row["attempts"] + 1
        if error is None:
            WEBHOOK_ATTEMPTS.labels("delivered").inc()
            await self.pool.execute(
                "UPDATE webhook_deliveries SET attempts = $2, last_status = $3, last_error = NULL,"
                " delivered_at = now() WHERE id = $1",
                row["id"], attempts, status,
            )  # fmt: skip
            return
        given_up = attempts >= self.max_attempts
        WEBHOOK_ATTEMPTS.labels("abandoned" if given_up else "failed").inc()
        delay = min(MAX_RETRY_S, self.first_retry_s * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)
        log.warning("webhook %s for delivery %s failed (%s); %s", redact(row["url"]), row["id"], error,
                    "giving up" if given_up else f"next try in {delay:.0f} s")  # fmt: skip
        await self.pool.execute(
            "UPDATE webhook_deliveries SET attempts = $2, last_status = $3, last_error = $4,"
            " next_attempt_at = now() + make_interval(secs => $5),"
            " abandoned_at = CASE WHEN $6 THEN now() END WHERE id = $1",
            row["id"], attempts, status, error, delay, given_up,
        )  # fmt: skip

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
        return self._http

    async def run_forever(self) -> None:
        """Deliver as notices arrive, and at least every few seconds for retries that come due."""
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.warning("webhook delivery cycle failed", exc_info=True)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.5, min(5.0, self.first_retry_s)))

    async def close(self) -> None:
        await self.stop_loop()
        if self._http is not None:
            await self._http.close()
