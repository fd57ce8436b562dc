"""The README's configuration table, generated from :class:`bot.settings.Settings`.

    .venv/bin/python -m bot.settings_doc           # prints the table
    .venv/bin/python -m bot.settings_doc --write   # replaces it in README.md
"""

import sys
from pathlib import Path

from pydantic import SecretStr

from bot.settings import Settings

BEGIN = "<!-- settings-table:begin -->"
END = "<!-- settings-table:end -->"


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for field in Settings.model_fields.values():
        default = field.default
        shown = "unset" if default is None else f"`{default}`"
        if field.annotation is SecretStr or "SecretStr" in str(field.annotation):
            shown = "unset (secret)" if default is None else shown
        rows.append(f"| `{field.validation_alias}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)


def write_readme(readme: Path) -> None:
    text = readme.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_readme(Path(__file__).resolve().parent.parent / "README.md")
    else:
        print(markdown_table())
