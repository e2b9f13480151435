"""The README documents every command, and every command explains itself (sqlite-utils' habit)."""

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from reconcile.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(
    command.name or command.callback.__name__.replace("_", "-")
    for command in typer.main.get_command(app).commands.values()  # type: ignore[attr-defined]
    if not command.hidden
)


def test_there_are_commands_to_document() -> None:
    assert {"export", "plan", "apply", "listes", "info", "sandbox", "demo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_is_in_the_readme(name: str) -> None:
    assert f"reconcile {name}" in README


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_a_french_help(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    summary = typer.main.get_command(app).commands[name].help  # type: ignore[attr-defined]
    assert summary
    assert summary.strip()[0].isupper()
    assert "Show this message" not in summary


def test_the_help_lists_the_commands_in_the_order_of_the_rentree() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    rows = [line.strip("│ ").split(maxsplit=1) for line in result.output.splitlines()]
    listed = [row[0] for row in rows if row and row[0] in COMMANDS]
    workflow = [
        "info",
        "diagnostic",
        "export",
        "onde",
        "plan",
        "apply",
        "listes",
        "demo",
        "sandbox",
        "version",
    ]
    assert listed == workflow
