"""What the tool writes after reading a server stays whole and private, whatever the server holds.

Names with control characters (which no .xlsx file can hold, and which a terminal acts on), names
with Rich markup, a report file that cannot be written, the modes of what is written, the « Texte »
format of the exported workbook's cells, and a traceback without local variables.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reconcile.adapters.files import make_private_folder
from reconcile.adapters.workbook import write_workbook
from reconcile.adapters.workbook.sheets import XLSX_REPLACEMENT, xlsx_safe_text
from reconcile.app.demo import fill_workbook, rentree
from reconcile.cli.render import shown
from reconcile.core import vocabulary
from reconcile.core.model import class_key, fold
from reconcile.sandbox import RunningSandbox
from tests.test_apply_sandbox import assert_in_wanted_state
from tests.test_cli_apply import environment, filled_workbook, read, reconcile_apply, run_reconcile
from tests.test_workbook import WHEN, resave_with_libreoffice, school

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def all_output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


# --- Control characters and markup from the server ---------------------------------------


def test_xlsx_safe_text_replaces_what_no_workbook_can_hold_and_keeps_the_rest() -> None:
    assert (
        xlsx_safe_text("Zo\x01é\x1b[31m\x00")
        == f"Zo{XLSX_REPLACEMENT}é{XLSX_REPLACEMENT}[31m{XLSX_REPLACEMENT}"
    )
    assert xlsx_safe_text("Jean-Luc\tN'Diaye\nÉlise") == "Jean-Luc\tN'Diaye\nÉlise"
    # A name read back from a workbook is still the server's name.
    assert fold(xlsx_safe_text("Zo\x01é")) == fold("Zo\x01é") == fold("Zoé")
    assert class_key(xlsx_safe_text("CM\x022")) == class_key("CM\x022") == class_key("cm2")


def test_the_terminal_never_receives_a_control_sequence_or_markup_from_text() -> None:
    assert shown("MA\x1b[31mRTIN\r\x9b2J") == "MA\ufffd[31mRTIN\ufffd\ufffd2J"
    assert shown("\u202eelcaR") == "\ufffdelcaR"  # a bidi override reorders what is shown
    assert shown("[/x] CM2bis") == "\\[/x] CM2bis"
    assert shown("[link=https://exemple.invalid]CE1[/link]") == "\\[link=https://exemple.invalid]CE1\\[/link]"
    assert shown("ligne 1\nligne 2\tfin") == "ligne 1\nligne 2\tfin"


def test_control_characters_in_server_names_never_crash_export_plan_or_apply(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    pupil = sandbox.store.add_user("Zo\x01é", "Ma\x1b[31mRTIN", "eleve", "CM2")
    teacher = sandbox.store.add_user("Jean", "Cla\x02ude", "adulte")
    sandbox.store.add_class("CM2\x07bis", teacher.login)
    workbook = tmp_path / "rentree.xlsx"
    exported = run_reconcile(sandbox, "export", "-o", str(workbook))
    assert exported.returncode == 0, all_output(exported)
    # The secretary sends the pupil to the new class, as the dropdown shows it: « CM2�bis ».
    book = load_workbook(workbook)
    classes, users = book[vocabulary.CLASSES_SHEET], book[vocabulary.USERS_SHEET]
    shown_name = next(
        c.value for c in classes["A"] if isinstance(c.value, str) and c.value.startswith("CM2�")
    )
    assert shown_name == "CM2�bis"
    row = next(r for r in users.iter_rows(min_row=4) if r[0].value == pupil.login)
    assert (row[1].value, row[2].value) == ("Ma�[31mRTIN", "Zo�é")
    row[5].value = shown_name
    book.save(workbook)

    planned = run_reconcile(sandbox, "plan", str(workbook))
    assert planned.returncode == 0, all_output(planned)  # the names are the server's: nothing to fix
    done = reconcile_apply(sandbox, workbook, "--yes")
    assert done.returncode == 0, all_output(done)
    assert "1 opération(s) faite(s) sur 1." in done.stdout
    assert "Vérification : le serveur relu est dans l'état demandé." in done.stdout
    after = read(sandbox)
    moved = after.user(pupil.login)
    assert moved is not None
    assert after.class_name_of(moved) == "CM2\x07bis"

    for run in (exported, planned, done):
        text = " ".join(all_output(run).split())
        assert "Traceback" not in text
        assert "\x1b[31m" not in all_output(run)  # the server's ESC never reaches the terminal
        assert "Caractères de contrôle dans des noms du serveur" in text
        assert f"« Zo�é MA�[31MRTIN » ({pupil.login})" in text
        assert "la classe « CM2�bis »" in text
    # Each workbook shows « � » where the server's name had a control character.
    for name in ("rentree.xlsx", "rapport-plan.xlsx", "rapport-application.xlsx"):
        cells = [
            cell.value
            for sheet in load_workbook(tmp_path / name).worksheets
            for row in sheet.iter_rows()
            for cell in row
            if isinstance(cell.value, str)
        ]
        assert any("Zo�é" in value for value in cells), name


def test_markup_in_a_name_is_printed_as_it_is_never_as_markup_or_a_link(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    teacher = sandbox.store.add_user("Jean", "Claude", "adulte")
    sandbox.store.add_class("[/x] CM2bis", teacher.login)
    sandbox.store.add_class("[link=https://exemple.invalid]CE1bis[/link]", teacher.login)
    done = subprocess.run(
        [sys.executable, "-m", "reconcile", "listes", "--classe", "[/y] absente",
         "--output-dir", str(tmp_path), "--url", sandbox.url, "--login", sandbox.admin_login],
        env={**environment(sandbox), "FORCE_COLOR": "1", "TERM": "xterm-256color"},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, all_output(done)
    assert "Traceback" not in done.stderr
    assert "\x1b]8;" not in done.stderr  # no hyperlink
    text = " ".join(ANSI.sub("", done.stderr).split())
    assert "La classe « [/y] absente » n'existe pas" in text
    assert "« [/x] CM2bis »" in text
    assert "« [link=https://exemple.invalid]CE1bis[/link] »" in text


# --- A report that cannot be written --------------------------------------------------------


def test_a_report_file_that_cannot_be_written_is_said_and_the_others_are_written(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, before = filled_workbook(sandbox, tmp_path)
    (tmp_path / "rapport-application.xlsx").mkdir()  # a folder in the way of one report
    done = reconcile_apply(sandbox, workbook, "--yes")

    assert done.returncode == 4, all_output(done)
    assert "Traceback" not in done.stderr
    errors = " ".join(done.stderr.split())
    assert "Fichier non écrit : " in errors
    assert "rapport-application.xlsx : un dossier porte le nom du fichier à écrire" in errors
    assert "Le serveur est dans l'état demandé par le classeur (vérifié), mais ces fichiers" in errors
    # The summary is printed and every other file is written.
    assert "Vérification : le serveur relu est dans l'état demandé." in done.stdout
    for written in ("rapport-application.html", "compte-rendu-application.txt", "listes-classes.html"):
        assert (tmp_path / written).is_file(), written
        assert written.split(".")[0] in done.stdout
    assert_in_wanted_state(read(sandbox), rentree(before), before)


def test_an_earlier_report_that_cannot_be_replaced_is_removed(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, _ = filled_workbook(sandbox, tmp_path)
    earlier = tmp_path / "rapport-application.html"
    earlier.write_text("le compte rendu d'une exécution précédente", encoding="utf-8")
    (tmp_path / "compte-rendu-application.txt").mkdir()
    done = reconcile_apply(sandbox, workbook, "--yes")
    assert done.returncode == 4, all_output(done)
    assert "compte-rendu-application.txt" in done.stderr
    assert "Application terminée et vérifiée" in earlier.read_text(encoding="utf-8")
    dated = [p.name for p in tmp_path.glob("*-20*")]
    assert dated
    assert all(not name.startswith("compte-rendu") for name in dated), dated


# --- Modes ------------------------------------------------------------------------------


@pytest.mark.posix_only
def test_private_folders_are_0700_with_their_missing_parents_and_existing_ones_kept(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        shared = tmp_path / "partagé"
        shared.mkdir(mode=0o755)
        made = make_private_folder(shared / "a" / "b")
    finally:
        os.umask(previous)
    assert made == shared / "a" / "b"
    assert (mode(shared), mode(shared / "a"), mode(made)) == (0o755, 0o700, 0o700)
    (tmp_path / "fichier").write_text("x")
    with pytest.raises(OSError, match="exists"):
        make_private_folder(tmp_path / "fichier")


@pytest.mark.posix_only
def test_everything_that_names_pupils_is_0600_in_folders_made_0700(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    previous = os.umask(0o022)  # the processes started here inherit it
    try:
        workbook = tmp_path / "rentree.xlsx"
        exported = run_reconcile(sandbox, "export", "-o", str(workbook))
        assert exported.returncode == 0, all_output(exported)
        before = read(sandbox)
        fill_workbook(workbook, rentree(before), before)
        plans, runs = tmp_path / "plans" / "juin", tmp_path / "rentree" / "septembre"
        planned = run_reconcile(sandbox, "plan", str(workbook), "--output-dir", str(plans))
        assert planned.returncode == 0, all_output(planned)
        done = reconcile_apply(sandbox, workbook, "--yes", "--output-dir", str(runs))
        assert done.returncode == 0, all_output(done)
    finally:
        os.umask(previous)
    assert mode(workbook) == 0o600
    for folder in (plans, plans.parent, runs, runs.parent):
        assert mode(folder) == 0o700, folder
    for path in (*plans.iterdir(), *runs.iterdir()):
        assert mode(path) == 0o600, path
    assert {"rapport-plan.html", "rapport-plan.xlsx"} <= {p.name for p in plans.iterdir()}


# --- The exported workbook's cells stay text ------------------------------------------------


def test_every_cell_of_server_text_or_for_typing_is_formatted_as_text(tmp_path: Path) -> None:
    path = tmp_path / "rentree.xlsx"
    write_workbook(school(), path, server_url="http://127.0.0.1/intrascol/", exported_at=WHEN)
    assert_text_cells(path)


@pytest.mark.libreoffice
def test_the_text_format_survives_libreoffice(tmp_path: Path) -> None:
    path = tmp_path / "rentree.xlsx"
    write_workbook(school(), path, server_url="http://127.0.0.1/intrascol/", exported_at=WHEN)
    assert_text_cells(resave_with_libreoffice(path, tmp_path / "calc"))


def assert_text_cells(path: Path) -> None:
    book = load_workbook(path)
    users = book[vocabulary.USERS_SHEET]
    header = [cell.value for cell in users[3]]
    assert header[:2] == [vocabulary.LOGIN, vocabulary.LAST_NAME]
    rows = list(users.iter_rows(min_row=4, max_row=users.max_row))
    filled = [row for row in rows if row[0].value]
    assert len(filled) == len(school().users)
    editable = [
        header.index(h) for h in (vocabulary.LAST_NAME, vocabulary.FIRST_NAME, vocabulary.TARGET_CLASS)
    ]
    for row in rows:  # the accounts' rows and the empty rows left for new accounts
        for column in editable:
            assert row[column].number_format == "@", row[column].coordinate
    for row in filled:
        assert row[0].number_format == "@", row[0].coordinate  # the login, server text
    classes = book[vocabulary.CLASSES_SHEET]
    for row in classes.iter_rows(min_row=4, max_row=classes.max_row):
        assert [cell.number_format for cell in row[:3]] == ["@", "@", "@"], row[0].coordinate


# --- Tracebacks -----------------------------------------------------------------------------


def test_an_unexpected_error_never_prints_a_local_variable() -> None:
    script = (
        "import sys\n"
        "from reconcile.cli.root import app, main\n"
        "@app.command('panne')\n"
        "def panne() -> None:\n"
        "    password = 'mot-de-passe-secret-42'\n"
        "    raise RuntimeError('panne imprévue')\n"
        "sys.argv = ['reconcile', 'panne']\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if "TYPER" not in k}
    done = subprocess.run(
        [sys.executable, "-c", script], env={**env, "COLUMNS": "200"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "RuntimeError" in done.stderr  # the traceback is shown…
    assert "mot-de-passe-secret-42" not in all_output(done)  # …never the locals
