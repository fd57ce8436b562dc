"""Runs on Kubeflow: Charon's real kfp.Client against the loopback KFP emulator, with a real PostgreSQL."""

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
from kfp.client import client as kfp_client_module

from bot.runs import Origin, Run, RunState
from bot.runtime import Charon, open_charon
from bot.settings import Settings
from tests.kfp_emulator import EPOCH, KfpEmulator

if TYPE_CHECKING:
    from tests.kfp_stack import Notices

pytest_plugins = ["tests.kfp_stack"]

ANN = Origin("chat", user_id="ann", session="s1")
UI = "https://kubeflow.example.com/pipeline"


async def start(charon: Charon, text: str) -> Run:
    reply = await charon.service.handle_text(text, ANN)
    assert reply.ok and reply.run is not None, reply.text
    return reply.run


async def say(charon: Charon, text: str) -> str:
    return (await charon.service.handle_text(text, ANN)).text


def kfp_requests(emulator: KfpEmulator, method: str = "GET", path: str = "/apis/v2beta1/runs") -> list[dict]:
    return [r for r in emulator.requests if r["method"] == method and r["path"] == path]


async def test_launch_submits_typed_parameters_to_the_precompiled_pipeline(
    kfp_charon: Charon, emulator: KfpEmulator
) -> None:
    reply = await kfp_charon.service.handle_text("run smoke_pipeline a=4 b=5 fail=false", ANN)
    assert reply.ok and reply.run is not None
    run = reply.run
    assert run.external_id is not None
    assert reply.text == f"Running <{UI}/#/runs/details/{run.external_id}|smoke_pipeline>"
    kfp_run = emulator.get_run(run.external_id)
    parameters = kfp_run["runtime_config"]["parameters"]
    assert parameters == {"a": 4, "b": 5, "sleep_seconds": 0.0, "fail": False}
    assert type(parameters["a"]) is int and type(parameters["sleep_seconds"]) is float
    assert kfp_run["display_name"] == f"smoke_pipeline {run.id}"
    tasks = kfp_run["pipeline_spec"]["root"]["dag"]["tasks"]
    assert tasks and not any(task.get("cachingOptions", {}).get("enableCache") for task in tasks.values())

    second = await start(kfp_charon, "run fetch_calls_pipeline lang=en call_quantity=25 client_id=1,2")
    await start(kfp_charon, "run smoke_pipeline")
    parameters = emulator.get_run(second.external_id or "")["runtime_config"]["parameters"]
    assert parameters["call_quantity"] == 25 and type(parameters["call_quantity"]) is int
    assert parameters["client_id"] == "1,2" and None not in parameters.values()
    # The experiment is looked up once per process, not once per run.
    assert len(kfp_requests(emulator, path="/apis/v2beta1/experiments")) == 1
    assert len(kfp_requests(emulator, "POST")) == 3


async def test_run_links_in_the_central_dashboard_form(
    kfp_env: None, emulator: KfpEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_UI_URL", "https://kubeflow.example.com/")
    monkeypatch.setenv("KFP_UI_MULTI_USER", "true")
    async with open_charon(Settings(_env_file=None)) as charon:
        run = await start(charon, "run smoke_pipeline")
    namespace = charon.settings.kfp_namespace
    link = f"https://kubeflow.example.com/_/pipeline/?ns={namespace}#/runs/details/{run.external_id}"
    assert run.run_url == link


async def test_polling_asks_for_200_runs_per_request_and_reports_each_end(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    store = kfp_charon.store
    kfp_ids = emulator.add_runs(449, state="RUNNING")
    runs = [await start(kfp_charon, "run smoke_pipeline")]
    for kfp_id in kfp_ids:
        run, _ = await store.create_run(pipeline="smoke_pipeline", params={}, backend="kfp",
                                        origin=ANN, idempotency_key=None)  # fmt: skip
        await store.set_launched(run.id, kfp_id, f"{UI}/#/runs/details/{kfp_id}", RunState.RUNNING)
        runs.append(run)
    emulator.clear_requests()

    await kfp_charon.poller.poll_once()
    pages = kfp_requests(emulator)
    assert sorted(int(p["query"]["page_size"]) for p in pages) == [50, 200, 200]
    assert emulator.requests == pages  # nothing else: no get_run per run
    asked = {
        i for p in pages for i in json.loads(p["query"]["filter"])["predicates"][0]["string_values"]["values"]
    }
    assert asked == {runs[0].external_id, *kfp_ids}

    first, second, third = runs[1:4]
    emulator.move_run(kfp_ids[0], "SUCCEEDED")
    emulator.move_run(kfp_ids[1], "FAILED", message="out of memory", failed_task="train")
    emulator.move_run(kfp_ids[2], "CANCELED")
    emulator.clear_requests()
    kfp_charon.poller.wake()
    await kfp_charon.poller.poll_once()
    assert len(kfp_requests(emulator)) == 3
    assert notices.about(first) == [
        f"[{first.id}] Run completed successfully. ({UI}/#/runs/details/{kfp_ids[0]})"
    ]
    assert "Failed step `train`: out of memory" in notices.about(second)[0]
    assert "Run canceled." in notices.about(third)[0]
    assert len(notices.lines) == 3
    assert len(await store.active("kfp")) == 447


@pytest.mark.parametrize(
    ("state", "words"),
    [("SUCCEEDED", "Run completed successfully."), ("FAILED", "Run failed."), ("SKIPPED", "Run skipped."),
     ("CANCELED", "Run canceled.")],
)  # fmt: skip
async def test_every_final_state_is_reported_once(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices", state: str, words: str
) -> None:
    run = await start(kfp_charon, "run smoke_pipeline")
    emulator.move_run(run.external_id or "", "RUNNING")
    await kfp_charon.poller.poll_once()
    assert notices.lines == []
    emulator.move_run(run.external_id or "", state)
    for _ in range(3):
        kfp_charon.poller.wake()
        await kfp_charon.poller.poll_once()
    assert len(notices.about(run)) == 1 and words in notices.about(run)[0]
    assert (await kfp_charon.store.get(run.id)).state is RunState(state.lower())  # type: ignore[union-attr]


async def test_a_running_run_shows_its_steps_until_it_finishes(
    kfp_charon: Charon, emulator: KfpEmulator
) -> None:
    run = await start(kfp_charon, "run smoke_pipeline")
    wire = emulator.move_run(run.external_id or "", "RUNNING", current_task="add-again")
    assert wire["finished_at"] == EPOCH
    await kfp_charon.poller.poll_once()
    status = await say(kfp_charon, f"status {run.id}")
    assert "Run in progress." in status and "running · 1/3 steps done" in status


async def test_a_failure_names_the_failing_step_and_the_error_from_the_run_details(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    run = await start(kfp_charon, "run smoke_pipeline fail=true")
    emulator.move_run(
        run.external_id or "", "FAILED", message="report: ValueError: asked to fail", failed_task="report"
    )
    await kfp_charon.poller.poll_once()
    [notice] = notices.about(run)
    assert "Run failed." in notice and "Failed step `report`: report: ValueError: asked to fail" in notice
    status = await say(kfp_charon, f"status {run.id}")
    assert "Failed step `report`" in status


async def test_a_401_rereads_the_token_file_and_tries_once_more(
    kfp_env: None, emulator: KfpEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notices: "Notices"
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(emulator.token or "")
    monkeypatch.delenv("KFP_EXISTING_TOKEN")
    monkeypatch.setenv("KFP_SA_TOKEN_PATH", str(token_file))
    async with open_charon(Settings(_env_file=None), [notices.notifier]) as charon:
        run = await start(charon, "run smoke_pipeline")
        token_file.write_text("kfp-test-token-2")  # the kubelet rotates the projected token
        emulator.set_token("kfp-test-token-2")
        emulator.move_run(run.external_id or "", "SUCCEEDED")
        emulator.inject_fault("/apis/v2beta1/runs", status=401, count=1, method="GET")
        emulator.clear_requests()
        await charon.poller.poll_once()
        assert [r["status"] for r in kfp_requests(emulator)] == [401, 200]
        assert "Run completed successfully." in notices.about(run)[0]


async def test_kfp_errors_back_off_without_crashing_or_hanging(
    kfp_env: None, emulator: KfpEmulator, monkeypatch: pytest.MonkeyPatch, notices: "Notices"
) -> None:
    monkeypatch.setenv("KFP_REQUEST_TIMEOUT", "1")
    async with open_charon(Settings(_env_file=None), [notices.notifier]) as charon:
        run = await start(charon, "run smoke_pipeline")
        emulator.move_run(run.external_id or "", "SUCCEEDED")
        for fault in ({"status": 503}, {"status": None, "delay_s": 5.0}):
            emulator.inject_fault("/apis/v2beta1/runs", count=1, method="GET", **fault)
            emulator.clear_requests()
            charon.poller.wake()
            async with asyncio.timeout(30):  # guards the test only: a timeout must end the poll
                await charon.poller.poll_once()
            assert len(kfp_requests(emulator)) == 1  # one try; the poller backs off
            assert notices.lines == []
            assert "Run in progress." in await say(charon, f"status {run.id}")
            await charon.poller.poll_once()  # within the back-off: not asked again
            assert len(kfp_requests(emulator)) == 1
        charon.poller.wake()
        await charon.poller.poll_once()
        assert "Run completed successfully." in notices.about(run)[0]


async def test_a_launch_kfp_refuses_is_explained_without_secrets(
    kfp_env: None, emulator: KfpEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KFP_EXISTING_TOKEN", "wrong-token-123456")
    async with open_charon(Settings(_env_file=None)) as charon:
        reply = await charon.service.handle_text("run smoke_pipeline", ANN)
        assert not reply.ok and reply.kind == "launch_failed"
        assert "Kubeflow refused Charon's credentials (HTTP 401)" in reply.text
        assert "wrong-token-123456" not in reply.text
    async with open_charon(Settings(_env_file=None)) as charon:
        emulator.set_token("wrong-token-123456")
        emulator.inject_fault("/apis/v2beta1/runs", status=503, count=1, method="POST")
        reply = await charon.service.handle_text("run smoke_pipeline", ANN)
        assert "Kubeflow is busy or restarting (HTTP 503); please try again in a minute." in reply.text
        assert reply.run is not None and reply.run.state is RunState.FAILED


async def test_cancel_terminates_the_kfp_run(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    run = await start(kfp_charon, "run smoke_pipeline")
    emulator.move_run(run.external_id or "", "RUNNING")
    reply = await say(kfp_charon, f"cancel {run.id}")
    assert reply == f"Canceling <{UI}/#/runs/details/{run.external_id}|smoke_pipeline> (run `{run.id}`)."
    assert emulator.get_run(run.external_id or "")["state"] == "CANCELING"
    for _ in range(2):  # KFP reports CANCELING, then CANCELED
        kfp_charon.poller.wake()
        await kfp_charon.poller.poll_once()
    assert "Run canceled." in notices.about(run)[0]


async def test_retry_reruns_the_failed_steps_in_the_same_kfp_run(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    run = await start(kfp_charon, "run smoke_pipeline")
    emulator.move_run(run.external_id or "", "FAILED", message="flaky", failed_task="report")
    await kfp_charon.poller.poll_once()
    assert "Run failed." in notices.about(run)[0]
    reply = await kfp_charon.service.handle_text(f"retry {run.id}", ANN)
    assert reply.ok and reply.run is not None
    assert reply.run.id == run.id and reply.run.external_id == run.external_id
    assert emulator.get_run(run.external_id or "")["state"] == "RUNNING"
    emulator.move_run(run.external_id or "", "SUCCEEDED")
    kfp_charon.poller.wake()
    await kfp_charon.poller.poll_once()
    assert "Run completed successfully." in await say(kfp_charon, f"status {run.id}")
    assert len(notices.about(run)) == 2 and "Run completed successfully." in notices.about(run)[1]


async def test_retry_starts_a_new_linked_run_where_kfp_cannot_retry(
    kfp_charon: Charon, emulator: KfpEmulator
) -> None:
    run = await start(kfp_charon, "run smoke_pipeline a=7")
    emulator.move_run(run.external_id or "", "FAILED")
    await kfp_charon.poller.poll_once()
    emulator.inject_fault(f"/apis/v2beta1/runs/{run.external_id}:retry", status=501, count=1)
    reply = await kfp_charon.service.handle_text(f"retry {run.id}", ANN)
    assert reply.ok and reply.run is not None
    assert reply.run.retry_of == run.id and reply.run.external_id != run.external_id
    assert emulator.get_run(reply.run.external_id or "")["runtime_config"]["parameters"]["a"] == 7


async def test_a_run_deleted_in_kubeflow_ends_failed(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    run = await start(kfp_charon, "run smoke_pipeline")
    headers = {"authorization": f"Bearer {emulator.token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.delete(f"{emulator.url}/apis/v2beta1/runs/{run.external_id}", headers=headers) as response,
    ):
        assert response.status == 200
    await kfp_charon.poller.poll_once()
    [notice] = notices.about(run)
    assert "Run failed." in notice and "no longer exists in Kubeflow" in notice


async def test_a_stray_kfp_context_file_is_never_read(
    kfp_env: None, emulator: KfpEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stray = tmp_path / "stray-context.json"
    stray.write_text(
        json.dumps({"namespace": "someone-else", "client_authentication_cookie": "session=stray"})
    )
    monkeypatch.setattr(kfp_client_module.Client, "_LOCAL_KFP_CONTEXT", str(stray))  # as if in ~/.config/kfp
    async with open_charon(Settings(_env_file=None)) as charon:
        run = await start(charon, "run smoke_pipeline")
        await charon.poller.poll_once()
    namespaces = {r["query"].get("namespace") for r in emulator.requests if "namespace" in r["query"]}
    assert namespaces == {charon.settings.kfp_namespace}
    assert not [r for r in emulator.requests if r["path"].endswith("/healthz")]
    assert emulator.get_run(run.external_id or "")["display_name"] == f"smoke_pipeline {run.id}"


async def test_a_poll_while_kubeflow_is_still_creating_the_run_does_not_fail_it(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    emulator.inject_fault("/apis/v2beta1/runs", status=None, count=1, delay_s=1.5, method="POST")
    launching = asyncio.create_task(kfp_charon.service.handle_text("run smoke_pipeline a=3", ANN))
    await asyncio.sleep(0.5)  # the run is recorded, Kubeflow has not answered yet
    kfp_charon.poller.wake()
    await kfp_charon.poller.poll_once()
    reply = await launching
    assert reply.ok and reply.run is not None and reply.run.external_id is not None
    await kfp_charon.poller.poll_once()
    run = await kfp_charon.store.get(reply.run.id)
    assert run is not None and run.state is RunState.PENDING and notices.about(run) == []


async def test_runs_orphaned_by_a_crash_mid_launch_are_found_or_failed_clearly(
    kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices", monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.launchers import base

    store, launcher = kfp_charon.store, kfp_charon.launchers["kfp"]
    created, _ = await store.create_run(pipeline="smoke_pipeline", params={"a": 1}, backend="kfp",
                                        origin=ANN, idempotency_key=None)  # fmt: skip
    launched = await launcher.launch(created, {"a": 1})  # Kubeflow made it; Charon died before noting it
    never, _ = await store.create_run(pipeline="smoke_pipeline", params={}, backend="kfp",
                                      origin=ANN, idempotency_key=None)  # fmt: skip
    kfp_charon.poller.wake()
    await kfp_charon.poller.poll_once()  # young: could still be launching, so left alone
    assert (await store.get(created.id)).state is RunState.QUEUED  # type: ignore[union-attr]
    monkeypatch.setattr(base, "LAUNCH_GRACE_S", 0.0)
    kfp_charon.poller.wake()
    await kfp_charon.poller.poll_once()
    found = await store.get(created.id)
    assert found is not None and found.external_id == launched.external_id
    assert found.run_url == f"{UI}/#/runs/details/{launched.external_id}" and found.state is RunState.PENDING
    lost = await store.get(never.id)
    assert lost is not None and lost.state is RunState.FAILED
    assert "Kubeflow has no record of it, so it never ran. Please run it again." in notices.about(lost)[0]
