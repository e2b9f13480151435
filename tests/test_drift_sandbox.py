"""Drift on the sandbox: a responsible teacher changed on the server after the export.

The workbook shows each class's responsible as exported; left as it was, the cell asks
for no change, so neither `reconcile plan` nor `reconcile apply` may put the exported
teacher back. A responsible the secretary changed in the workbook still wins.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from reconcile.adapters.workbook import layout, load_wanted, write_workbook
from reconcile.cli import app
from reconcile.cli.render import console
from reconcile.core.model import ServerState
from reconcile.core.operations import ChangeResponsible
from reconcile.core.plan import make_plan
from reconcile.sandbox import RunningSandbox
from tests.test_cli_apply import read, reconcile_apply

# In the demo school, Françoise D'ALMEIDA leads the CE1 and Benoît ROUSSEAU the CM1;
# Karima BENALI and Martine CHÂTEAU lead no class.
DRIFTED_CLASS, EXPORTED_TEACHER, SERVER_TEACHER = "CE1", "francoise.dalmeida", "karima.benali"
EDITED_CLASS, EDITED_FROM, SECRETARY_CHOICE = "CM1", "benoit.rousseau", "martine.chateau"


def responsibles(state: ServerState) -> dict[str, str]:
    return {c.name: c.responsible_login for c in state.classes}


def export_then_drift(sandbox: RunningSandbox, folder: Path) -> Path:
    """Export; the secretary gives the CM1 to Martine CHÂTEAU; meanwhile the server's CE1 changes hands."""
    before = read(sandbox)
    assert responsibles(before)[DRIFTED_CLASS] == EXPORTED_TEACHER
    assert responsibles(before)[EDITED_CLASS] == EDITED_FROM
    path = folder / "rentree.xlsx"
    write_workbook(before, path, server_url=sandbox.url, exported_at=datetime(2026, 7, 3, 17, 0, tzinfo=UTC))

    workbook = load_workbook(path)
    sheet = workbook[layout.CLASSES_SHEET]
    name_column = layout.CLASSES_HEADERS.index(layout.CLASS_NAME) + 1
    responsible_column = layout.CLASSES_HEADERS.index(layout.RESPONSIBLE) + 1
    [row] = [
        r
        for r in range(layout.FIRST_ROW, sheet.max_row + 1)
        if sheet.cell(r, name_column).value == EDITED_CLASS
    ]
    sheet.cell(row, responsible_column).value = "Martine CHÂTEAU"
    workbook.save(path)

    drifted = sandbox.store.class_named(DRIFTED_CLASS)
    assert drifted is not None
    message = sandbox.store.modify_class(drifted.id, None, SERVER_TEACHER)
    assert message.kind == "succes", message.text
    return path


def test_plan_keeps_a_responsible_changed_on_the_server_since_the_export(
    sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workbook = export_then_drift(sandbox, tmp_path)
    wanted = load_wanted(workbook)
    assert wanted.export is not None
    assert wanted.export.responsible_at_export(DRIFTED_CLASS) == EXPORTED_TEACHER

    result = make_plan(read(sandbox), wanted)
    changes = [op for op in result.operations if isinstance(op, ChangeResponsible)]
    assert changes == [ChangeResponsible(EDITED_CLASS, SECRETARY_CHOICE, EDITED_FROM)]
    (warning,) = [w for w in result.warnings if DRIFTED_CLASS in w.message]
    assert "Karima BENALI (karima.benali) reste responsable" in warning.message

    monkeypatch.setattr(console, "width", 200)  # Rich sized its console at import
    snapshot = sandbox.store.snapshot()
    shown = CliRunner().invoke(
        app,
        ["plan", str(workbook)],
        env={
            "INTRASCOL_URL": sandbox.url,
            "INTRASCOL_LOGIN": sandbox.admin_login,
            "INTRASCOL_PASSWORD": sandbox.admin_password,
        },
    )
    assert shown.exit_code == 0, shown.output
    output = " ".join(shown.output.split())
    assert (
        "L'enseignant responsable de la classe CE1 a changé sur le serveur depuis l'export "
        "(Françoise D'ALMEIDA (francoise.dalmeida) à l'export, Karima BENALI (karima.benali) maintenant)"
    ) in output
    assert sandbox.store.snapshot() == snapshot


def test_apply_leaves_the_server_teacher_and_applies_the_secretary_choice(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook = export_then_drift(sandbox, tmp_path)
    done = reconcile_apply(sandbox, workbook, "--oui")
    assert done.returncode == 0, done.stdout + done.stderr
    output = " ".join(done.stdout.split())
    assert (
        "L'enseignant responsable de la classe CE1 a changé depuis l'export : "
        "Françoise D'ALMEIDA (francoise.dalmeida) → Karima BENALI (karima.benali)."
    ) in output
    assert "Vérification : le serveur relu est dans l'état demandé." in output

    after = responsibles(read(sandbox))
    assert after[DRIFTED_CLASS] == SERVER_TEACHER
    assert after[EDITED_CLASS] == SECRETARY_CHOICE

    again = reconcile_apply(sandbox, workbook, "--oui")
    assert again.returncode == 0, again.stdout + again.stderr
    assert responsibles(read(sandbox))[DRIFTED_CLASS] == SERVER_TEACHER
