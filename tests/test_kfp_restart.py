"""Durability on Kubeflow: `charon serve` is killed while a KFP run is in flight; the run ends while no
server is up; the restarted server picks the run up from the store and reports it exactly once."""

import asyncio

from bot.settings import Settings
from tests.kfp_emulator import KfpEmulator
from tests.processes import LiveProcess, charon_env, free_port, run_charon

pytest_plugins = ["tests.kfp_stack"]


def polled(emulator: KfpEmulator, kfp_run_id: str) -> bool:
    """Whether a server has asked KFP about the run (in a batched list request)."""
    return any(
        r["method"] == "GET"
        and r["path"] == "/apis/v2beta1/runs"
        and kfp_run_id in r["query"].get("filter", "")
        for r in emulator.requests
    )


async def test_a_kfp_run_that_ends_while_the_server_is_down_is_reported_once_after_restart(
    kfp_settings: Settings, emulator: KfpEmulator
) -> None:
    env = charon_env(kfp_settings, CHARON_HTTP_PORT=str(free_port()), CHARON_POLL_INTERVAL="0.2")
    first = await LiveProcess.start(env, "serve")
    await first.wait_for("Charon is serving")
    code, out, err = await run_charon(env, "run", "smoke_pipeline", "a=5")
    assert code == 0, err
    kfp_run_id = out.split("/#/runs/details/")[1].split(")")[0]
    assert emulator.get_run(kfp_run_id)["runtime_config"]["parameters"]["a"] == 5

    async with asyncio.timeout(60):  # the first server tracks the run before it dies
        while not polled(emulator, kfp_run_id):
            await asyncio.sleep(0.1)
    assert await first.stop(kill=True) != 0
    emulator.move_run(kfp_run_id, "SUCCEEDED")
    assert "Run completed successfully." not in first.output

    emulator.clear_requests()
    second = await LiveProcess.start(env, "serve")
    try:
        await second.wait_for("Run completed successfully.")
        await asyncio.sleep(1.0)  # a few more poll cycles: nothing is reported twice
        assert second.output.count("Run completed successfully.") == 1
        assert f"/#/runs/details/{kfp_run_id}" in second.output
    finally:
        await second.stop()
    code, out, _ = await run_charon(env, "status", kfp_run_id)
    assert code == 0 and "Run completed successfully." in out
