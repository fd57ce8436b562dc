"""Helpers for tests that run ``charon`` as a separate process, exactly as users do."""

import asyncio
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def charon_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a ``charon`` process sharing the test's database and data dir."""
    env = dict(os.environ)
    assert settings.database_url is not None
    env.update(
        DATABASE_URL=settings.database_url.get_secret_value(),
        CHARON_DATA_DIR=str(settings.data_path),
        CHARON_LOCAL_POLL_INTERVAL="0.2",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def run_charon(env: Mapping[str, str], *args: str, stdin: bytes | None = None,
                     timeout: float = 120) -> tuple[int, str, str]:  # fmt: skip
    """Run ``charon ARGS`` to completion; returns (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=dict(env),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@dataclass
class LiveProcess:
    """A long-running ``charon`` process whose output is collected line by line."""

    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, env: Mapping[str, str], *args: str) -> "LiveProcess":
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, env=dict(env),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        live = cls(proc)
        live._reader = asyncio.create_task(live._read())
        return live

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_for(self, text: str, timeout: float = 60) -> None:
        async with asyncio.timeout(timeout):
            while text not in self.output:
                if self.proc.returncode is not None and self._reader is not None and self._reader.done():
                    raise AssertionError(f"process ended before printing {text!r}:\n{self.output}")
                await asyncio.sleep(0.05)

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def exited(self, timeout: float = 30) -> int:
        """Wait for the process to end by itself."""
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout)
        return code

    async def stop(self, kill: bool = False, timeout: float = 30) -> int:
        if self.proc.returncode is None:
            self.proc.kill() if kill else self.proc.terminate()
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout)
        return code
