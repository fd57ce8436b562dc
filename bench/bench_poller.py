"""The KFP poller at scale: 10,000 tracked runs against the KFP emulator.

Goals: ≤ 50 KFP requests per poll cycle at 10,000 runs (≤ N/200), and ≤ 1 KB of ``charon serve``
memory per tracked run. Prints KFP requests per cycle, the poller's CPU time per cycle (this process:
event loop, KFP client threads, database driver), and the resident memory of a real ``charon serve``
per tracked run. The emulator runs as its own process, so CPU and memory are Charon's alone. Uses a
fresh database on the server of DATABASE_URL when set, else an embedded server.

    .venv/bin/python -m bench.bench_poller [--runs 10000] [--cycles 5]
"""

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bot.database import embedded_url, open_pool
from bot.runtime import open_charon
from bot.settings import Settings

TOKEN = "bench-token-0123456789"
NAMESPACE = "bench"
FINISH_PER_CYCLE = 100  # runs that end between two cycles, so a cycle records some changes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """The KFP emulator in its own process, driven through its admin routes."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, f"{self.url}/_emu/{path}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def list_requests(self) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = await self.admin("GET", "requests")
        return requests


@asynccontextmanager
async def emulator_process() -> AsyncIterator[Emulator]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.kfp_emulator", "--port", str(port), "--token", TOKEN,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        await asyncio.wait_for(proc.stdout.readline(), 60)  # "KFP emulator listening on …"
        async with aiohttp.ClientSession() as http:
            yield Emulator(f"http://127.0.0.1:{port}", http)
    finally:
        proc.terminate()
        await proc.wait()


@asynccontextmanager
async def fresh_database(data_dir: Path) -> AsyncIterator[str]:
    server = os.environ.get("DATABASE_URL") or embedded_url(data_dir / "pgdata")
    name = f"charon_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base, _, query = server.partition("?")
        yield f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def track(settings: Settings, kfp_ids: list[str]) -> None:
    """Record one Charon run per KFP run, as if each had been launched (COPY: seconds, not minutes)."""
    async with open_pool(settings) as pool:
        records = [(f"b{i:07x}", "smoke_pipeline", {}, "kfp", kfp_id, "running", "api", {})
                   for i, kfp_id in enumerate(kfp_ids)]  # fmt: skip
        await pool.copy_records_to_table(
            "runs", records=records,
            columns=["id", "pipeline", "params", "backend", "external_id", "state", "surface", "reply_to"],
        )  # fmt: skip


async def poll_cycles(settings: Settings, emu: Emulator, kfp_ids: list[str], cycles: int) -> None:
    async with open_charon(settings) as charon:
        rows = []
        for cycle in range(cycles + 1):
            if cycle:  # some runs end between cycles
                for kfp_id in kfp_ids[(cycle - 1) * FINISH_PER_CYCLE : cycle * FINISH_PER_CYCLE]:
                    await emu.admin("POST", f"runs/{kfp_id}/state", {"state": "SUCCEEDED"})
            await emu.admin("DELETE", "requests")
            tracked = len(await charon.store.active("kfp"))
            charon.poller.wake()
            cpu, wall = time.process_time(), time.perf_counter()
            await charon.poller.poll_once()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            requests = await emu.list_requests()
            pages = sum(1 for r in requests if r["method"] == "GET" and r["path"] == "/apis/v2beta1/runs")
            rows.append((tracked, len(requests), pages, cpu, wall))
            label = "first cycle after start" if cycle == 0 else f"cycle {cycle}"
            print(f"  {label:32} {tracked:6} tracked  {len(requests):3} KFP requests ({pages} list pages)"
                  f"  CPU {cpu * 1000:7.0f} ms  wall {wall * 1000:7.0f} ms")  # fmt: skip
    steady = rows[1:]
    goal = -(-steady[0][0] // 200)
    print(f"  steady cycles: median {statistics.median(r[1] for r in steady):.0f} KFP requests per cycle "
          f"(goal ≤ {goal} = N/200), median poller CPU {statistics.median(r[3] for r in steady) * 1000:.0f} ms "
          f"per cycle")  # fmt: skip


async def serve_rss(
    env: dict[str, str], emu: Emulator, pages_per_cycle: int, cycles: int = 5
) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KB of a `charon serve` after it has polled ``cycles`` times."""
    serve = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", env=env,
                                                 stdout=asyncio.subprocess.DEVNULL,
                                                 stderr=asyncio.subprocess.DEVNULL)  # fmt: skip
    try:
        await emu.admin("DELETE", "requests")
        async with asyncio.timeout(600):
            while True:
                requests = await emu.list_requests()
                polls = sum(1 for r in requests if r["method"] == "GET" and r["path"] == "/apis/v2beta1/runs")
                if polls >= pages_per_cycle * cycles:
                    break
                await asyncio.sleep(0.2)
        status = Path(f"/proc/{serve.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    finally:
        serve.terminate()
        await serve.wait()


async def bench(runs: int, cycles: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="charon-bench-"))
    async with emulator_process() as emu, fresh_database(data_dir) as database:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(
            DATABASE_URL=database, CHARON_WAREHOUSE_URL=database, CHARON_DATA_DIR=str(data_dir),
            HOME=str(data_dir), KFP_HOST=emu.url, KFP_NAMESPACE=NAMESPACE, KFP_EXISTING_TOKEN=TOKEN,
            CHARON_POLL_INTERVAL="1", CHARON_HTTP_PORT=str(free_port()), PYTHONUNBUFFERED="1",
        )  # fmt: skip
        os.environ.update(env)
        settings = Settings(_env_file=None)
        kfp_ids = (await emu.admin("POST", "runs/bulk", {"n": runs, "state": "RUNNING"}))["run_ids"]
        await track(settings, kfp_ids)
        print(f"Poller, in this process ({runs} KFP runs tracked, {FINISH_PER_CYCLE} end between cycles):")
        await poll_cycles(settings, emu, kfp_ids, cycles)

        async with open_pool(settings) as pool:
            tracked = await pool.fetchval("SELECT count(*) FROM runs WHERE finished_at IS NULL")
        full = await serve_rss(env, emu, -(-tracked // 200))
        async with open_pool(settings) as pool:  # all but one run end: the same server, tracking one run
            await pool.execute(
                "UPDATE runs SET state = 'succeeded', finished_at = now(), notified_at = now()"
                " WHERE finished_at IS NULL AND id <> (SELECT min(id) FROM runs WHERE finished_at IS NULL)"
            )
        one = await serve_rss(env, emu, 1)
    per_run = (full[0] - one[0]) * 1024 / (tracked - 1)
    print("charon serve, its own process, after 5 poll cycles (VmRSS / peak VmHWM):")
    print(f"  tracking {tracked:6} runs: {full[0] / 1024:6.1f} MB / {full[1] / 1024:6.1f} MB")
    print(f"  tracking      1 run:  {one[0] / 1024:6.1f} MB / {one[1] / 1024:6.1f} MB")
    print(f"  memory per tracked run: {per_run:.0f} bytes resident "
          f"({(full[1] - one[1]) * 1024 / (tracked - 1):.0f} bytes at peak) (goal ≤ 1024 bytes)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(bench(args.runs, args.cycles))


if __name__ == "__main__":
    main()
