"""Names that a spreadsheet program turned into something else (issue 10, point 3).

Excel and Calc make a date of `1/6`, a number of `12345`, a boolean of `VRAI`: in the Nom
or Prénom of a new row, that value would become the name of a new account
(« 01/06/2026 MAI », « Paul 12345 »). The reader refuses it, at its cell, and says what to type.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.workbook import read_workbook, write_workbook
from reconcile.core import vocabulary
from reconcile.core.model import Location
from reconcile.sandbox import RunningSandbox
from tests.test_workbook import (
    URL,
    WHEN,
    add_row,
    edit,
    problems_of,
    resave_with_libreoffice,
    school,
    set_user,
)

NOM, PRENOM = vocabulary.LAST_NAME, vocabulary.FIRST_NAME


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    path = tmp_path / "rentree.xlsx"
    write_workbook(school(), path, server_url=URL, exported_at=WHEN)
    return path


def advice(noun: str, shown: str) -> str:
    return (
        f"Tapez le {noun} comme du texte : précédez-le d'une apostrophe ('{shown}) ou mettez la "
        "cellule au format Texte puis retapez-le. Si une autre donnée a été collée dans cette colonne, "
        "corrigez la ligne."
    )


CONVERTED = [
    pytest.param(datetime(2026, 6, 1), "une date", "01/06/2026", id="date-as-datetime"),
    pytest.param(date(2026, 6, 1), "une date", "01/06/2026", id="date"),
    pytest.param(datetime(2026, 6, 1, 8, 30), "une date et une heure", "01/06/2026 08:30", id="datetime"),
    pytest.param(time(8, 30), "une heure", "08:30", id="time"),
    pytest.param(timedelta(hours=27, minutes=5), "une durée", "27:05", id="duration"),
    pytest.param(12345, "un nombre", "12345", id="int"),
    pytest.param(12345.0, "un nombre", "12345", id="float-integer"),
    pytest.param(12.5, "un nombre", "12,5", id="float"),
    pytest.param(True, "une valeur logique", "VRAI", id="true"),
    pytest.param(False, "une valeur logique", "FAUX", id="false"),
]


@pytest.mark.parametrize(("value", "what", "shown"), CONVERTED)
@pytest.mark.parametrize("header", [NOM, PRENOM])
def test_a_new_row_whose_name_is_not_text_is_refused_at_its_cell(
    exported: Path, header: str, value: object, what: str, shown: str
) -> None:
    names: dict[str, object] = {"last": "Petit", "first": "Zoé"}
    names["last" if header == NOM else "first"] = value
    rows: list[int] = []
    edit(exported, lambda wb: rows.append(add_row(vocabulary.USERS_SHEET, **names, target="CP")(wb)))

    reading = read_workbook(exported)

    assert [p.location for p in reading.problems] == [Location(vocabulary.USERS_SHEET, rows[0], header)]
    assert [str(p) for p in reading.problems] == [
        f"Utilisateurs, ligne {rows[0]}, colonne « {header} » : la cellule contient {what} ({shown}), "
        f"pas du texte : le tableur a converti ce qui a été tapé. {advice(header.lower(), shown)}"
    ]
    assert not any(u.login is None for u in reading.wanted.users)  # the row is not kept


def test_both_names_converted_are_two_problems_and_other_rows_still_read(exported: Path) -> None:
    rows: list[int] = []

    def change(workbook: Workbook) -> None:
        rows.append(
            add_row(vocabulary.USERS_SHEET, last="MAI", first=datetime(2026, 6, 1), target="CP")(workbook)
        )
        rows.append(add_row(vocabulary.USERS_SHEET, last=12345, first="Paul", type="Adulte")(workbook))
        rows.append(add_row(vocabulary.USERS_SHEET, last="Petit", first="Zoé", target="CP")(workbook))

    edit(exported, change)
    reading = read_workbook(exported)

    assert [(p.location.row, p.location.column) for p in reading.problems if p.location] == [
        (rows[0], PRENOM),
        (rows[1], NOM),
    ]
    assert [(u.last_name, u.first_name) for u in reading.wanted.users if u.login is None] == [
        ("Petit", "Zoé")
    ]


def test_a_name_typed_as_text_that_looks_like_a_number_is_kept(exported: Path) -> None:
    # What the advice says to do: a text cell ('12345 in Excel or Calc) is a name like any other.
    edit(exported, add_row(vocabulary.USERS_SHEET, last="12345", first="1/6", target="CP"))
    reading = read_workbook(exported)
    assert reading.problems == ()
    assert [(u.last_name, u.first_name) for u in reading.wanted.users if u.login is None] == [
        ("12345", "1/6")
    ]


def test_numbers_stay_tolerated_for_a_login_a_target_class_and_an_existing_rows_names(exported: Path) -> None:
    # An existing row's names rename nobody: they are compared with the server's (a warning when
    # they differ, see core/workbook_check.py), so a number there is read as text, as before.
    def change(workbook: Workbook) -> None:
        set_user("12345", login=12345, target="CE1")(workbook)
        set_user("lea.martin", last=12345, first=datetime(2026, 6, 1))(workbook)
        add_row(vocabulary.USERS_SHEET, last="Roux", first="Ana", target=5)(workbook)
        add_row(vocabulary.CLASSES_SHEET, name=5, responsible="Marie DUPONT")(workbook)

    edit(exported, change)
    reading = read_workbook(exported)

    assert reading.problems == ()
    users = {u.key: u for u in reading.wanted.users}
    assert users["12345"].target_class == "CE1"
    assert (users["lea.martin"].last_name, users["lea.martin"].first_name) == ("12345", "01/06/2026")
    assert [u.target_class for u in users.values() if u.login is None] == ["5"]


@pytest.mark.libreoffice
def test_a_number_and_a_date_saved_by_libreoffice_are_refused_the_same_way(
    exported: Path, tmp_path: Path
) -> None:
    rows: list[int] = []

    def change(workbook: Workbook) -> None:
        rows.append(add_row(vocabulary.USERS_SHEET, last=12345, first="Paul", target="CP")(workbook))
        rows.append(
            add_row(vocabulary.USERS_SHEET, last="MAI", first=datetime(2026, 6, 1), target="CP")(workbook)
        )

    edit(exported, change)
    resaved = resave_with_libreoffice(exported, tmp_path / "calc")

    assert problems_of(resaved) == [
        f"Utilisateurs, ligne {rows[0]}, colonne « Nom » : la cellule contient un nombre (12345), pas du "
        f"texte : le tableur a converti ce qui a été tapé. {advice('nom', '12345')}",
        f"Utilisateurs, ligne {rows[1]}, colonne « Prénom » : la cellule contient une date (01/06/2026), "
        f"pas du texte : le tableur a converti ce qui a été tapé. {advice('prénom', '01/06/2026')}",
    ]


# --- Through the real command, against the sandbox --------------------------------------


def run(sandbox: RunningSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTRASCOL_")}
    environment.update({"INTRASCOL_PASSWORD": sandbox.admin_password, "COLUMNS": "200"})
    server = ["--adresse", sandbox.url, "--identifiant", sandbox.admin_login]
    return subprocess.run(
        [sys.executable, "-m", "reconcile", *args, *server],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_plan_and_apply_refuse_converted_names_and_change_nothing(
    sandbox: RunningSandbox, tmp_path: Path, command: str
) -> None:
    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as client:
        state = client.read_state()
    workbook = tmp_path / "rentree.xlsx"
    write_workbook(
        state, workbook, server_url=sandbox.url, exported_at=datetime(2026, 7, 3, 17, 0, tzinfo=UTC)
    )
    rows: list[int] = []
    cp = state.classes[0].name

    def change(workbook: Workbook) -> None:
        rows.append(
            add_row(vocabulary.USERS_SHEET, last="MAI", first=datetime(2026, 6, 1), target=cp)(workbook)
        )
        rows.append(add_row(vocabulary.USERS_SHEET, last=12345, first="Paul", target=cp)(workbook))

    edit(workbook, change)
    snapshot = sandbox.store.snapshot()

    result = run(sandbox, command, str(workbook), *(["--oui"] if command == "apply" else []))

    assert result.returncode == 1, result.stdout + result.stderr
    said = " ".join((result.stdout + result.stderr).split())
    assert (
        f"Utilisateurs, ligne {rows[0]}, colonne « Prénom » : la cellule contient une date (01/06/2026), "
        "pas du texte" in said
    )
    assert f"Utilisateurs, ligne {rows[1]}, colonne « Nom » : la cellule contient un nombre (12345)" in said
    assert "précédez-le d'une apostrophe ('12345)" in said
    assert "Traceback" not in said
    assert sandbox.store.snapshot() == snapshot
    assert not any("12345" in (u.last_name, u.first_name) for u in sandbox.store.users())
