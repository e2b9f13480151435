"""The same problem on many rows said once, with its rows; a value mistyped answered with the one meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from reconcile.adapters.workbook import layout, read_workbook
from reconcile.core import vocabulary
from reconcile.core.errors import PlanBlocked, WorkbookError
from reconcile.core.findings import did_you_mean, grouped, near_miss, problem, row_ranges, warning
from reconcile.core.model import Location
from reconcile.sandbox import RunningSandbox
from tests.test_cli_apply import filled_workbook, run_reconcile

TARGET = vocabulary.TARGET_CLASS
CLASSES = ["PS", "MS", "GS", "CP", "CE1", "CE2-CM1", "CM1", "CM2"]
LEAVES = vocabulary.LEAVES_SCHOOL


def at(row: int, column: str = TARGET, sheet: str = vocabulary.USERS_SHEET) -> Location:
    return Location(sheet, row, column)


def test_one_problem_on_28_rows_is_said_once_with_its_rows() -> None:
    same = [
        problem("la classe « départ » n'existe pas dans l'onglet Classes.", at(row)) for row in range(12, 40)
    ]
    other = problem("type « Parent » inconnu : écrivez Élève ou Adulte.", at(15, vocabulary.TYPE))
    whole = problem("l'onglet « Classes » manque dans le classeur.")
    said = [str(group) for group in grouped([whole, *same[:3], other, *same[3:]])]
    assert said == [
        "l'onglet « Classes » manque dans le classeur.",
        "Utilisateurs, colonne « Classe cible », 28 lignes (12 à 39) : "
        "la classe « départ » n'existe pas dans l'onglet Classes.",
        "Utilisateurs, ligne 15, colonne « Type » : type « Parent » inconnu : écrivez Élève ou Adulte.",
    ]


def test_only_the_same_sentence_in_the_same_column_and_kind_is_grouped() -> None:
    findings = [
        problem("la classe « CE3 » n'existe pas.", at(3)),
        problem("la classe « CE4 » n'existe pas.", at(4)),  # another value
        problem("la classe « CE3 » n'existe pas.", at(5, vocabulary.CLASS_NAME)),  # another column
        problem("la classe « CE3 » n'existe pas.", at(6, sheet=vocabulary.CLASSES_SHEET)),  # another sheet
        warning("la classe « CE3 » n'existe pas.", at(7)),  # a warning, not a problem
        problem("la classe « CE3 » n'existe pas.", at(9)),
    ]
    groups = grouped(findings)
    assert len(groups) == 5
    assert groups[0].where == "Utilisateurs, colonne « Classe cible », 2 lignes (3, 9)"
    assert [g.where for g in groups[1:]] == [str(f.location) for f in findings[1:5]]


@pytest.mark.parametrize(
    ("rows", "said"),
    [([7], "7"), ([3, 4], "3, 4"), ([12, 13, 14], "12 à 14"), ([9, 3, 5, 8, 10, 3], "3, 5, 8 à 10")],
)
def test_row_ranges(rows: list[int], said: str) -> None:
    assert row_ranges(rows) == said


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("départ", [LEAVES]),
        ("DEPART", [LEAVES]),
        ("collège", [LEAVES]),
        ("6ème", [LEAVES]),
        ("Quite l'ecole", [LEAVES]),
        ("CM 2", ["CM2"]),
        ("CE3", ["CE1"]),
        ("CM3", ["CM1", "CM2"]),  # as close to both: both, in the sheet's order
        ("piscine", []),
    ],
)
def test_near_miss_suggests_the_value_meant(typed: str, meant: list[str]) -> None:
    leaving = {"depart": LEAVES, "college": LEAVES, "6eme": LEAVES}
    assert near_miss(typed, [*CLASSES, LEAVES], leaving) == meant


def test_did_you_mean_ends_the_sentence() -> None:
    assert did_you_mean([LEAVES]) == " ; vouliez-vous dire « Quitte l'école » ?"
    assert did_you_mean(["CM1", "CM2"]) == " ; vouliez-vous dire « CM1 » ou « CM2 » ?"
    assert did_you_mean([]) == ""


def test_errors_listing_problems_group_them() -> None:
    same = [problem("la classe « départ » n'existe pas.", at(row)) for row in (4, 5, 6)]
    for error in (WorkbookError("rentree.xlsx", same), PlanBlocked(same)):
        assert "Utilisateurs, colonne « Classe cible », 3 lignes (4 à 6) : " in str(error)
        assert "ligne 5" not in str(error)
        assert error.problems == tuple(same)  # every row kept for whoever lists them


def departures_typed(path: Path, count: int, typed: str = "départ") -> list[int]:
    """`typed` in « Classe cible » of the first `count` pupils' rows; their row numbers."""
    workbook = load_workbook(path)
    sheet = workbook[vocabulary.USERS_SHEET]
    headers = [cell.value for cell in sheet[layout.HEADER_ROW]]
    kind, target = headers.index(vocabulary.TYPE) + 1, headers.index(TARGET) + 1
    rows = [r for r in range(layout.FIRST_ROW, sheet.max_row + 1) if sheet.cell(r, kind).value == "Élève"]
    for row in rows[:count]:
        sheet.cell(row, target).value = typed
    workbook.save(path)
    return rows[:count]


def test_28_departures_typed_are_one_line_suggesting_leaving(sandbox: RunningSandbox, tmp_path: Path) -> None:
    workbook, _ = filled_workbook(sandbox, tmp_path)
    rows = departures_typed(workbook, 28)
    assert rows == list(range(rows[0], rows[0] + 28))  # the pupils' rows follow each other

    snapshot = sandbox.store.snapshot()
    reading = read_workbook(workbook)
    assert sorted(p.location.row for p in reading.problems if p.location) == rows  # each row located

    refused = run_reconcile(sandbox, "plan", str(workbook))
    assert refused.returncode != 0
    line = (
        f"Utilisateurs, colonne « Classe cible », 28 lignes ({rows[0]} à {rows[-1]}) : la classe « départ » "
        "n'existe pas dans l'onglet Classes ; vouliez-vous dire « Quitte l'école » ?"
    )
    assert line in refused.stderr, refused.stderr
    assert refused.stderr.count("départ") == 1
    assert sandbox.store.snapshot() == snapshot


def test_the_terminal_shows_a_plan_s_repeated_warning_once(capsys: pytest.CaptureFixture[str]) -> None:
    from reconcile.cli.render import print_plan_summary
    from reconcile.core.operations import Plan

    same = [warning("nouvel élève sans classe cible.", at(row)) for row in range(40, 52)]
    print_plan_summary(Plan(steps=(), warnings=(*same, warning("autre chose.", at(60)))))
    shown = " ".join(capsys.readouterr().out.split())  # as wide as the terminal: lines joined
    assert "À vérifier (13) :" in shown
    assert (
        "Utilisateurs, colonne « Classe cible », 12 lignes (40 à 51) : nouvel élève sans classe cible."
        in shown
    )
    assert shown.count("nouvel élève sans classe cible.") == 1
