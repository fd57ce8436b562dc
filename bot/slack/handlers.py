"""What Charon does for each kind of Slack request, after the request has been acknowledged.

Every run-starting path passes an idempotency key derived from what Slack delivered (the message, the
slash command's trigger, the form's view, the button's message), so a redelivery, a double click or a
resubmitted form finds the run it already started instead of starting another.
"""

import json
from dataclasses import replace
from typing import Any

from bot.render import render_text
from bot.runtime import Charon
from bot.slack.answers import STARTED, Answers, Asker
from bot.slack.blocks import message_blocks, modal_view
from bot.slack.modals import FormContext, command_line, form_errors, form_view, submitted_params
from bot.slack.notifier import RECEIVED
from bot.slack.sender import SlackSender
from commands import grammar
from commands.errors import CommandError
from commands.validation import problems_by_field


class SlackHandlers:
    def __init__(self, charon: Charon, sender: SlackSender, answers: Answers) -> None:
        self.charon = charon
        self.service = charon.service
        self.sender = sender
        self.answers = answers

    # -- typed commands (mentions, DMs, the slash command) -----------------------------------------

    async def on_text(self, asker: Asker, text: str, key: str) -> None:
        origin = asker.origin()
        try:
            command = grammar.parse(text)
        except CommandError:
            await self.answers.deliver(asker, await self.service.handle_text(text, origin))  # audited there
            return
        request = asker.request_ts if isinstance(command, grammar.RunCommand) else None
        if request:
            await self.sender.react(asker.channel, request, add=RECEIVED)
        reply = await self.service.execute(command, origin, text=text, idempotency_key=key)
        if request and reply.kind not in (*STARTED, "duplicate"):
            await self.sender.react(asker.channel, request, remove=RECEIVED)
        await self.answers.deliver(asker, reply, command)

    # -- forms ------------------------------------------------------------------------------------

    async def open_form(self, trigger_id: str, context: FormContext, raw: dict[str, Any] | None = None) -> None:
        """Open the form (the picker alone without a pipeline), listing what is wrong with ``raw``."""
        ctx = self.service.validation_context()
        problems = [text for _, text in problems_by_field(context.pipeline, raw, ctx)] if context.pipeline and raw else []
        await self.sender.open_view(trigger_id, form_view(context, ctx.today, raw, problems))

    async def open_form_for_message(self, trigger_id: str, channel: str, message: dict[str, Any]) -> None:
        """The message shortcut: a form pre-filled from the command the message holds, else the picker."""
        context = FormContext(channel, message.get("thread_ts") or message["ts"], message["ts"])
        try:
            command = grammar.parse(message.get("text") or "")
        except CommandError:
            command = None
        if isinstance(command, grammar.RunCommand):
            await self.open_form(trigger_id, replace(context, pipeline=command.pipeline), command.params)
        else:
            await self.open_form(trigger_id, context)

    async def pick_pipeline(self, view: dict[str, Any], pipeline: str) -> None:
        """Switch the open form to another pipeline, keeping what was typed into fields of the same name."""
        old = FormContext.load(view["private_metadata"])
        raw = submitted_params(view) if old.pipeline else {}
        new = form_view(replace(old, pipeline=pipeline), self.service.validation_context().today, raw)
        await self.sender.update_view(view["id"], new, view_hash=view.get("hash"))

    def check_form(self, view: dict[str, Any]) -> tuple[dict[str, str], None] | tuple[None, grammar.RunCommand]:
        """Before the ack: the form's errors by block, or the command it asks for."""
        context = FormContext.load(view["private_metadata"])
        assert context.pipeline is not None, "a form without a pipeline has no submit button"
        raw = submitted_params(view)
        problems = problems_by_field(context.pipeline, raw, self.service.validation_context())
        if problems:
            return form_errors(view, problems), None
        return None, grammar.RunCommand(context.pipeline, raw)

    def submitted_view(self, command: grammar.RunCommand) -> tuple[dict[str, Any], str]:
        """The form's confirmation (with the equivalent one-line command), and that command."""
        params = self.service.validate(command.pipeline, command.params)
        line = command_line(self.charon.settings.slash_command, command.pipeline, params)
        return modal_view("run_submitted", pipeline=command.pipeline, command=line, outcome=None), line

    async def on_form_submitted(self, user_id: str, view: dict[str, Any], command: grammar.RunCommand,
                                line: str) -> None:  # fmt: skip
        context = FormContext.load(view["private_metadata"])
        asker = Asker(user_id, context.channel, context.thread_ts, context.request_ts, in_thread=False)
        reply = await self.service.execute(command, asker.origin(), text=line, idempotency_key=f"slack:view:{view['id']}")
        shown = await self.answers.show_in_form(view["id"], command.pipeline, line, reply)
        await self.answers.deliver(asker, reply, command, shown_in_form=shown)

    # -- buttons ----------------------------------------------------------------------------------

    async def on_open_form_button(self, trigger_id: str, channel: str, value: str) -> None:
        data = json.loads(value)
        context = FormContext(channel, data.get("t"), data.get("q"), data["p"])
        await self.open_form(trigger_id, context, data.get("r") or {})

    async def on_run_button(self, action: str, run_id: str, asker: Asker, trigger_id: str) -> None:
        """Cancel, Retry or Re-run with edits on a run's status message (its requester or an admin)."""
        run = await self.charon.store.get(run_id)
        if run is None:
            return
        asker = Asker(asker.user_id, asker.channel, run.reply_to.get("thread_ts"), response_url=asker.response_url,
                      in_thread=False)  # fmt: skip
        origin = asker.origin()
        if action == "run_edit":
            refusal = self.service.policy.refuse(origin, "rerun", pipeline=run.pipeline, run=run)
            outcome = "refused:refused" if refusal else "form"
            await self.charon.store.audit(origin, f"re-run with edits {run.id}", command="rerun", outcome=outcome,
                                          run_id=run.id)  # fmt: skip
            if refusal:
                await self.answers.say(asker, refusal, private=True)
                return
            context = FormContext(asker.channel, asker.thread_ts, pipeline=run.pipeline)
            await self.open_form(trigger_id, context, run.params)
            return
        command: grammar.Command = grammar.CancelCommand(run.id) if action == "run_cancel" else grammar.RetryCommand(run.id)
        key = f"slack:retry:{run.id}" if action == "run_retry" else None
        reply = await self.service.execute(command, origin, text=f"{action.removeprefix('run_')} {run.id}",
                                           idempotency_key=key)  # fmt: skip
        await self.answers.deliver(asker, reply, command)

    async def on_confirm_button(self, launch: bool, clicker: str, channel: str, card_ts: str, value: str,
                                response_url: str | None) -> None:  # fmt: skip
        """Launch (or drop) a run that waited for a confirmation."""
        data = json.loads(value)
        pipeline, requester = data["p"], data["u"]
        asker = Asker(clicker, channel, data.get("t"), response_url=response_url, in_thread=False)
        if clicker != requester:
            refusal = self.service.policy.refuse(asker.origin(), "launch_for_other", pipeline=pipeline)
            if refusal:
                await self.charon.store.audit(asker.origin(), f"launch {pipeline}", command="launch",
                                              outcome="refused:refused")  # fmt: skip
                await self.answers.say(asker, refusal, private=True)
                return
        params = data.get("r") or {}
        if launch:
            requested = Asker(requester, channel, data.get("t"), data.get("q"))
            reply = await self.service.execute(grammar.RunCommand(pipeline, params),
                                               requested.origin(confirmed_by=clicker), text=f"launch {pipeline}",
                                               idempotency_key=f"slack:confirm:{channel}:{card_ts}")  # fmt: skip
            launched = reply.kind in STARTED
        else:
            await self.charon.store.audit(asker.origin(), f"don't launch {pipeline}", command="launch",
                                          outcome="dismissed")  # fmt: skip
            launched = False
        if launched or not launch:  # the card is answered: its buttons give way to who decided what
            text = render_text("run_confirm", pipeline=pipeline, params=params, decided=True)
            await self.sender.update(channel, card_ts, text, message_blocks("confirm_done", text=text,
                                                                            launched=launched, user=clicker))  # fmt: skip
        if launch:
            await self.answers.deliver(asker, reply)
