"""French from the first prompt to the last: help pages, the o/N question, the options' names, the
commands suggested (quoted for the shell) and a refused password asked again at the terminal."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import reconcile
from reconcile import __version__
from reconcile.cli import app
from reconcile.cli.french import OLD_SPELLINGS, confirm
from reconcile.core.vocabulary import shell_word, suggested_command
from reconcile.sandbox import RunningSandbox
from tests.test_cli_apply import run_reconcile

COMMANDS = ["info", "diagnostic", "export", "onde", "plan", "apply", "listes", "demo", "sandbox", "version"]
CONNECTED = ["info", "export", "plan", "apply", "listes"]
# Typer's English types and usage marks: `<str>`, `<bool>`, `<list[str]>`, `{CLASSEUR}`.
TYPER_MARKS = re.compile(r"<[a-z\[\]|, ]+>|\{[A-Z]+\}")


def help_page(*arguments: str) -> str:
    result = CliRunner().invoke(app, [*arguments, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_every_help_page_is_french(name: str | None) -> None:
    page = help_page(*([name] if name else []))
    assert "Utilisation : reconcile" in page
    assert "Affiche cette aide et quitte." in page
    for english in (
        "Usage:",
        "Show this message",
        "[default:",
        "[required]",
        "[env var:",
        "Commands",
        "COMMAND [ARGS]",
    ):
        assert english not in page
    assert not TYPER_MARKS.search(page), TYPER_MARKS.findall(page)


@pytest.mark.parametrize("name", COMMANDS)
def test_the_old_english_spellings_are_not_shown(name: str) -> None:
    shown = set(re.findall(r"--[a-z-]+", help_page(name)))
    assert not shown & set(OLD_SPELLINGS)


def test_the_metavariables_name_what_to_give() -> None:
    page = help_page("apply")
    assert "Utilisation : reconcile apply [OPTIONS] CLASSEUR" in page
    assert re.search(r"--dossier-sortie +DOSSIER", page)
    assert re.search(r"--adresse +ADRESSE", page)
    assert re.search(r"--identifiant +IDENTIFIANT", page)
    assert "-h" in page


@pytest.mark.parametrize("name", CONNECTED)
def test_each_connected_command_says_how_the_password_is_given(name: str) -> None:
    page = " ".join(help_page(name).split())
    assert "demandé sans s'afficher" in page
    assert "INTRASCOL_PASSWORD" in page


def test_version_as_an_option_and_as_a_command() -> None:
    for arguments in (["--version"], ["version"]):
        result = CliRunner().invoke(app, arguments)
        assert result.exit_code == 0, result.output
        assert result.output.strip() == f"reconcile {__version__}"


def in_a_process(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m reconcile ARGUMENTS` in a fresh process: Typer's help and error chrome is loaded
    only when shown, and must be French then too (in this test process, another test may already
    have loaded it)."""
    return subprocess.run(
        [sys.executable, "-m", "reconcile", *arguments],
        env={**os.environ, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_reconcile_alone_shows_the_french_help_and_exits_1_as_the_readme_says() -> None:
    result = in_a_process()
    assert result.returncode == 1
    assert "Utilisation : python -m reconcile [OPTIONS] COMMANDE [ARGUMENTS]..." in result.stdout
    assert "Commandes" in result.stdout
    assert "Erreur" not in result.stderr
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert (
        "`1` refusé (problèmes dans le classeur, changement\nambigu, pas de confirmation, commande mal tapée)"
        in readme
    )


# --- The o/N question ---------------------------------------------------------------------

question = typer.Typer()


@question.command()
def _ask() -> None:
    typer.echo("oui" if confirm("Appliquer ces modifications au serveur ?") else "non")


@pytest.mark.parametrize(
    ("typed", "answer"),
    [("o", "oui"), ("oui", "oui"), ("OUI", "oui"), ("O", "oui"), ("y", "oui"), ("yes", "oui"),
     ("n", "non"), ("non", "non"), ("Non", "non"), ("", "non"), (" oui ", "oui")],
)  # fmt: skip
def test_the_question_takes_french_answers(typed: str, answer: str) -> None:
    result = CliRunner().invoke(question, input=f"{typed}\n")
    assert result.exit_code == 0, result.output
    assert "Appliquer ces modifications au serveur ? [o/N]" in result.output
    assert "[y/N]" not in result.output
    assert result.output.splitlines()[-1] == answer


def test_an_unclear_answer_is_asked_again_in_french() -> None:
    result = CliRunner().invoke(question, input="peut-être\nouais\no\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Répondez « o » (oui) ou « n » (non).") == 2
    assert result.output.count("[o/N]") == 3
    assert "Error" not in result.output
    assert result.output.splitlines()[-1] == "oui"


# --- The options' names -------------------------------------------------------------------


def test_the_old_english_spellings_still_work(sandbox: RunningSandbox) -> None:
    # A script written for an earlier version: --url and --login, as it typed them then.
    result = subprocess.run(
        [sys.executable, "-m", "reconcile", "info", "--url", sandbox.url, "--login", sandbox.admin_login],
        env={**os.environ, "INTRASCOL_PASSWORD": sandbox.admin_password, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sandbox.store.school_name in result.stdout


def test_every_old_spelling_names_an_option_that_exists() -> None:
    pages = " ".join(help_page(name) for name in COMMANDS)
    for old, new in OLD_SPELLINGS.items():
        assert new in pages, old


# --- The commands suggested, quoted for the shell ------------------------------------------


@pytest.mark.parametrize(
    ("word", "typed"),
    [
        ("rentree.xlsx", "rentree.xlsx"),
        ("Rentrée-2026.xlsx", "Rentrée-2026.xlsx"),
        ("Rentrée 2026 (copie).xlsx", '"Rentrée 2026 (copie).xlsx"'),
        ("l'école.xlsx", '"l\'école.xlsx"'),
        (r"C:\Users\Secrétariat\rentrée 2026.xlsx", r'"C:\Users\Secrétariat\rentrée 2026.xlsx"'),
        ("100$.xlsx", "'100$.xlsx'"),
        ("", '""'),
    ],
)
def test_a_word_is_quoted_for_the_shell(word: str, typed: str) -> None:
    assert shell_word(word) == typed


@pytest.mark.parametrize(
    "name",
    [
        "Rentrée 2026 (copie).xlsx",
        "l'école & co.xlsx",
        'a $HOME `x` "y" !z %PATH%.xlsx',
        "t\\ab\\.xlsx",
        "*.xlsx",
    ],
)
def test_a_suggested_command_gives_the_same_words_back_to_a_posix_shell(name: str) -> None:
    assert shlex.split(suggested_command("plan", name)) == ["reconcile", "plan", name]


def test_export_suggests_the_next_commands_quoted(sandbox: RunningSandbox, tmp_path: Path) -> None:
    name = "Rentrée 2026 (copie).xlsx"
    result = run_reconcile(sandbox, "export", "-o", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = " ".join(result.stdout.split())
    assert 'reconcile plan "Rentrée 2026 (copie).xlsx"' in output
    assert 'reconcile apply "Rentrée 2026 (copie).xlsx"' in output
    assert (tmp_path / name).is_file()


# --- A refused password, asked again at the terminal ---------------------------------------


def _info_at_a_terminal(sandbox: RunningSandbox, answers: list[bytes]) -> tuple[int, str]:
    """`reconcile info` at a terminal of its own (a pseudo-terminal, no password in the environment),
    each password prompt answered in turn: (exit code, what the terminal showed)."""
    import pty

    from tests.test_cli_apply import _read_until

    terminal, process_side = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "INTRASCOL_PASSWORD"} | {"COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "info", "--adresse", sandbox.url,
         "--identifiant", sandbox.admin_login],
        env=environment, stdin=process_side, stdout=process_side, stderr=process_side,
        start_new_session=True,  # no controlling terminal: getpass reads this pseudo-terminal, not the tests'
    )  # fmt: skip
    shown = b""
    try:
        for answer in answers:
            shown += _read_until(terminal, b"Mot de passe de", 60)
            os.write(terminal, answer + b"\n")
            shown = shown.replace(
                b"Mot de passe de", b"Mot de passe (tap\xc3\xa9) de"
            )  # the next one awaited
        code = process.wait(timeout=60)
        shown += _read_until(terminal, b"\x00", 2)  # what is left (the process has ended)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(terminal)
        os.close(process_side)
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))  # without colours


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_refused_password_typed_at_the_terminal_is_asked_again(sandbox: RunningSandbox) -> None:
    code, shown = _info_at_a_terminal(sandbox, [b"faux", sandbox.admin_password.encode()])
    assert code == 0, shown
    assert "Mot de passe refusé. Nouvel essai (2 sur 3)." in shown
    assert sandbox.store.school_name in shown
    assert sandbox.admin_password not in shown


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_three_refused_passwords_end_the_command(sandbox: RunningSandbox) -> None:
    code, shown = _info_at_a_terminal(sandbox, [b"faux1", b"faux2", b"faux3"])
    assert code == 3, shown
    assert "Nouvel essai (3 sur 3)" in shown
    assert "identifiant ou mot de passe incorrect" in " ".join(shown.split())


def test_a_refused_password_from_the_environment_is_not_asked_again(sandbox: RunningSandbox) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconcile",
            "info",
            "--adresse",
            sandbox.url,
            "--identifiant",
            sandbox.admin_login,
        ],
        env={**os.environ, "INTRASCOL_PASSWORD": "faux", "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "identifiant ou mot de passe incorrect" in " ".join(result.stderr.split())
    assert "Nouvel essai" not in result.stdout + result.stderr


def test_a_workbooks_sheet_is_called_onglet_everywhere_the_user_reads() -> None:
    """Excel and LibreOffice show « onglets »: one word for a sheet in every message, report and page."""
    package = Path(reconcile.__file__).parent
    said = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*"))
        if path.suffix in {".py", ".j2"} and "sandbox" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "feuille" in line.lower()
    ]
    assert said == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_name_shows_whole_in_a_terminal_of_80_columns(command: str) -> None:
    """A Windows console is often 80 columns wide: an option cut by « … » cannot be typed."""
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert re.findall(r"--[\w-]+…", result.output) == []


@pytest.mark.parametrize(
    ("platform", "first_line"),
    [("win32", "  set INTRASCOL_URL=http://127.0.0.1:8080/intrascol/"), ("linux", "  export INTRASCOL_URL=")],
)
def test_the_sandbox_says_how_to_set_the_variables_in_the_systems_own_shell(
    platform: str, first_line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconcile.cli import sandbox as sandbox_command

    monkeypatch.setattr(sys, "platform", platform)
    lines = sandbox_command._environment_lines("http://127.0.0.1:8080/intrascol/", "admin")
    assert lines[0].startswith(first_line)
    assert ("export" in " ".join(lines)) is (platform != "win32")


def test_a_mistyped_command_line_is_answered_in_french_by_a_fresh_process() -> None:
    result = in_a_process("plan", "--inconnue", "x.xlsx")
    assert result.returncode == 1
    assert "Utilisation : python -m reconcile plan [OPTIONS] CLASSEUR" in result.stderr
    assert "Aide : python -m reconcile plan --help" in result.stderr
    assert "─ Erreur ─" in result.stderr
    assert "Option inconnue : --inconnue" in result.stderr
    assert "Try" not in result.stderr
    assert "Error" not in result.stderr
