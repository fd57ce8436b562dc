"""The pipelines Charon can run: name → parameter model. Pipeline code lives in ``pipelines/<name>.py``."""

from commands.params.base import PipelineParams
from commands.params.fetch_calls import FetchCallsParams
from commands.params.smoke import SmokeParams

PIPELINES: dict[str, type[PipelineParams]] = {
    "fetch_calls_pipeline": FetchCallsParams,
    "smoke_pipeline": SmokeParams,
}


def normalise_name(name: str) -> str:
    """The seed's normalisation: case-insensitive, ``-`` and ``_`` alike."""
    return name.strip().lower().replace("-", "_")
