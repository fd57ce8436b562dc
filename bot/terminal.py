"""The terminal: a notifier that prints finished runs, and ``charon chat`` — the Slack grammar at a prompt."""

import asyncio
import getpass
import sys
import uuid
from collections.abc import Callable

from bot.render import mrkdwn_to_terminal, render_text
from bot.runs import Origin, Run
from bot.runtime import Charon

PROMPT = "charon> "


class TerminalNotifier:
    """Prints final notices of runs from ``surfaces``; with a ``session``, only that session's runs."""

    name = "terminal"

    def __init__(self, surfaces: tuple[str, ...], session: str | None = None,
                 write: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.surfaces = surfaces
        self.session = session
        self.write = write or (lambda text: print(text, flush=True))

    def accepts(self, run: Run) -> bool:
        return self.session is None or run.reply_to.get("session") == self.session

    async def run_finished(self, run: Run) -> None:
        text = render_text("run_finished", run=run, notify=run.reply_to.get("notify", []))
        self.write(f"[{run.id}] {mrkdwn_to_terminal(text)}")

    async def run_changed(self, run: Run) -> None:
        return None


async def chat(charon: Charon) -> None:
    """Read commands from stdin until EOF or ``exit``; notices appear as runs finish."""
    session = uuid.uuid4().hex
    origin = Origin("chat", user_id=getpass.getuser(), session=session)

    def write(text: str) -> None:
        # At a terminal, the notice takes the prompt's line (cleared) and the prompt comes back under it.
        sys.stdout.write(f"\r\x1b[K{text}\n{PROMPT}" if interactive else f"{text}\n")
        sys.stdout.flush()

    interactive = sys.stdin.isatty()
    charon.poller.add_notifier(TerminalNotifier(("chat",), session, write))
    charon.poller.start()
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("Charon chat — the same commands as in Slack. `help` to start, `exit` to leave.", flush=True)
    while True:
        if interactive:
            sys.stdout.write(PROMPT)
            sys.stdout.flush()
        raw = await reader.readline()
        if not raw:
            break
        line = raw.decode("utf-8", "replace").strip()
        if line in ("exit", "quit"):
            return
        if not line:
            continue
        reply = await charon.service.handle_text(line, origin, idempotency_key=f"chat:{uuid.uuid4()}")
        print(mrkdwn_to_terminal(reply.text), flush=True)
    await _drain(charon, session)


async def _drain(charon: Charon, session: str) -> None:
    """At the end of piped input, wait for this session's runs so their notices are not lost."""
    await charon.poller.stop()  # from here on this loop polls, so no notice is claimed and dropped
    while await charon.store.session_has_active_runs(session):
        await charon.poller.poll_once()
        await asyncio.sleep(0.2)  # the runs live in other processes: nothing to await
    await charon.poller.poll_once()
