"""Webhooks: a run started over HTTP with a ``webhook_uri`` is POSTed to a real receiver on loopback when it
ends — signed, retried after a failure, recorded in the store, and delivered once."""

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from bot.http.app import bound_port, start_site
from bot.runtime import Charon
from bot.webhooks import WebhookNotifier
from tests.kfp_emulator import KfpEmulator

pytest_plugins = ["tests.kfp_stack"]

SECRET = "whsec-test-0123456789"


@dataclass
class Receiver:
    """A webhook endpoint answering with the given statuses in turn (then 200)."""

    statuses: list[int]
    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver(statuses=[500])
    app = web.Application()
    app.router.add_post("/hooks/charon", hook.handle)
    runner = await start_site(app, "127.0.0.1", 0)
    hook.url = f"http://127.0.0.1:{bound_port(runner)}/hooks/charon"
    yield hook
    await runner.cleanup()


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CHARON_WEBHOOK_SECRET", SECRET)
    return SECRET


async def start_with_webhook(api_url: str, api_auth: dict[str, str], url: str) -> str:
    body = {"a": 1, "webhook_uri": url}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api_url}/skit/pipelines/run/smoke_pipeline/", json=body, headers=api_auth) as response,
    ):
        assert response.status == 200
        return str((await response.json())["response"]["run_id"])


async def test_a_webhook_is_signed_retried_after_a_500_and_delivered_once(
    secret: str, kfp_charon: Charon, api_url: str, api_auth: dict[str, str], emulator: KfpEmulator,
    receiver: Receiver,
) -> None:  # fmt: skip
    webhooks = WebhookNotifier(kfp_charon.store.pool, kfp_charon.settings.webhook_secret, first_retry_s=0)
    kfp_charon.poller.add_notifier(webhooks)
    run_id = await start_with_webhook(api_url, api_auth, receiver.url)
    run = await kfp_charon.store.get(run_id)
    assert run is not None and run.external_id is not None
    await kfp_charon.poller.poll_once()
    assert await webhooks.deliver_due() == 0  # nothing until the run ends

    emulator.move_run(run.external_id, "SUCCEEDED")
    kfp_charon.poller.wake()
    await kfp_charon.poller.poll_once()
    assert await webhooks.deliver_due() == 1  # the receiver answers 500
    assert await webhooks.deliver_due() == 1  # tried again: 200
    assert await webhooks.deliver_due() == 0
    kfp_charon.poller.wake()
    await kfp_charon.poller.poll_once()
    assert await webhooks.deliver_due() == 0  # delivered once
    await webhooks.close()

    assert len(receiver.received) == 2
    (first_headers, first_body), (headers, body) = receiver.received
    assert first_body == body and first_headers["X-Charon-Delivery"] == headers["X-Charon-Delivery"]
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Charon-Signature"], expected)
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"status": "ok", "response": {
        "message": "Run completed successfully.", "run_id": run_id,
        "run_url": f"https://kubeflow.example.com/pipeline/#/runs/details/{run.external_id}",
        "error_logs": "", "uris": [], "webhook": True,
    }}  # fmt: skip
    record = await kfp_charon.store.pool.fetchrow(
        "SELECT * FROM webhook_deliveries WHERE run_id = $1", run_id
    )
    assert (record["attempts"], record["last_status"], record["url"]) == (2, 200, receiver.url)
    assert record["delivered_at"] is not None and record["abandoned_at"] is None


async def test_a_webhook_that_keeps_failing_is_given_up_and_recorded(
    kfp_charon: Charon, api_url: str, api_auth: dict[str, str], emulator: KfpEmulator, receiver: Receiver
) -> None:
    receiver.statuses = [503, 503, 503]
    webhooks = WebhookNotifier(kfp_charon.store.pool, None, first_retry_s=0, max_attempts=2)
    kfp_charon.poller.add_notifier(webhooks)
    run_id = await start_with_webhook(api_url, api_auth, receiver.url)
    run = await kfp_charon.store.get(run_id)
    assert run is not None and run.external_id is not None
    emulator.move_run(run.external_id, "FAILED", message="boom", failed_task="report")
    await kfp_charon.poller.poll_once()
    while await webhooks.deliver_due():
        pass
    await webhooks.close()
    assert len(receiver.received) == 2
    assert "X-Charon-Signature" not in receiver.received[0][0]  # no secret configured: unsigned
    body = json.loads(receiver.received[0][1])
    assert body["status"] == "error" and body["response"]["error_logs"] == "Failed step report: boom"
    record = await kfp_charon.store.pool.fetchrow(
        "SELECT * FROM webhook_deliveries WHERE run_id = $1", run_id
    )
    assert (record["attempts"], record["last_status"], record["last_error"]) == (2, 503, "HTTP 503")
    assert record["delivered_at"] is None and record["abandoned_at"] is not None
