"""The HTTP API as the seed's clients use it: bearer tokens, the seed's envelopes, runs on the KFP emulator."""

from typing import Any

import aiohttp

from bot.runs import RunState
from bot.runtime import Charon
from tests.kfp_emulator import KfpEmulator

pytest_plugins = ["tests.kfp_stack"]

RUN_PATH = "/skit/pipelines/run/{}/"


async def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.post(url, json=body, headers=headers or {}) as response:
        return response.status, await response.json()


async def get(url: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


async def test_a_missing_or_wrong_token_is_401(api_url: str, api_auth: dict[str, str]) -> None:
    url = api_url + RUN_PATH.format("smoke_pipeline")
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": api_auth["Authorization"][7:]},
    ):
        async with aiohttp.ClientSession() as http, http.post(url, json={}, headers=headers) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            body = await response.json()
        assert body["status"] == "error"
        assert body["response"]["message"].startswith("Missing or invalid bearer token")
    status, body = await get(f"{api_url}/runs/anything", {"Authorization": "Bearer wrong"})
    assert status == 401 and body["status"] == "error"


async def test_unknown_pipelines_and_invalid_parameters_are_400(
    api_url: str, api_auth: dict[str, str]
) -> None:
    status, body = await post(api_url + RUN_PATH.format("fetch_call_pipeline"), {}, api_auth)
    assert status == 400 and body["status"] == "error"
    assert body["response"]["message"].startswith(
        "There is no pipeline `fetch_call_pipeline`. Did you mean the pipeline `fetch_calls_pipeline`?"
    )
    status, body = await post(
        api_url + RUN_PATH.format("fetch_calls_pipeline"), {"lang": "fr", "call_quantiy": 2}, api_auth
    )
    assert status == 400
    message = body["response"]["message"]
    assert message.startswith("`fetch_calls_pipeline` cannot run with these parameters:")
    assert "- `lang`: expected one of en-US, en, hi, ta, te, ma, gu, mr; got 'fr'." in message
    assert (
        "- `call_quantiy` is not a parameter of fetch_calls_pipeline. Did you mean `call_quantity`?"
        in message
    )
    status, body = await post(api_url + RUN_PATH.format("smoke_pipeline"), [1, 2], api_auth)
    assert status == 400 and "JSON object of pipeline parameters" in body["response"]["message"]
    status, body = await post(
        api_url + RUN_PATH.format("smoke_pipeline"), {"webhook_uri": "file:///x"}, api_auth
    )
    assert (
        status == 400 and "`webhook_uri` must be an http:// or https:// URL." in body["response"]["message"]
    )


async def test_a_run_started_over_http_is_followed_through_its_envelope(
    api_url: str, api_auth: dict[str, str], kfp_charon: Charon, emulator: KfpEmulator
) -> None:
    params = {"a": 3, "b": 4, "channel": "C0API", "slack_thread": "1700000000.000200", "notify": "U0ANN"}
    status, body = await post(api_url + RUN_PATH.format("Smoke-Pipeline"), params, api_auth)
    assert status == 200, body
    response = body["response"]
    run = await kfp_charon.store.get(response["run_id"])
    assert run is not None and run.external_id is not None
    assert body == {"status": "ok", "response": {
        "message": "Pipeline run created successfully.", "name": "smoke_pipeline", "run_id": run.id,
        "run_url": f"https://kubeflow.example.com/pipeline/#/runs/details/{run.external_id}", "error_logs": "",
    }}  # fmt: skip
    assert run.surface == "api" and run.requested_by == "ci"
    assert run.reply_to == {"channel": "C0API", "thread_ts": "1700000000.000200", "notify": ["<@U0ANN>"]}
    assert emulator.get_run(run.external_id)["runtime_config"]["parameters"] == {
        "a": 3, "b": 4, "sleep_seconds": 0.0, "fail": False,
    }  # fmt: skip

    run_url = f"{api_url}/runs/{run.id}"
    status, body = await get(run_url, api_auth)
    assert (status, body["status"], body["response"]["message"]) == (200, "pending", "Run in progress.")
    emulator.move_run(run.external_id, "SUCCEEDED")
    await kfp_charon.poller.poll_once()
    status, body = await get(run_url, {"Accept": "application/json", **api_auth})
    assert body == {"status": "ok", "response": {
        "message": "Run completed successfully.", "run_id": run.id, "run_url": run.run_url, "error_logs": "",
        "uris": [],
    }}  # fmt: skip
    async with aiohttp.ClientSession() as http, http.get(run_url, headers={"Accept": "text/html"}) as page:
        assert page.status == 200 and page.content_type == "text/html"
        assert '<span class="state succeeded">succeeded</span>' in await page.text()

    status, body = await get(f"{api_url}/runs/nope", api_auth)
    assert (status, body) == (404, {"status": "error", "response": {"message": "There is no run nope."}})


async def test_a_failed_run_envelope_carries_the_error_details(
    api_url: str, api_auth: dict[str, str], kfp_charon: Charon, emulator: KfpEmulator
) -> None:
    _, body = await post(api_url + RUN_PATH.format("smoke_pipeline"), {"fail": True}, api_auth)
    run = await kfp_charon.store.get(body["response"]["run_id"])
    assert run is not None and run.external_id is not None
    emulator.move_run(run.external_id, "FAILED", message="ValueError: asked to fail", failed_task="report")
    await kfp_charon.poller.poll_once()
    _, body = await get(f"{api_url}/runs/{run.id}", api_auth)
    assert body["status"] == "error"
    assert body["response"]["message"] == "Run failed."
    assert body["response"]["error_logs"] == "Failed step report: ValueError: asked to fail"
    assert body["response"]["uris"] is None


async def test_an_idempotency_key_gives_the_same_run(api_url: str, api_auth: dict[str, str]) -> None:
    headers = {"Idempotency-Key": "nightly-2026-11-27", **api_auth}
    url = api_url + RUN_PATH.format("smoke_pipeline")
    first = (await post(url, {"a": 1}, headers))[1]["response"]["run_id"]
    second = (await post(url, {"a": 1}, headers))[1]["response"]["run_id"]
    assert first == second


async def test_metrics_show_runs_polls_and_kfp_requests(
    api_url: str, api_auth: dict[str, str], kfp_charon: Charon, emulator: KfpEmulator
) -> None:
    _, body = await post(api_url + RUN_PATH.format("smoke_pipeline"), {}, api_auth)
    run = await kfp_charon.store.get(body["response"]["run_id"])
    assert run is not None and run.external_id is not None
    emulator.inject_fault("/apis/v2beta1/runs", status=503, count=1, method="GET")
    await kfp_charon.poller.poll_once()
    emulator.move_run(run.external_id, "SUCCEEDED")
    kfp_charon.poller.wake()
    await kfp_charon.poller.poll_once()
    assert (await kfp_charon.store.get(run.id)).state is RunState.SUCCEEDED  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http, http.get(f"{api_url}/metrics") as response:
        assert response.status == 200 and response.content_type == "text/plain"
        text = await response.text()
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines() if line and not line.startswith("#")
    }  # fmt: skip
    assert values['charon_runs{backend="kfp",state="succeeded"}'] == 1
    assert values['charon_kfp_requests_total{endpoint="v2beta1/runs",method="POST",status="200"}'] >= 1
    assert values['charon_kfp_request_errors_total{endpoint="v2beta1/runs",kind="http_503"}'] >= 1
    assert values['charon_poll_seconds_count{backend="kfp"}'] >= 1
    assert "charon_slack_ack_seconds_bucket" in text
