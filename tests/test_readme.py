"""The README stays true: its configuration table is the one generated from the settings model."""

from pathlib import Path

from bot.settings_doc import BEGIN, END, markdown_table

README = Path(__file__).parent.parent / "README.md"


def test_readme_settings_table_is_current() -> None:
    text = README.read_text()
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == markdown_table(), "run: python -m bot.settings_doc --write"


def test_readme_names_the_two_setup_commands() -> None:
    text = README.read_text()
    assert "make demo" in text and "make test" in text
    assert "make test" in (Path(__file__).parent.parent / ".ci" / "run").read_text()
