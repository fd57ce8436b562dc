"""``smoke_pipeline``: three chained steps that check an installation end to end in a second."""

from pydantic import Field

from commands.params.base import PipelineParams


class SmokeParams(PipelineParams):
    """Add two numbers in three steps and write a report; can be told to sleep or to fail."""

    title = "Three-step check that the engine runs pipelines (add, add, report)"

    a: int = Field(1, description="First number.")
    b: int = Field(2, description="Second number.")
    sleep_seconds: float = Field(0.0, ge=0, le=3600, description="Seconds the middle step sleeps.")
    fail: bool = Field(False, description="Make the last step fail, to see a failure report.")
