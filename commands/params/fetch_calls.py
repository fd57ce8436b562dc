"""``fetch_calls_pipeline``: sample production calls (turn level) from the calls warehouse."""

from typing import TYPE_CHECKING, Literal
from zoneinfo import available_timezones

from pydantic import Field, field_validator, model_validator

from commands.params.base import Csv, CsvInts, Date, PipelineParams, csv_choice

LANGUAGES = ("en-US", "en", "hi", "ta", "te", "ma", "gu", "mr")
if TYPE_CHECKING:
    CallType = str
else:
    CallType = csv_choice("INBOUND", "OUTBOUND", "CALL_TEST")


class FetchCallsParams(PipelineParams):
    """Randomly sample exactly ``call_quantity`` calls matching the filters; one CSV row per user turn."""

    title = "Random sample calls from the calls warehouse into a turn-level CSV"

    lang: Literal["en-US", "en", "hi", "ta", "te", "ma", "gu", "mr"] = Field(
        description="Language code of the calls."
    )
    call_quantity: int = Field(200, ge=1, le=100_000, description="How many distinct calls to sample.")
    start_date: Date = Field("", description="First day of calls (YYYY-MM-DD, today, -7d); empty: today.")
    end_date: Date = Field("", description="Last day of calls, inclusive; empty: today.")
    client_id: CsvInts = Field("", description="Client ids, comma-separated.")
    template_id: str = Field("", description="Flow template id.")
    use_case: str = Field("", description="Bot use case.")
    flow_name: str = Field("", description="Flow name.")
    flow_ids: CsvInts = Field("", description="Flow ids, comma-separated.")
    call_type: CallType = Field("", description="INBOUND, OUTBOUND or CALL_TEST (comma-separated); empty: inbound and outbound.")
    ignore_callers: Csv = Field("", description="Caller numbers to leave out, comma-separated.")
    reported: bool = Field(False, description="Only calls reported by the client.")
    min_duration: str = Field("", description="Minimum call duration in seconds.")
    asr_provider: str = Field("", description="Only turns transcribed by this ASR provider.")
    states: Csv = Field("", description="Only turns in these bot states, comma-separated.")
    intents: Csv = Field("", description="Only turns with these intents, comma-separated.")
    remove_empty_audios: bool = Field(True, description="Leave out turns without audio.")
    use_fsm_url: bool = Field(False, description="Give audio as presigned S3 URLs.")
    timezone: str = Field("Asia/Kolkata", description="Time zone of the dates and of reftime in the CSV.")

    @field_validator("min_duration")
    @classmethod
    def _number(cls, value: str) -> str:
        if value:
            try:
                if float(value) < 0:
                    raise ValueError
            except ValueError:
                raise ValueError(f"expected a number of seconds ≥ 0, got '{value}'") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in _zones():
            raise ValueError(f"expected an IANA time zone such as Asia/Kolkata or UTC, got '{value}'")
        return value

    @model_validator(mode="after")
    def _window(self) -> "FetchCallsParams":
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError(f"start_date {self.start_date} is after end_date {self.end_date}")
        return self


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES
