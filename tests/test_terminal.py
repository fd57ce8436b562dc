"""The terminal surfaces as a user meets them: ``charon chat`` transcripts and ``charon`` exit codes."""

from pathlib import Path

import yaml

from bot.settings import Settings
from tests.processes import LiveProcess, charon_env, run_charon


async def test_chat_replies_like_slack_and_announces_completion_while_open(settings: Settings) -> None:
    chat = await LiveProcess.start(charon_env(settings), "chat")
    await chat.wait_for("Charon chat")
    await chat.send("help smoke_pipeline")
    await chat.wait_for("• `sleep_seconds` — number, default `0.0`.")
    await chat.send("run smoke_pipeline a=2 b=5")
    await chat.wait_for("Running smoke_pipeline (http://127.0.0.1:")
    await chat.wait_for("Run completed successfully.")  # stdin still open: the notice arrives by itself
    await chat.send("run smoke_pipeline a=two c=1")
    await chat.wait_for("`smoke_pipeline` cannot run with these parameters:")
    await chat.send("status")
    await chat.wait_for("Run completed successfully. (http://127.0.0.1:", timeout=10)
    await chat.send("frobnicate")
    await chat.wait_for("I don't know the command `frobnicate`.")
    await chat.send("exit")
    assert await chat.exited() == 0
    transcript = chat.output
    assert "• `a`: expected a whole number, got 'two'." in transcript
    assert "• `c` is not a parameter of smoke_pipeline. `help smoke_pipeline` lists them." in transcript
    assert transcript.count("Run completed successfully.") == 2  # the notice, then `status`
    assert "Traceback" not in transcript


async def test_chat_at_end_of_piped_input_waits_for_its_runs(settings: Settings) -> None:
    code, out, err = await run_charon(charon_env(settings), "chat", stdin=b"run smoke_pipeline fail=true\n")
    assert code == 0, err
    assert "Running smoke_pipeline" in out
    assert "Run failed." in out and "Failed step `report`: ValueError: asked to fail (total was 5)" in out


async def test_cli_run_exit_codes(settings: Settings) -> None:
    env = charon_env(settings)
    code, out, _ = await run_charon(env, "run", "fetch_calls_pipeline", "lang=en", "call_quantity=20",
                                    "start_date=-30d", "--wait")  # fmt: skip
    assert code == 0
    assert "Running fetch_calls_pipeline" in out and "Run completed successfully." in out
    csv_path = out.split("`calls`: ")[1].splitlines()[0].strip()
    assert Path(csv_path).read_text().startswith("call_id,call_uuid,conversation_id")

    code, out, _ = await run_charon(env, "run", "smoke_pipeline", "fail=true", "--wait")
    assert code == 1 and "Run failed." in out

    code, _, err = await run_charon(env, "run", "smoke_pipeline", "a=x", "--wait")
    assert code == 2 and "`a`: expected a whole number, got 'x'." in err

    code, _, err = await run_charon(env, "run", "no_such_pipeline")
    assert code == 2 and "There is no pipeline `no_such_pipeline`." in err


async def test_cli_pipelines_and_compile(settings: Settings, tmp_path: Path) -> None:
    env = charon_env(settings)
    code, out, _ = await run_charon(env, "pipelines")
    assert code == 0 and "`fetch_calls_pipeline` — Random sample calls" in out
    code, out, _ = await run_charon(env, "pipelines", "fetch_calls_pipeline")
    assert code == 0 and "• `lang` (required) — one of en-US, en, hi" in out
    code, out, _ = await run_charon(env, "compile", str(tmp_path / "build"))
    assert code == 0
    for line in out.split():
        spec = yaml.safe_load(Path(line).read_text())
        assert spec["pipelineInfo"]["name"] in ("fetch-calls-pipeline", "smoke-pipeline")


async def test_compiled_steps_get_the_warehouse_secret_and_image_on_kubeflow(settings: Settings, tmp_path: Path) -> None:
    env = charon_env(settings, CHARON_WAREHOUSE_SECRET="calls-warehouse",
                     CHARON_COMPONENT_IMAGE="registry.example.com/charon:1.2.3")  # fmt: skip
    code, _, err = await run_charon(env, "compile", str(tmp_path / "build"))
    assert code == 0, err
    spec, platform = yaml.safe_load_all((tmp_path / "build" / "fetch_calls_pipeline.yaml").read_text())
    executor = spec["deploymentSpec"]["executors"]["exec-fetch-calls"]["container"]
    assert executor["image"] == "registry.example.com/charon:1.2.3"
    secret = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-fetch-calls"]["secretAsEnv"]
    assert secret[0]["secretName"] == "calls-warehouse"
    assert secret[0]["keyToEnv"] == [{"envVar": "CHARON_WAREHOUSE_URL", "secretKey": "url"}]


async def test_an_unreachable_database_is_one_clear_line(settings: Settings) -> None:
    env = charon_env(settings, DATABASE_URL="postgresql://charon:hunter2secret@127.0.0.1:1/charon")
    for args in (("run", "smoke_pipeline"), ("runs",), ("serve",)):
        code, out, err = await run_charon(env, *args)
        assert code == 1
        assert err.strip() == "Error: Charon cannot use its database (DATABASE_URL): [Errno 111] Connect call " \
                              "failed ('127.0.0.1', 1)"  # fmt: skip
        assert "Traceback" not in out + err and "hunter2secret" not in out + err
