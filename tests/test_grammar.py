"""The command grammar: every form users type, and a property: any text → command or clear error."""

import base64
import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands import grammar
from commands.errors import CommandError
from commands.params.base import ValidationContext
from commands.validation import validate_params

CTX = ValidationContext(today=date(2026, 11, 27), max_date_age_days=270)
B64 = base64.b64encode(json.dumps({"lang": "hi", "call_quantity": 5}).encode()).decode()

CASES = [
    ("<@UBOT> run fetch_calls_pipeline lang=en call_quantity=200",
     grammar.RunCommand("fetch_calls_pipeline", {"lang": "en", "call_quantity": "200"})),
    ("run Fetch-Calls-Pipeline lang=en", grammar.RunCommand("fetch_calls_pipeline", {"lang": "en"})),
    ('run smoke_pipeline a="1" b=“2”', grammar.RunCommand("smoke_pipeline", {"a": "1", "b": "2"})),
    ("run smoke_pipeline notify='<@U1>, <@U2>'", grammar.RunCommand("smoke_pipeline", {"notify": "<@U1>, <@U2>"})),
    ("run fetch_calls_pipeline template_id=<https://x.io/a?b=c&amp;d=e|x.io>",
     grammar.RunCommand("fetch_calls_pipeline", {"template_id": "https://x.io/a?b=c&d=e"})),
    ("run fetch_calls_pipeline template_id=<mailto:a@b.co|a@b.co>",
     grammar.RunCommand("fetch_calls_pipeline", {"template_id": "a@b.co"})),
    ("run smoke_pipeline channel=<#C042|ml-runs>", grammar.RunCommand("smoke_pipeline", {"channel": "C042"})),
    ("run smoke_pipeline notify=<@U123>", grammar.RunCommand("smoke_pipeline", {"notify": "<@U123>"})),
    ("run fetch_calls_pipeline template_id=YWJj==", grammar.RunCommand("fetch_calls_pipeline", {"template_id": "YWJj=="})),
    ("<@UBOT> run fetch_calls_pipeline\n```\n{\n  // language\n  \"lang\": \"en\",\n  # how many\n"
     "  \"call_quantity\": 20,\n  \"reported\": True,\n}\n```",
     grammar.RunCommand("fetch_calls_pipeline", {"lang": "en", "call_quantity": 20, "reported": True})),
    (f"Reminder: <@UBOT> run fetch_calls_pipeline b64_{B64}.",
     grammar.RunCommand("fetch_calls_pipeline", {"lang": "hi", "call_quantity": 5})),
    ("<@UBOT> help", grammar.HelpCommand()),
    ("", grammar.HelpCommand()),
    ("help smoke-pipeline", grammar.HelpCommand("smoke_pipeline")),
    ("runs", grammar.RunsCommand()),
    ("status", grammar.StatusCommand()),
    ("status 1a2b3c4d", grammar.StatusCommand("1a2b3c4d")),
    ("cancel 1a2b3c4d", grammar.CancelCommand("1a2b3c4d")),
    ("retry", grammar.RetryCommand()),
    ('schedule smoke_pipeline cron="0 6 * * 1" a=3',
     grammar.ScheduleCommand("smoke_pipeline", "0 6 * * 1", {"a": "3"})),
    ("schedules", grammar.SchedulesCommand()),
    ("unschedule s-1", grammar.UnscheduleCommand("s-1")),
    ("pause s-1", grammar.PauseCommand("s-1")),
    ("resume s-1", grammar.ResumeCommand("s-1")),
    ("create_recurring smoke_pipeline a=1", grammar.CreateRecurringCommand("smoke_pipeline", {"a": "1"})),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parses(text: str, expected: grammar.Command) -> None:
    assert grammar.parse(text) == expected


ERRORS = [
    ("rnu smoke_pipeline", "Did you mean the command `run`?"),
    ("run", "needs a pipeline name"),
    ("run fetch_call_pipeline lang=en", "Did you mean the pipeline `fetch_calls_pipeline`?"),
    ("run smoke_pipeline a", "`a` is not a parameter: write it as key=value."),
    ("run smoke_pipeline a=1 a=2", "`a` is given twice."),
    ('run smoke_pipeline a="1', "A quote is not closed."),
    ("run smoke_pipeline ```{\"a\": 1,,}```", "The JSON block could not be read."),
    ("run smoke_pipeline ```[1, 2]```", "must be an object"),
    ("run smoke_pipeline b64_!!!!", "not a parameter"),
    ("schedule smoke_pipeline a=1", "needs a cron expression"),
    ("unschedule", "needs a schedule id"),
    ("status a b", "takes one id"),
    ("runs now", "takes no arguments"),
]


@pytest.mark.parametrize(("text", "fragment"), ERRORS)
def test_errors_are_specific(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as info:
        grammar.parse(text)
    assert fragment in " ".join([info.value.message, *info.value.details])


def test_all_validation_errors_at_once_with_suggestions() -> None:
    command = grammar.parse(
        "run fetch_calls_pipeline lang=fr call_quantiy=5 reported=maybe start_date=2020-01-01 call_type=IN"
    )
    assert isinstance(command, grammar.RunCommand)
    with pytest.raises(CommandError) as info:
        validate_params(command.pipeline, command.params, CTX)
    details = info.value.details
    assert len(details) == 5
    joined = "\n".join(details)
    assert "`lang`: expected one of en-US, en, hi, ta, te, ma, gu, mr; got 'fr'." in joined
    assert "`call_quantiy` is not a parameter of fetch_calls_pipeline. Did you mean `call_quantity`?" in joined
    assert "`reported`: expected true or false, got 'maybe'." in joined
    assert "dates within the last 270 days are allowed" in joined
    assert "`call_type`: expected any of INBOUND, OUTBOUND, CALL_TEST; got 'IN'." in joined


def test_missing_required_lists_allowed_values() -> None:
    with pytest.raises(CommandError) as info:
        validate_params("fetch_calls_pipeline", {}, CTX)
    assert info.value.details == [
        "`lang` is required: Language code of the calls. One of: en-US, en, hi, ta, te, ma, gu, mr."
    ]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("today", "2026-11-27"), ("yesterday", "2026-11-26"), ("-7d", "2026-11-20"), ("2026-11-01", "2026-11-01")],
)
def test_dates(typed: str, expected: str) -> None:
    params = validate_params("fetch_calls_pipeline", {"lang": "en", "start_date": typed}, CTX)
    assert params.start_date == expected  # type: ignore[attr-defined]


def test_date_window_and_types_are_checked_together() -> None:
    with pytest.raises(CommandError) as info:
        validate_params("fetch_calls_pipeline", {"lang": "en", "start_date": "-1d", "end_date": "-3d"}, CTX)
    assert info.value.details == ["start_date 2026-11-26 is after end_date 2026-11-24"]


def test_values_are_coerced_like_a_user_means() -> None:
    params = validate_params(
        "fetch_calls_pipeline",
        {"lang": "en", "client_id": [1, 2], "call_quantity": "20", "reported": "yes",
         "notify": "U1, <@U2>,@alice", "call_type": "inbound", "template_id": 42},
        CTX,
    )  # fmt: skip
    args = params.pipeline_arguments()
    assert args["client_id"] == "1,2" and args["call_quantity"] == 20 and args["reported"] is True
    assert args["call_type"] == "INBOUND" and args["template_id"] == "42"
    assert params.notify == "<@U1>,<@U2>,@alice"
    assert "notify" not in args and None not in args.values()


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_gives_a_command_or_a_clear_error(text: str) -> None:
    try:
        command = grammar.parse(text)
    except CommandError as exc:
        assert exc.message.strip()
        return
    if isinstance(command, grammar.RunCommand):
        try:
            validate_params(command.pipeline, command.params, CTX)
        except CommandError as exc:
            assert exc.details


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["lang", "call_quantity", "start_date", "reported", "client_id", "x", "notify", "a b"]),
        st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none(),
                  st.lists(st.integers(), max_size=3), st.floats(allow_nan=True)),
    )
)  # fmt: skip
def test_any_json_payload_gives_params_or_a_clear_error(payload: dict[str, object]) -> None:
    text = "run fetch_calls_pipeline ```" + json.dumps(payload) + "```"
    try:
        command = grammar.parse(text)
        assert isinstance(command, grammar.RunCommand)
        validate_params(command.pipeline, command.params, CTX)
    except CommandError as exc:
        assert exc.message and all(isinstance(d, str) and d for d in exc.details)
