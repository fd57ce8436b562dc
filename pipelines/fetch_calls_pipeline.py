"""``fetch_calls_pipeline``: the seed's "Random sample calls", one step writing a turn-level CSV."""

from types import SimpleNamespace
from typing import Any

from kfp import dsl

from commands.params.fetch_calls import FetchCallsParams
from components.fetch_calls import fetch_calls
from components.settings import with_warehouse
from pipelines.signature import pipeline_from_model


def _body(p: SimpleNamespace) -> Any:
    arguments = {name: getattr(p, name) for name in FetchCallsParams.pipeline_fields()}
    task = with_warehouse(fetch_calls(**arguments).set_display_name("fetch-calls"))
    return task.outputs["calls"]


pipeline = pipeline_from_model(FetchCallsParams, "fetch_calls_pipeline", _body, returns=dsl.Dataset)
