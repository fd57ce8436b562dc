"""Durability: kill the server while a run is in flight; the restarted server reports it exactly once."""

import asyncio

from bot.settings import Settings
from tests.processes import LiveProcess, charon_env, free_port, run_charon


async def _run_state(env: dict[str, str], run_id: str) -> str:
    code, out, _ = await run_charon(env, "status", run_id)
    assert code == 0, out
    return out


async def test_completion_reported_exactly_once_across_a_crash(settings: Settings) -> None:
    env = charon_env(settings, CHARON_HTTP_PORT=str(free_port()), CHARON_LOG_LEVEL="INFO")
    first = await LiveProcess.start(env, "serve")
    await first.wait_for("Charon is serving")

    code, out, err = await run_charon(env, "run", "smoke_pipeline", "a=4", "sleep_seconds=3")
    assert code == 0, err
    run_id = out.split("/runs/")[1].split(")")[0]
    assert len(run_id) == 8

    async with asyncio.timeout(30):  # the server has seen it running before it dies
        while "Run in progress." not in await _run_state(env, run_id):
            await asyncio.sleep(0.2)
    assert await first.stop(kill=True) != 0
    assert f"[{run_id}]" not in first.output

    second = await LiveProcess.start(env, "serve")
    await second.wait_for(f"[{run_id}] Run completed successfully.", timeout=60)
    await asyncio.sleep(1.5)  # several more poll cycles: nothing is repeated
    await second.stop()

    third = await LiveProcess.start(env, "serve")  # and a further restart repeats nothing either
    await third.wait_for("Charon is serving")
    await asyncio.sleep(1.5)
    await third.stop()
    notices = [line for p in (first, second, third) for line in p.lines if f"[{run_id}]" in line]
    assert notices == [f"[{run_id}] Run completed successfully. (http://127.0.0.1:{env['CHARON_HTTP_PORT']}"
                       f"/runs/{run_id})"]  # fmt: skip
