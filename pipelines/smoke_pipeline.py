"""``smoke_pipeline``: add, add, report — a quick check that an engine runs Charon's pipelines."""

from types import SimpleNamespace
from typing import Any

from kfp import dsl

from commands.params.smoke import SmokeParams
from components.add import add
from components.report import report
from pipelines.signature import pipeline_from_model


def _body(p: SimpleNamespace) -> Any:
    first = add(a=p.a, b=p.b, sleep_seconds=0.0).set_display_name("add")
    second = add(a=first.output, b=p.b, sleep_seconds=p.sleep_seconds).set_display_name("add-again")
    last = report(total=second.output, fail=p.fail).set_display_name("report")
    return last.outputs["summary"]


pipeline = pipeline_from_model(SmokeParams, "smoke_pipeline", _body, returns=dsl.Dataset)
