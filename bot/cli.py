"""``charon``: run pipelines, chat, serve, compile — the command line (click)."""

import asyncio
import logging
import os
import secrets
import signal
import sys
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from bot.settings import Settings

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2
log = logging.getLogger("charon")


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the setting and the problem
        raise click.ClickException(f"Configuration problem: {exc}") from None


def _run(coro: Callable[[], Coroutine[Any, Any, int]]) -> None:
    """Run a command; whatever goes wrong ends in one readable line, never a traceback."""
    from bot.database import DatabaseUnavailable
    from bot.redaction import redact

    try:
        code = asyncio.run(coro())
    except (click.ClickException, click.exceptions.Exit, KeyboardInterrupt):
        raise
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # a port in use, a folder that cannot be written…
        raise click.ClickException(redact(str(exc))) from None
    except Exception:
        reference = secrets.token_hex(4)
        log.debug("command failed (reference %s)", reference, exc_info=True)
        raise click.ClickException(
            f"Something went wrong (reference {reference}). Run again with --log-level DEBUG for details."
        ) from None
    sys.exit(code)


@click.group()
@click.option("--log-level", default=os.environ.get("CHARON_LOG_LEVEL", "WARNING"), show_default=True,
              help="Logging level (DEBUG, INFO, WARNING…).")  # fmt: skip
def main(log_level: str) -> None:
    """Charon: run Kubeflow pipelines from Slack, a terminal or HTTP."""
    from bot.logs import setup_logging

    setup_logging(log_level.upper())


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("pipeline")
@click.argument("params", nargs=-1, type=click.UNPROCESSED)
@click.option("--wait", is_flag=True, help="Wait for the run to end; exit 1 if it did not succeed.")
def run(pipeline: str, params: tuple[str, ...], wait: bool) -> None:
    """Start PIPELINE with key=value PARAMS (the same names as in Slack)."""

    async def go() -> int:
        from bot.render import mrkdwn_to_terminal, render_text
        from bot.runs import Origin
        from bot.runtime import open_charon
        from commands.errors import CommandError
        from commands.grammar import pipeline_name
        from commands.payloads import parse_key_values

        try:
            name = pipeline_name(pipeline)
            raw = parse_key_values(list(params))
        except CommandError as exc:
            click.echo(mrkdwn_to_terminal(render_text("input_errors", message=exc.message, details=exc.details)),
                       err=True)  # fmt: skip
            return EXIT_BAD_INPUT
        session = uuid.uuid4().hex
        origin = Origin("cli", user_id=os.environ.get("USER"), session=session)
        async with open_charon(_settings()) as charon:
            text = " ".join(["run", name, *params])
            reply = await charon.service.execute(
                _run_command(name, raw), origin, text=text, idempotency_key=f"cli:{session}"
            )
            click.echo(mrkdwn_to_terminal(reply.text), err=not reply.ok)
            if reply.run is None or not reply.ok:
                return EXIT_BAD_INPUT if reply.kind == "input_errors" else EXIT_RUN_FAILED
            if not wait:
                return EXIT_OK
            final = await _wait_for(charon, reply.run.id)
            click.echo(mrkdwn_to_terminal(render_text("run_finished", run=final, notify=[])))
            return EXIT_OK if final.state.value == "succeeded" else EXIT_RUN_FAILED

    _run(go)


def _run_command(name: str, raw: dict[str, Any]) -> Any:
    from commands.grammar import RunCommand

    return RunCommand(name, raw)


async def _wait_for(charon: Any, run_id: str) -> Any:
    """Follow one run to its end, then take its notice so a server does not report it again."""
    await charon.local.wait(run_id)
    while True:
        run = await charon.store.get(run_id)
        charon.poller.wake(run.backend)  # one run: ask its backend every couple of seconds
        await charon.poller.poll_once()
        run = await charon.store.get(run_id)
        if run.state.terminal:
            await charon.store.mark_notified(run_id)
            return run
        await asyncio.sleep(min(charon.launchers[run.backend].poll_interval, 2.0))


@main.command()
def chat() -> None:
    """A terminal chat with exactly the Slack grammar and replies."""

    async def go() -> int:
        from bot.runtime import open_charon
        from bot.terminal import chat as chat_loop

        async with open_charon(_settings()) as charon:
            await chat_loop(charon)
        return EXIT_OK

    _run(go)


@main.command()
@click.argument("name", required=False)
def pipelines(name: str | None) -> None:
    """List pipelines, or show one pipeline's parameters."""
    from bot.render import mrkdwn_to_terminal, render_text
    from commands.catalogue import PIPELINES
    from commands.describe import describe
    from commands.errors import CommandError
    from commands.grammar import pipeline_name

    if name is None:
        click.echo(mrkdwn_to_terminal(render_text("help", pipelines=PIPELINES)))
        return
    try:
        canonical = pipeline_name(name)
    except CommandError as exc:
        click.echo(mrkdwn_to_terminal(render_text("input_errors", message=exc.message, details=exc.details)),
                   err=True)  # fmt: skip
        sys.exit(EXIT_BAD_INPUT)
    model = PIPELINES[canonical]
    click.echo(mrkdwn_to_terminal(render_text("help_pipeline", name=canonical, model=model,
                                              params=describe(model))))  # fmt: skip


@main.command(name="compile")
@click.argument("directory", default="build", type=click.Path(file_okay=False, path_type=Path))
def compile_pipelines(directory: Path) -> None:
    """Compile every pipeline to DIRECTORY/<name>.yaml (default: build/)."""
    from pipelines.packages import compile_all

    for path in compile_all(directory):
        click.echo(str(path))


@main.command()
@click.option("--calls", default=12_000, show_default=True, help="How many synthetic calls.")
@click.option("--reset", is_flag=True, help="Replace the existing demo calls.")
def demo(calls: int, reset: bool) -> None:
    """Fill the demo calls warehouse (done automatically on first use of the embedded default)."""

    async def go() -> int:
        from bot.database import open_pool
        from bot.demo_warehouse import seed_demo_warehouse

        settings = _settings()
        if settings.warehouse_url is not None:
            raise click.ClickException("CHARON_WAREHOUSE_URL points at a real warehouse; the demo seeds only "
                                       "Charon's own database.")  # fmt: skip
        async with open_pool(settings) as pool:
            count = await seed_demo_warehouse(pool, calls=calls, reset=reset)
        click.echo(f"The demo warehouse holds {count} calls.")
        return EXIT_OK

    _run(go)


@main.command()
def serve() -> None:
    """Run the poller, the HTTP server and (when configured) the Slack bot until stopped."""

    async def go() -> int:
        from bot.server import serve as serve_forever

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_forever(_settings(), stop)
        return EXIT_OK

    _run(go)


for _command in ("status", "cancel", "retry"):

    def _make(verb: str) -> None:
        @main.command(name=verb, help=f"`{verb}` a run, as in Slack (RUN defaults to your latest).")
        @click.argument("run_id", required=False)
        def _verb(run_id: str | None) -> None:
            _say(" ".join(filter(None, [verb, run_id])))

    _make(_command)


@main.command()
def runs() -> None:
    """Recent runs."""
    _say("runs")


def _say(text: str) -> None:
    async def go() -> int:
        from bot.render import mrkdwn_to_terminal
        from bot.runs import Origin
        from bot.runtime import open_charon

        async with open_charon(_settings()) as charon:
            await charon.poller.poll_once()
            reply = await charon.service.handle_text(text, Origin("cli", user_id=os.environ.get("USER")))
            click.echo(mrkdwn_to_terminal(reply.text), err=not reply.ok)
            return EXIT_OK if reply.ok else EXIT_BAD_INPUT

    _run(go)


logging.captureWarnings(True)
