"""What ``charon run smoke_pipeline --wait`` adds over bare kfp.local for the same 3-task pipeline.

Both are timed as whole processes, as a user meets them (goal: ≤ +0.5 s). Uses DATABASE_URL when
set, else the embedded server; the embedded server is started once first so both sides compare
warm (``charon serve`` normally holds it).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.bench_local_overhead
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE = """
import tempfile
from kfp import local
from pipelines.smoke_pipeline import pipeline
local.init(local.SubprocessRunner(use_venv=False), pipeline_root=tempfile.mkdtemp())
pipeline(a=1, b=2)
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ, CHARON_DATA_DIR=os.environ.get("CHARON_DATA_DIR", tempfile.mkdtemp()))
    charon = [sys.executable, "-m", "bot", "run", "smoke_pipeline", "a=1", "b=2", "--wait"]
    holder = None
    if "DATABASE_URL" not in env:  # keep the embedded server up, as `charon serve` would
        holder = subprocess.Popen([sys.executable, "-m", "bot", "chat"], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL)  # fmt: skip
        time.sleep(5)
    try:
        timed(charon, env)  # warm-up: first-run seeding, compiled bytecode
        bare = [timed([sys.executable, "-c", BARE], env) for _ in range(args.repeat)]
        ours = [timed(charon, env) for _ in range(args.repeat)]
    finally:
        if holder is not None:
            holder.communicate(b"exit\n", timeout=30)
    b, c = statistics.median(bare), statistics.median(ours)
    db = "DATABASE_URL" if "DATABASE_URL" in os.environ else "embedded PostgreSQL"
    print(f"bare kfp.local process:      median {b:.2f} s  (min {min(bare):.2f})")
    print(f"charon run --wait process:   median {c:.2f} s  (min {min(ours):.2f})  [{db}]")
    print(f"overhead: {c - b:+.2f} s (goal ≤ +0.5 s), over {args.repeat} runs each")


if __name__ == "__main__":
    main()
