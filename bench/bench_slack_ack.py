"""Slack ack latency: 100 concurrent ``/charon`` commands into a real ``charon serve`` (goal: p99 ≤ 50 ms).

The Slack emulator runs here; ``charon serve`` runs as its own process in Socket Mode against it, as
deployed. Latency is what Slack would measure: from writing an envelope to reading its ack. Every
command starts a real run (``run smoke_pipeline``), so the work after each ack competes with the acks
that follow; the benchmark ends when every command has been answered (commands come from
``--channels`` channels, as Charon paces its messages to about one a second per channel). Uses
DATABASE_URL when set, else the embedded server.

    .venv/bin/python -m bench.bench_slack_ack [--commands 100] [--channels 10] [--text "run smoke_pipeline"]
"""

import argparse
import asyncio
import os
import signal
import socket
import statistics
import sys
import tempfile

import aiohttp

from tests.slack_emulator import SlackEmulator


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def in_process_ack_ms(port: int) -> tuple[float, int]:
    """Charon's own view from ``/metrics``: mean seconds from reading a request to sending its ack."""
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
        lines = (await response.text()).splitlines()
    value = {line.split()[0]: float(line.split()[1]) for line in lines if line.startswith("charon_slack_ack_seconds_")}
    count = int(value["charon_slack_ack_seconds_count"])
    return value["charon_slack_ack_seconds_sum"] / count * 1000, count


def answers(emu: SlackEmulator) -> int:
    return len(emu.calls_to("chat.postMessage")) + len(emu.response_url_posts)


async def bench(commands: int, channels: int, text: str) -> None:
    port = free_port()
    async with SlackEmulator() as emu:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(
            SLACK_API_URL=emu.api_url, SLACK_BOT_TOKEN=emu.bot_token, SLACK_APP_TOKEN=emu.app_token,
            CHARON_DATA_DIR=env.get("CHARON_DATA_DIR", tempfile.mkdtemp(prefix="charon-bench-")),
            CHARON_HTTP_PORT=str(port), PYTHONUNBUFFERED="1",
        )  # fmt: skip
        serve = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", env=env,
                                                     stdout=asyncio.subprocess.DEVNULL)  # fmt: skip
        try:
            await emu.wait_connected(timeout=180)
            await emu.send_slash_command("help")  # warm-up: Bolt's first auth.test, imports, the pool
            acks = await asyncio.gather(*(emu.send_slash_command(text, channel_id=f"C0BENCH{i % channels:03d}",
                                                                 timeout=10) for i in range(commands)))  # fmt: skip
            await emu.wait_until(lambda: answers(emu) > commands, 120, "an answer to every command (and the warm-up)")
            mean_inside, timed = await in_process_ack_ms(port)
        finally:
            serve.send_signal(signal.SIGTERM)
            await serve.wait()
    ms = [ack.latency * 1000 for ack in acks]
    print(f"{commands} concurrent `/charon {text}` acks over Socket Mode (charon serve, its own process):")
    print(f"  p50 {percentile(ms, 50):.1f} ms   p99 {percentile(ms, 99):.1f} ms   max {max(ms):.1f} ms"
          f"   mean {statistics.mean(ms):.1f} ms   (goal p99 ≤ 50 ms)")  # fmt: skip
    print(f"  inside charon serve (charon_slack_ack_seconds): mean {mean_inside:.1f} ms over {timed} requests")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--text", default="run smoke_pipeline a=1 b=2")
    args = parser.parse_args()
    asyncio.run(bench(args.commands, args.channels, args.text))


if __name__ == "__main__":
    main()
