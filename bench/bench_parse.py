"""Parse + validate throughput of the command grammar on one core (goal: ≥ 20,000 commands/s).

    .venv/bin/python -m bench.bench_parse [--seconds 3]
"""

import argparse
import base64
import json
import time
from datetime import date

from commands.errors import CommandError
from commands.grammar import RunCommand, parse
from commands.params.base import ValidationContext
from commands.validation import validate_params

B64 = base64.b64encode(json.dumps({"lang": "hi", "call_quantity": 50, "reported": True}).encode()).decode()
COMMANDS = [
    "<@UBOT> run fetch_calls_pipeline lang=en call_quantity=200 start_date=-7d",
    "run fetch_calls_pipeline lang=en client_id=1,2,3 call_type=INBOUND reported=true end_date=yesterday",
    '<@UBOT> run fetch_calls_pipeline ```{"lang": "en", "call_quantity": 20, "reported": True,}```',
    f"Reminder: <@UBOT> run fetch_calls_pipeline b64_{B64}.",
    "run smoke_pipeline a=1 b=2 notify=<@U123>",
    "run fetch_calls_pipeline lang=fr call_quantiy=2",  # invalid: errors with a suggestion
    "status 1a2b3c4d",
    "help fetch_calls_pipeline",
]


def parse_and_validate(text: str, ctx: ValidationContext) -> None:
    try:
        command = parse(text)
        if isinstance(command, RunCommand):
            validate_params(command.pipeline, command.params, ctx)
    except CommandError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    ctx = ValidationContext(today=date.today(), max_date_age_days=270)
    for text in COMMANDS:  # warm caches
        parse_and_validate(text, ctx)
    count = 0
    start = time.process_time()
    deadline = start + args.seconds
    while time.process_time() < deadline:
        for text in COMMANDS:
            parse_and_validate(text, ctx)
        count += len(COMMANDS)
    elapsed = time.process_time() - start
    print(f"parse+validate: {count / elapsed:,.0f} commands per CPU-second "
          f"({count} commands, mix of {len(COMMANDS)} forms incl. 1 invalid; goal ≥ 20,000)")  # fmt: skip


if __name__ == "__main__":
    main()
