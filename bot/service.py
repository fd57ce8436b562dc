"""``CharonService``: commands in, replies out. Slack, the terminal, the CLI and the HTTP API all call it."""

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.launchers.base import Launcher, LaunchError
from bot.policy import AllowAll, Policy
from bot.poller import Poller
from bot.render import render_text
from bot.runs import Origin, Run, RunState, RunStatus
from bot.settings import Settings
from bot.store import RunStore
from commands import grammar
from commands.catalogue import PIPELINES
from commands.describe import describe
from commands.errors import CommandError
from commands.params.base import PipelineParams, ValidationContext
from commands.payloads import encode_b64_payload
from commands.validation import validate_params

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """What to say back: rendered mrkdwn ``text``, plus the facts adapters build richer views from."""

    kind: str
    text: str
    ok: bool = True
    run: Run | None = None
    errors: list[str] = field(default_factory=list)
    pipeline: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


class CharonService:
    def __init__(
        self,
        settings: Settings,
        store: RunStore,
        launchers: dict[str, Launcher],
        poller: Poller,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.launchers = launchers
        self.poller = poller
        self.policy: Policy = policy or AllowAll()
        self.default_backend = "kfp" if "kfp" in launchers else "local"
        self.schedules: Any = None
        """The schedule manager, where one is configured (``schedule`` commands answer without it)."""

    # -- entry points ---------------------------------------------------------------------------

    async def handle_text(self, text: str, origin: Origin, *, idempotency_key: str | None = None) -> Reply:
        """Parse and execute one command line; never raises for anything a user typed."""
        try:
            command = grammar.parse(text)
        except CommandError as exc:
            reply = self._errors(exc)
            await self.store.audit(origin, text, command=None, outcome="invalid", detail={"errors": reply.errors})
            return reply
        return await self.execute(command, origin, text=text, idempotency_key=idempotency_key)

    async def execute(
        self, command: grammar.Command, origin: Origin, *, text: str = "", idempotency_key: str | None = None
    ) -> Reply:
        name = type(command).__name__.removesuffix("Command").lower()
        try:
            reply = await self._dispatch(command, origin, idempotency_key)
        except CommandError as exc:
            reply = self._errors(exc)
        except Exception:
            reference = secrets.token_hex(4)
            log.exception("command failed (reference %s)", reference)
            reply = Reply("internal_error", render_text("internal_error", reference=reference), ok=False)
        await self.store.audit(
            origin, text or name, command=name, outcome=reply.kind if reply.ok else f"refused:{reply.kind}",
            run_id=reply.run.id if reply.run else None,
            detail={"errors": reply.errors} if reply.errors else None,
        )  # fmt: skip
        return reply

    def validation_context(self) -> ValidationContext:
        today = datetime.now(ZoneInfo("UTC")).date()
        return ValidationContext(today=today, max_date_age_days=self.settings.max_date_age_days)

    def validate(self, pipeline: str, raw: dict[str, Any]) -> PipelineParams:
        """Raises :class:`CommandError` listing every problem."""
        return validate_params(pipeline, raw, self.validation_context())

    # -- commands -------------------------------------------------------------------------------

    async def _dispatch(self, command: grammar.Command, origin: Origin, key: str | None) -> Reply:
        match command:
            case grammar.RunCommand(pipeline, params):
                return await self.start_run(pipeline, params, origin, idempotency_key=key)
            case grammar.HelpCommand(None):
                return Reply("help", render_text("help", pipelines=PIPELINES))
            case grammar.HelpCommand(pipeline=str(pipeline)):
                model = PIPELINES[pipeline]
                text = render_text("help_pipeline", name=pipeline, model=model, params=describe(model))
                return Reply("help_pipeline", text, pipeline=pipeline)
            case grammar.RunsCommand():
                runs = await self.store.recent(10)
                return Reply("runs", render_text("runs_list", runs=runs))
            case grammar.StatusCommand(run_id):
                run = await self.find_run(run_id, origin)
                return Reply("status", render_text("run_status", run=run, notify=[]), run=run)
            case grammar.CancelCommand(run_id):
                return await self.cancel(await self.find_run(run_id, origin), origin)
            case grammar.RetryCommand(run_id):
                return await self.retry(await self.find_run(run_id, origin), origin, idempotency_key=key)
            case grammar.CreateRecurringCommand(pipeline, params) if "cron" in params and self.schedules:
                rest = {k: v for k, v in params.items() if k != "cron"}
                scheduled: Reply = await self.schedules.execute(
                    grammar.ScheduleCommand(pipeline, str(params["cron"]), rest), origin
                )
                return scheduled
            case grammar.CreateRecurringCommand(pipeline, params):
                self.validate(pipeline, params)
                text = render_text("create_recurring", pipeline=pipeline, channel=origin.channel or "#channel",
                                   payload=encode_b64_payload(params))  # fmt: skip
                return Reply("create_recurring", text, pipeline=pipeline)
            case _:
                if self.schedules is None:
                    text = render_text("not_available", feature="Schedules", plural=True, where="yet",
                                       hint="They arrive with the KFP backend release.")  # fmt: skip
                    return Reply("not_available", text, ok=False)
                reply: Reply = await self.schedules.execute(command, origin)
                return reply

    async def start_run(
        self,
        pipeline: str,
        raw_params: dict[str, Any],
        origin: Origin,
        *,
        idempotency_key: str | None = None,
        retry_of: str | None = None,
        schedule_id: str | None = None,
    ) -> Reply:
        refusal = self.policy.refuse(origin, "run", pipeline=pipeline)
        if refusal:
            return Reply("refused", render_text("refused", reason=refusal), ok=False, pipeline=pipeline)
        params = self.validate(pipeline, raw_params)
        if "confirmed_by" not in origin.extra and self.policy.needs_confirmation(origin, pipeline):
            asked = params.model_dump(exclude_unset=True)
            text = render_text("run_confirm", pipeline=pipeline, params=asked)
            return Reply("confirm", text, pipeline=pipeline, params=asked)
        origin = route(origin, params)
        launcher = self.launchers[self.default_backend]
        run, created = await self.store.create_run(
            pipeline=pipeline, params=params.model_dump(), backend=launcher.name, origin=origin,
            idempotency_key=idempotency_key, retry_of=retry_of, schedule_id=schedule_id,
        )  # fmt: skip
        if not created:
            return Reply("duplicate", render_text("run_duplicate", run=run), run=run, pipeline=pipeline)
        try:
            launched = await launcher.launch(run, params.pipeline_arguments())
        except LaunchError as exc:
            await self.store.fail_launch(run.id, str(exc))
            failed = await self.store.get(run.id)
            return Reply("launch_failed", render_text("run_finished", run=failed, notify=[]), ok=False, run=failed)
        await self.store.set_launched(run.id, launched.external_id, launched.run_url, launched.state)
        self.poller.wake(launcher.name)
        run = await self.store.get(run.id) or run
        return Reply("run_created", render_text("run_created", run=run), run=run, pipeline=pipeline,
                     params=params.model_dump())  # fmt: skip

    async def find_run(self, ident: str | None, origin: Origin) -> Run:
        """The named run; without a name, the run of this thread, else the requester's latest."""
        run: Run | None = None
        if ident:
            run = await self.store.get(ident)
            if run is None:
                raise CommandError(f"There is no run `{ident}`. `runs` lists recent runs.")
            return run
        if origin.channel and origin.thread_ts:
            run = await self.store.latest_in_thread(origin.channel, origin.thread_ts)
        if run is None:
            recent = await self.store.recent(1, requested_by=origin.user_id)
            run = recent[0] if recent else None
        if run is None:
            raise CommandError("Which run? Give its id, e.g. `status 1a2b3c4d`; `runs` lists recent runs.")
        return run

    async def cancel(self, run: Run, origin: Origin) -> Reply:
        refusal = self.policy.refuse(origin, "cancel", pipeline=run.pipeline, run=run)
        if refusal:
            return Reply("refused", render_text("refused", reason=refusal), ok=False, run=run)
        if run.state.terminal:
            return Reply("status", render_text("run_status", run=run, notify=[]), run=run)
        try:
            await self.launchers[run.backend].cancel(run)
        except LaunchError as exc:
            return Reply("cancel_failed", render_text("refused", reason=str(exc)), ok=False, run=run)
        await self.store.record_status(run.id, RunStatus(RunState.CANCELING))
        self.poller.wake(run.backend)
        run = await self.store.get(run.id) or run
        return Reply("canceling", render_text("run_canceling", run=run), run=run)

    async def retry(self, run: Run, origin: Origin, *, idempotency_key: str | None = None) -> Reply:
        refusal = self.policy.refuse(origin, "retry", pipeline=run.pipeline, run=run)
        if refusal:
            return Reply("refused", render_text("refused", reason=refusal), ok=False, run=run)
        if not run.state.terminal:
            raise CommandError(f"Run `{run.id}` is still {run.state.value}; retry it once it has ended.")
        launched = await self.launchers[run.backend].retry(run) if run.state is RunState.FAILED else None
        if launched is not None:
            await self.store.reopen(run.id, launched.state)
            self.poller.wake(run.backend)
            run = await self.store.get(run.id) or run
            return Reply("run_created", render_text("run_created", run=run), run=run, pipeline=run.pipeline)
        return await self.start_run(run.pipeline, run.params, origin, idempotency_key=idempotency_key,
                                    retry_of=run.id)  # fmt: skip

    @staticmethod
    def _errors(exc: CommandError) -> Reply:
        text = render_text("input_errors", message=exc.message, details=exc.details)
        return Reply("input_errors", text, ok=False, errors=[exc.message, *exc.details])


def route(origin: Origin, params: PipelineParams) -> Origin:
    """The seed's reply fields override where the command came from; ``notify`` travels along."""
    extra = dict(origin.extra)
    mentions = [m for m in params.notify.split(",") if m]
    if origin.user_id and origin.surface == "slack" and f"<@{origin.user_id}>" not in mentions:
        mentions.append(f"<@{origin.user_id}>")
    if mentions:
        extra["notify"] = mentions
    channel, thread = origin.channel, origin.thread_ts
    if params.channel:
        channel, thread = params.channel, params.slack_thread or None
    elif params.slack_thread:
        thread = params.slack_thread
    return Origin(origin.surface, origin.user_id, channel, thread, origin.session, origin.webhook_uri, extra)
