"""`reconcile plan` against the sandbox, after a realistic rentrée edit of the exported workbook.

The secretary's edit: the CM2s leave, every class moves up a level, the CM1 class is
removed, a new teacher arrives with a new class CM1-CM2, the CM2 teacher leaves and
the CM1 teacher takes the CM2s, new GS and CP pupils arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.workbook import layout, write_workbook
from reconcile.cli import app
from reconcile.cli.render import console
from reconcile.core import vocabulary
from reconcile.core.errors import ReconcileError, WorkbookError

MOVES_UP = {"GS": "CP", "CP": "CE1", "CE1": "CE2", "CE2": "CE2-CM1", "CE2-CM1": "CM1-CM2", "CM1": "CM2"}


def environment(sandbox) -> dict[str, str]:
    return {
        "INTRASCOL_URL": sandbox.url,
        "INTRASCOL_LOGIN": sandbox.admin_login,
        "INTRASCOL_PASSWORD": sandbox.admin_password,
        "COLUMNS": "200",
    }


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary as a 200-column terminal shows it (Rich sizes its console once, at import)."""
    monkeypatch.setattr(console, "width", 200)


@pytest.fixture
def exported(sandbox, tmp_path: Path) -> Path:
    """The workbook `reconcile export` writes for the demo school."""
    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as client:
        client.log_in()
        state = client.read_state()
    path = tmp_path / "classeur" / "rentree.xlsx"
    path.parent.mkdir()
    write_workbook(state, path, server_url=sandbox.url, exported_at=datetime(2026, 7, 3, 17, 0, tzinfo=UTC))
    return path


def headers(sheet: Worksheet) -> dict[str, int]:
    return {
        str(cell.value): cell.column
        for cell in sheet[layout.HEADER_ROW]
        if cell.value is not None and isinstance(cell.column, int)
    }


def data_rows(sheet: Worksheet) -> range:
    return range(layout.FIRST_ROW, sheet.max_row + 1)


def first_empty_row(sheet: Worksheet) -> int:
    row = layout.FIRST_ROW
    while any(sheet.cell(row, column).value not in (None, "") for column in range(1, 5)):
        row += 1
    return row


def edit(path: Path, change: Callable[[Workbook], None]) -> None:
    """Edit the workbook with openpyxl as a person would in Calc, and save it in place."""
    workbook = load_workbook(path)
    change(workbook)
    workbook.save(path)


def rentree(workbook: Workbook) -> None:
    users = workbook[vocabulary.USERS_SHEET]
    column = headers(users)
    for row in data_rows(users):
        login = users.cell(row, column[vocabulary.LOGIN]).value
        current = users.cell(row, column[vocabulary.CURRENT_CLASS]).value
        target = users.cell(row, column[vocabulary.TARGET_CLASS])
        if login == "nathalie.vasseur" or current == "CM2":
            target.value = "Quitte l'école"
        elif current in MOVES_UP:
            target.value = MOVES_UP[current]
    for last, first, kind, target_class in [
        ("Rey", "Camille", "Adulte", None),
        ("Lambert", "Jules", "Élève", "GS"),
        ("Nguyễn", "Linh", "Élève", "GS"),
        ("Perrin", "Maëlys", "Élève", "GS"),
        ("Da Silva", "Enzo", "Élève", "CP"),
    ]:
        row = first_empty_row(users)
        users.cell(row, column[vocabulary.LAST_NAME]).value = last
        users.cell(row, column[vocabulary.FIRST_NAME]).value = first
        users.cell(row, column[vocabulary.TYPE]).value = kind
        users.cell(row, column[vocabulary.TARGET_CLASS]).value = target_class
    classes = workbook[vocabulary.CLASSES_SHEET]
    column = headers(classes)
    for row in data_rows(classes):
        name = classes.cell(row, column[vocabulary.CLASS_NAME]).value
        if name == "CM1":
            classes.cell(row, column[vocabulary.STATUS]).value = "Supprimer"
        elif name == "CM2":
            classes.cell(row, column[vocabulary.RESPONSIBLE]).value = "Benoît ROUSSEAU"
    row = first_empty_row(classes)
    classes.cell(row, column[vocabulary.CLASS_NAME]).value = "CM1-CM2"
    classes.cell(row, column[vocabulary.RESPONSIBLE]).value = "Camille REY"
    classes.cell(row, column[vocabulary.STATUS]).value = "Créer"


def test_plan_prints_the_summary_writes_the_report_and_changes_nothing(sandbox, exported: Path) -> None:
    edit(exported, rentree)
    before = sandbox.store.snapshot()
    result = CliRunner().invoke(app, ["plan", str(exported)], env=environment(sandbox))
    assert result.exit_code == 0, result.output
    assert sandbox.store.snapshot() == before

    output = result.output
    for line in [
        "Étape 1 : Ajustement des classes",
        "1 compte créé, 1 classe créée, 1 responsable changé",
        "28 comptes supprimés",
        "4 comptes créés, 4 élèves affectés",
        "Étape 5 : Suppression des classes",
        "Le plan peut être appliqué",
        "Rien n'a été modifié sur le serveur.",
    ]:
        assert line in output, line
    assert sandbox.admin_password not in output

    html_path = exported.parent / "rapport-plan.html"
    assert (exported.parent / "rapport-plan.xlsx").is_file()
    html = unescape(html_path.read_text(encoding="utf-8"))
    assert "École élémentaire Jules Ferry" in html
    assert "Créer la classe CM1-CM2 (responsable : Camille REY)" in html
    assert "Confier la classe CM2 à Benoît ROUSSEAU (benoit.rousseau), à la place de Nathalie" in html
    assert "Transférer 25 élèves de CM1 vers CM2" in html
    assert "Supprimer 1 classe : CM1" in html
    assert "Affecter Linh NGUYỄN à la classe GS" in html


def test_a_plan_with_problems_exits_1_and_reports_them_first(sandbox, exported: Path, tmp_path: Path) -> None:
    def send_a_pupil_to_the_removed_class(workbook: Workbook) -> None:
        rentree(workbook)
        users = workbook[vocabulary.USERS_SHEET]
        column = headers(users)
        row = next(
            r for r in data_rows(users) if users.cell(r, column[vocabulary.CURRENT_CLASS]).value == "CE2"
        )
        users.cell(row, column[vocabulary.TARGET_CLASS]).value = "CM1"

    edit(exported, send_a_pupil_to_the_removed_class)
    before = sandbox.store.snapshot()
    report_dir = tmp_path / "rapports"
    result = CliRunner().invoke(
        app, ["plan", str(exported), "--dossier-sortie", str(report_dir)], env=environment(sandbox)
    )
    assert result.exit_code == 1, result.output
    assert sandbox.store.snapshot() == before
    assert "Problèmes à corriger (1)" in result.output
    assert "qui est supprimée à l'étape 5" in result.output
    html = unescape((report_dir / "rapport-plan.html").read_text(encoding="utf-8"))
    assert html.index("Problèmes à corriger") < html.index("Résumé")


def test_mass_deletion_needs_the_option(sandbox, exported: Path) -> None:
    def everybody_leaves(workbook: Workbook) -> None:
        users = workbook[vocabulary.USERS_SHEET]
        column = headers(users)
        for row in data_rows(users):
            if users.cell(row, column[vocabulary.TYPE]).value == "Élève":
                users.cell(row, column[vocabulary.TARGET_CLASS]).value = "Quitte l'école"

    edit(exported, everybody_leaves)
    refused = CliRunner().invoke(app, ["plan", str(exported)], env=environment(sandbox))
    assert refused.exit_code == 1
    assert "--suppression-massive" in refused.output
    assert "--mouvements-verifies" in refused.output  # every level leaves, not only the last
    accepted = CliRunner().invoke(
        app,
        ["plan", str(exported), "--suppression-massive", "--mouvements-verifies"],
        env=environment(sandbox),
    )
    assert accepted.exit_code == 0, accepted.output


def test_an_unedited_workbook_has_nothing_to_do(sandbox, exported: Path) -> None:
    result = CliRunner().invoke(app, ["plan", str(exported)], env=environment(sandbox))
    assert result.exit_code == 0, result.output
    assert "Rien à faire : le serveur est déjà dans l'état que demande le classeur." in result.output


def test_a_broken_workbook_is_refused_before_connecting(sandbox, exported: Path) -> None:
    edit(exported, lambda wb: wb[vocabulary.USERS_SHEET].cell(layout.FIRST_ROW, 6, "Classe imaginaire"))
    before = sandbox.store.snapshot()
    result = CliRunner().invoke(app, ["plan", str(exported)], env=environment(sandbox))
    assert isinstance(result.exception, WorkbookError)
    assert "Utilisateurs" in str(result.exception)
    assert not (exported.parent / "rapport-plan.html").exists()
    assert sandbox.store.snapshot() == before


def test_a_missing_workbook_is_named_in_the_error(sandbox, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "absent.xlsx")], env=environment(sandbox))
    assert isinstance(result.exception, ReconcileError)
    assert f"Le classeur {tmp_path / 'absent.xlsx'} n'existe pas." == str(result.exception)


def test_a_report_folder_that_cannot_be_written_is_a_french_error(sandbox, exported: Path) -> None:
    before = sandbox.store.snapshot()
    # --dossier-sortie naming the workbook itself, a file: the report folder cannot be made.
    args = ["plan", str(exported), "--dossier-sortie", str(exported)]
    result = CliRunner().invoke(app, args, env=environment(sandbox))
    assert isinstance(result.exception, ReconcileError), result.exception
    assert f"Impossible d'écrire dans le dossier {exported}" in str(result.exception)
    assert sandbox.store.snapshot() == before
