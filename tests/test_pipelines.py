"""Parameter models are the single source of truth: compiled pipelines and help text follow them."""

from pathlib import Path

import pytest
import yaml

from bot.render import render_text
from commands.catalogue import PIPELINES
from commands.describe import describe
from pipelines.packages import compile_pipeline

KFP_TYPES = {str: "STRING", int: "NUMBER_INTEGER", float: "NUMBER_DOUBLE", bool: "BOOLEAN"}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_compiled_inputs_match_the_model(name: str, tmp_path: Path) -> None:
    spec = yaml.safe_load(compile_pipeline(name, tmp_path).read_text())
    compiled = spec["root"]["inputDefinitions"]["parameters"]
    model = PIPELINES[name]
    assert set(compiled) == set(model.pipeline_fields())
    for info in describe(model):
        if info.option:
            assert info.name not in compiled
            continue
        entry = compiled[info.name]
        field = model.model_fields[info.name]
        expected_type = "STRING" if info.widget == "select" else KFP_TYPES[field.annotation]  # type: ignore[index]
        assert entry["parameterType"] == expected_type, info.name
        assert entry.get("description") == info.description, info.name
        if info.required:
            assert "defaultValue" not in entry and not entry.get("isOptional")
        else:
            assert entry["isOptional"] is True
            assert entry["defaultValue"] == info.default, info.name


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_help_lists_every_parameter(name: str) -> None:
    model = PIPELINES[name]
    text = render_text("help_pipeline", name=name, model=model, params=describe(model))
    for field in model.model_fields:
        assert f"`{field}`" in text
    assert f"Example: `run {name}" in text


def test_general_help_lists_pipelines_and_commands() -> None:
    text = render_text("help", pipelines=PIPELINES)
    for name in PIPELINES:
        assert f"`{name}`" in text
    for verb in ("run", "status", "cancel", "retry", "runs", "schedule"):
        assert verb in text
