"""The rentrée workbook: what `reconcile export` writes and what the secretary hands back."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.adapters.files import check_workbook_name
from reconcile.adapters.workbook import layout, load_wanted, read_workbook, write_workbook
from reconcile.adapters.workbook.layout import build_template
from reconcile.adapters.workbook.sheets import HeaderRow, find_header_row
from reconcile.core import vocabulary
from reconcile.core.errors import OndeError, ReconcileError, WorkbookError
from reconcile.core.model import (
    Location,
    SchoolClass,
    ServerState,
    Target,
    User,
    UserType,
    WantedClass,
    WantedUser,
)
from reconcile.core.vocabulary import ClassStatus
from reconcile.sandbox import RunningSandbox

URL = "http://127.0.0.1:8080/intrascol/"
WHEN = datetime(2026, 9, 1, 8, 30, tzinfo=UTC)
EVIL = '=HYPERLINK("http://x")'


def school() -> ServerState:
    classes = (
        SchoolClass(1, "CE1", "mdupont", "Marie DUPONT", 3),
        SchoolClass(2, "CM2", "pmartin", "Paul MARTIN", 1),
        SchoolClass(3, "CE2-CM1", "jleroy", "Jeanne LEROY", 2),
        SchoolClass(4, "CP", "mdupont", "Marie DUPONT", 0),
    )
    users = (
        User("mdupont", "Dupont", "Marie", UserType.ADULT),
        User("pmartin", "Martin", "Paul", UserType.ADULT),
        User("jleroy", "Leroy", "Jeanne", UserType.ADULT),
        User("lea.martin", "Martin", "Léa", UserType.PUPIL, 1, password="pw-lea-31"),
        User("zoe.abel", "Abel", "Zoé", UserType.PUPIL, 1, password="pw-zoe-77"),
        User("12345", "Zorro", "Al", UserType.PUPIL, 1, password="pw-al-12"),
        User("tom.durand", "Durand", "Tom", UserType.PUPIL, 2, password="pw-tom-55"),
        User("x.hack", EVIL, "Evil", UserType.PUPIL, 3, password="pw-evil-1"),
        User("ines.n", "N'Diaye", "Inès", UserType.PUPIL, 3, password="pw-ines-9"),
        User("sans.classe", "Sans", "Classe", UserType.PUPIL, None, password="pw-sans-0"),
    )
    return ServerState(classes=classes, users=users, version="3.2", school="École Jules Ferry")


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    path = tmp_path / "rentree.xlsx"
    write_workbook(school(), path, server_url=URL, exported_at=WHEN)
    return path


def edit(path: Path, change: Callable[[Workbook], object]) -> None:
    """Edit the workbook as a script or a person would, with openpyxl, and save it in place."""
    workbook = load_workbook(path)
    change(workbook)
    workbook.save(path)


def row_of(sheet: Worksheet, value: str, column: int = 1) -> int:
    for row in range(layout.FIRST_ROW, sheet.max_row + 1):
        if sheet.cell(row, column).value == value:
            return row
    raise AssertionError(f"{value} not in {sheet.title}")


def first_empty_row(sheet: Worksheet) -> int:
    row = layout.FIRST_ROW
    while any(sheet.cell(row, col).value not in (None, "") for col in range(1, 5)):
        row += 1
    return row


def set_cells(sheet: Worksheet, row: int, values: dict[str, Any]) -> None:
    headers = (
        vocabulary.USERS_HEADERS if sheet.title == vocabulary.USERS_SHEET else vocabulary.CLASSES_HEADERS
    )
    for header, value in values.items():
        sheet.cell(row, headers.index(header) + 1).value = value


def set_user(who: str, /, **values: object) -> Callable[[Workbook], None]:
    def change(workbook: Workbook) -> None:
        sheet = workbook[vocabulary.USERS_SHEET]
        set_cells(sheet, row_of(sheet, who), {_header(k): v for k, v in values.items()})

    return change


def _header(keyword: str) -> str:
    return {
        "login": vocabulary.LOGIN,
        "last": vocabulary.LAST_NAME,
        "first": vocabulary.FIRST_NAME,
        "type": vocabulary.TYPE,
        "target": vocabulary.TARGET_CLASS,
        "name": vocabulary.CLASS_NAME,
        "responsible": vocabulary.RESPONSIBLE,
        "status": vocabulary.STATUS,
    }[keyword]


def add_row(sheet_name: str, **values: object) -> Callable[[Workbook], int]:
    def change(workbook: Workbook) -> int:
        sheet = workbook[sheet_name]
        row = first_empty_row(sheet)
        set_cells(sheet, row, {_header(k): v for k, v in values.items()})
        return row

    return change


def problems_of(path: Path) -> list[str]:
    return [str(p) for p in read_workbook(path).problems]


# --- Writing ---------------------------------------------------------------------------


def test_unedited_export_reads_back_as_no_change(exported: Path) -> None:
    state = school()
    reading = read_workbook(exported)

    assert reading.problems == ()
    assert {u.login for u in reading.wanted.users} == {u.login for u in state.users}
    assert all(u.target is Target.UNCHANGED for u in reading.wanted.users)
    assert {(c.name, c.status, c.responsible) for c in reading.wanted.classes} == {
        (c.name, ClassStatus.KEEP, c.responsible_login) for c in state.classes
    }
    export = reading.wanted.export
    assert export is not None
    assert (export.server_url, export.school, export.fingerprint) == (URL, state.school, state.fingerprint())
    assert export.exported_at == "2026-09-01T08:30:00+00:00"
    assert {(u.login, u.type, u.class_name) for u in export.users} == {
        (u.login, u.type, state.class_name_of(u)) for u in state.users
    }
    assert set(export.class_names) == {c.name for c in state.classes}
    assert set(export.class_responsibles) == {(c.name, c.responsible_login) for c in state.classes}
    assert export.template_version == layout.TEMPLATE_VERSION == "2"


def test_the_responsible_at_export_is_found_by_class_name_whatever_its_case(exported: Path) -> None:
    export = load_wanted(exported).export
    assert export is not None
    assert export.responsible_at_export("ce2-cm1") == "jleroy"
    assert export.responsible_at_export("CP") == "mdupont"
    assert export.responsible_at_export("CM1") is None


def test_a_workbook_exported_before_the_responsibles_were_stored_still_reads(exported: Path) -> None:
    """Template version 1 had no responsibles column in its hidden sheet."""

    def as_version_1(workbook: Workbook) -> None:
        sheet = workbook[vocabulary.EXPORT_SHEET]
        for row in range(1, sheet.max_row + 1):
            sheet.cell(row, layout.META_RESPONSIBLES_COLUMN).value = None
        sheet.cell(layout.META_KEYS.index("template_version") + 1, 2).value = "1"

    edit(exported, as_version_1)
    reading = read_workbook(exported)
    assert reading.problems == ()
    export = reading.wanted.export
    assert export is not None
    assert export.class_responsibles == ()
    assert export.responsible_at_export("CE1") is None
    assert set(export.class_names) == {c.name for c in school().classes}
    assert {(c.name, c.responsible) for c in reading.wanted.classes} == {
        (c.name, c.responsible_login) for c in school().classes
    }


def test_rows_are_sorted_by_class_then_name_with_one_band_per_class(exported: Path) -> None:
    sheet = load_workbook(exported)[vocabulary.USERS_SHEET]
    logins = [sheet.cell(r, 1).value for r in range(layout.FIRST_ROW, layout.FIRST_ROW + 10)]
    # CP (empty), CE1, CE2-CM1, CM2 by level, then nobody's class (adults, a pupil) by name.
    assert logins == [
        "zoe.abel", "lea.martin", "12345", "x.hack", "ines.n", "tom.durand",
        "mdupont", "jleroy", "pmartin", "sans.classe",
    ]  # fmt: skip
    name_column = vocabulary.USERS_HEADERS.index(vocabulary.LAST_NAME) + 1

    def band(login: str) -> str:
        return str(sheet.cell(row_of(sheet, login), name_column).fill.fgColor.rgb)

    assert band("zoe.abel") == band("lea.martin") == band("12345")
    assert band("x.hack") == band("ines.n")
    assert len({band("lea.martin"), band("x.hack"), band("tom.durand")}) == 3


def test_server_columns_are_locked_and_the_rest_editable_under_protection(exported: Path) -> None:
    workbook = load_workbook(exported)
    users = workbook[vocabulary.USERS_SHEET]
    row = row_of(users, "lea.martin")
    locked = {
        h: users.cell(row, i).protection.locked for i, h in enumerate(vocabulary.USERS_HEADERS, start=1)
    }
    assert locked == {
        vocabulary.LOGIN: True,
        vocabulary.LAST_NAME: False,
        vocabulary.FIRST_NAME: False,
        vocabulary.TYPE: False,
        vocabulary.CURRENT_CLASS: True,
        vocabulary.TARGET_CLASS: False,
        vocabulary.REMARKS: False,
    }
    spare = first_empty_row(users)
    assert not users.cell(spare, 2).protection.locked  # a new row can be typed under the data
    assert users.protection.sheet
    assert users.protection.insertRows is False  # False: inserting rows is allowed
    assert users.freeze_panes == f"A{layout.FIRST_ROW}"
    assert users.print_title_rows == f"${layout.HEADER_ROW}:${layout.HEADER_ROW}"
    assert users.page_setup.orientation == "landscape"
    classes = workbook[vocabulary.CLASSES_SHEET]
    assert classes.cell(row_of(classes, "CE1"), 1).protection.locked
    assert not classes.cell(row_of(classes, "CE1"), 3).protection.locked
    assert workbook[vocabulary.EXPORT_SHEET].sheet_state == "hidden"


def test_dropdowns_offer_the_classes_sheet_and_leaving(exported: Path) -> None:
    workbook = load_workbook(exported)
    users = workbook[vocabulary.USERS_SHEET]
    by_column = {str(v.sqref)[0]: v for v in users.data_validations.dataValidation}
    target = by_column[layout.users_column(vocabulary.TARGET_CLASS)]
    assert target.formula1 == layout.TARGET_CHOICES
    assert f"{layout.users_column(vocabulary.TARGET_CLASS)}{row_of(users, 'sans.classe') + 1}" in target.sqref
    reference = workbook.defined_names[layout.TARGET_CHOICES].attr_text
    assert f"'{vocabulary.LISTS_SHEET}'!$A$1" in reference
    assert f"'{vocabulary.CLASSES_SHEET}'!$A${layout.FIRST_ROW}" in reference
    lists = workbook[vocabulary.LISTS_SHEET]
    assert lists["A1"].value == "Quitte l'école"
    assert lists["A2"].value == layout.list_formula(layout.FIRST_ROW)
    classes = workbook[vocabulary.CLASSES_SHEET]
    status = {str(v.sqref)[0]: v for v in classes.data_validations.dataValidation}["C"]
    assert status.formula1 == '"Conserver,Supprimer,Créer"'
    teachers = [lists.cell(r, 2).value for r in range(1, 4)]
    assert teachers == ["Marie DUPONT", "Jeanne LEROY", "Paul MARTIN"]


def test_server_text_is_never_written_as_a_formula(exported: Path) -> None:
    sheet = load_workbook(exported)[vocabulary.USERS_SHEET]
    cell = sheet.cell(row_of(sheet, "x.hack"), 2)
    assert cell.value == EVIL
    assert cell.data_type == "s"
    with zipfile.ZipFile(exported) as archive:
        users_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in users_xml  # no formula at all in the users' sheet
    assert 't="inlineStr"><is><t>=HYPERLINK(' in users_xml  # a string cell
    assert read_workbook(exported).problems == ()


def test_the_workbook_holds_no_password(exported: Path) -> None:
    with zipfile.ZipFile(exported) as archive:
        text = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    for user in school().users:
        if user.password:
            assert user.password not in text


def _look(cell: object) -> tuple[str, ...]:
    """A cell's value and style, comparable between a loaded and a freshly built workbook."""
    parts = ("value", "style", "font", "fill", "border", "protection", "alignment", "number_format")
    return tuple(repr(getattr(cell, part)) for part in parts)


def test_the_committed_template_is_what_the_script_makes() -> None:
    committed = load_workbook(layout.TEMPLATE_PATH)
    fresh = build_template()
    assert committed.sheetnames == fresh.sheetnames
    assert sorted(committed.named_styles) == sorted(fresh.named_styles)
    assert {n: d.attr_text for n, d in committed.defined_names.items()} == {
        n: d.attr_text for n, d in fresh.defined_names.items()
    }
    for name in fresh.sheetnames:
        old, new = committed[name], fresh[name]
        assert old.sheet_state == new.sheet_state, name
        assert old.freeze_panes == new.freeze_panes, name
        assert sorted(map(str, old.merged_cells.ranges)) == sorted(map(str, new.merged_cells.ranges)), name
        assert old.protection.sheet == new.protection.sheet, name
        assert old.protection.insertRows == new.protection.insertRows, name
        assert old.print_title_rows == new.print_title_rows, name
        assert {k: d.width for k, d in old.column_dimensions.items()} == {
            k: d.width for k, d in new.column_dimensions.items()
        }, name
        assert [
            (str(v.sqref), v.type, v.formula1, v.error, v.prompt) for v in old.data_validations.dataValidation
        ] == [
            (str(v.sqref), v.type, v.formula1, v.error, v.prompt) for v in new.data_validations.dataValidation
        ], name
        assert (old.max_row, old.max_column) == (new.max_row, new.max_column), name
        for old_row, new_row in zip(old.iter_rows(), new.iter_rows(), strict=True):
            for a, b in zip(old_row, new_row, strict=True):
                assert _look(a) == _look(b), f"{name}!{a.coordinate}"


# --- Reading edits ---------------------------------------------------------------------


def test_edits_read_back_to_exactly_the_wanted_state(exported: Path) -> None:
    rows: dict[str, int] = {}

    def rentree(workbook: Workbook) -> None:
        set_user("lea.martin", target="CE2-CM1")(workbook)
        set_user("zoe.abel", target="CE1")(workbook)
        set_user("tom.durand", target="Quitte l'école")(workbook)
        set_user("pmartin", target="Quitte l'école")(workbook)
        rows["pupil"] = add_row(vocabulary.USERS_SHEET, last="Petit", first="Zoé", target="CP")(workbook)
        rows["teacher"] = add_row(vocabulary.USERS_SHEET, last="Bernard", first="Luc", type="Adulte")(
            workbook
        )
        classes = workbook[vocabulary.CLASSES_SHEET]
        set_cells(classes, row_of(classes, "CM2"), {vocabulary.STATUS: "Supprimer"})
        set_cells(classes, row_of(classes, "CP"), {vocabulary.RESPONSIBLE: "Jeanne LEROY"})
        rows["class"] = add_row(vocabulary.CLASSES_SHEET, name="CM1-CM2", responsible="Luc BERNARD")(workbook)

    edit(exported, rentree)
    reading = read_workbook(exported)

    assert reading.problems == ()
    users = {u.key: u for u in reading.wanted.users}
    sheet = vocabulary.USERS_SHEET
    new_pupil, new_teacher = f"nouveau:{rows['pupil']}", f"nouveau:{rows['teacher']}"
    assert users[new_pupil] == WantedUser(
        new_pupil, None, "Petit", "Zoé", UserType.PUPIL, Target.CLASS, "CP", Location(sheet, rows["pupil"])
    )
    assert users[new_teacher] == WantedUser(
        new_teacher,
        None,
        "Bernard",
        "Luc",
        UserType.ADULT,
        Target.UNCHANGED,
        None,
        Location(sheet, rows["teacher"]),
    )
    assert (users["lea.martin"].target, users["lea.martin"].target_class) == (Target.CLASS, "CE2-CM1")
    assert (users["zoe.abel"].target, users["zoe.abel"].target_class) == (Target.CLASS, "CE1")
    assert users["tom.durand"].target is Target.LEAVES
    assert users["pmartin"].target is Target.LEAVES
    changed = {"lea.martin", "zoe.abel", "tom.durand", "pmartin", new_pupil, new_teacher}
    assert all(u.target is Target.UNCHANGED for k, u in users.items() if k not in changed)
    assert len(users) == len(school().users) + 2

    classes = {c.name: c for c in reading.wanted.classes}
    assert classes["CM2"].status is ClassStatus.DELETE
    assert classes["CP"].responsible == "jleroy"
    assert classes["CM1-CM2"] == WantedClass(
        "CM1-CM2", ClassStatus.CREATE, new_teacher, Location(vocabulary.CLASSES_SHEET, rows["class"])
    )
    assert (classes["CE1"].status, classes["CE1"].responsible) == (ClassStatus.KEEP, "mdupont")


def test_a_deleted_row_means_nothing(exported: Path) -> None:
    edit(
        exported,
        lambda wb: wb[vocabulary.USERS_SHEET].delete_rows(row_of(wb[vocabulary.USERS_SHEET], "tom.durand")),
    )
    reading = read_workbook(exported)
    assert reading.problems == ()
    assert "tom.durand" not in {u.key for u in reading.wanted.users}
    assert reading.wanted.export is not None
    assert "tom.durand" in {u.login for u in reading.wanted.export.users}


def test_empty_responsible_keeps_the_current_teacher(exported: Path) -> None:
    def clear(workbook: Workbook) -> None:
        classes = workbook[vocabulary.CLASSES_SHEET]
        set_cells(classes, row_of(classes, "CE1"), {vocabulary.RESPONSIBLE: None})

    edit(exported, clear)
    classes = {c.name: c for c in load_wanted(exported).classes}
    assert classes["CE1"].responsible is None
    assert classes["CE1"].status is ClassStatus.KEEP


def test_a_kept_class_unknown_to_the_export_is_a_new_class(exported: Path) -> None:
    edit(
        exported,
        lambda wb: add_row(vocabulary.CLASSES_SHEET, name="GS", responsible="mdupont", status="Conserver")(
            wb
        ),
    )
    classes = {c.name: c for c in load_wanted(exported).classes}
    assert (classes["GS"].status, classes["GS"].responsible) == (ClassStatus.CREATE, "mdupont")


# --- Tolerance -------------------------------------------------------------------------


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_what_people_and_programs_do_is_tolerated(exported: Path) -> None:
    rows: dict[str, int] = {}

    def messy(workbook: Workbook) -> None:
        users = workbook[vocabulary.USERS_SHEET]
        # The header moved down under more banner rows, retyped in another case, spaces around.
        users.insert_rows(1, amount=3)
        for col, text in enumerate(
            ["  IDENTIFIANT", "nom ", "prenom", "TYPE", "classe Actuelle", " CLASSE CIBLE "], 1
        ):
            users.cell(layout.HEADER_ROW + 3, col).value = text
        set_cells(users, row_of(users, "lea.martin"), {vocabulary.TARGET_CLASS: "ce2-cm1  "})
        set_cells(users, row_of(users, "zoe.abel"), {vocabulary.TARGET_CLASS: nfd("quitte l'ecole")})
        set_cells(users, row_of(users, "tom.durand"), {vocabulary.TARGET_CLASS: "Quitte l’École"})
        row = row_of(users, "12345")
        set_cells(users, row, {vocabulary.LOGIN: 12345, vocabulary.TARGET_CLASS: "cp"})
        set_cells(users, row_of(users, "ines.n"), {vocabulary.TARGET_CLASS: " Ce1 "})
        # New rows after a gap of empty rows, names in NFD, type typed loosely.
        spare = first_empty_row(users) + 3
        set_cells(users, spare, {vocabulary.LAST_NAME: nfd("  Lefèvre "), vocabulary.FIRST_NAME: nfd("Chloé"),
                                 vocabulary.TYPE: "eleve", vocabulary.TARGET_CLASS: "Cp"})  # fmt: skip
        set_cells(
            users,
            spare + 1,
            {vocabulary.LAST_NAME: "Roux", vocabulary.FIRST_NAME: "Ana", vocabulary.TARGET_CLASS: 5},
        )
        set_cells(
            users, spare + 5, {vocabulary.REMARKS: "à revoir en octobre"}
        )  # a lone remark: not a person
        rows["chloe"], rows["ana"] = spare, spare + 1
        classes = workbook[vocabulary.CLASSES_SHEET]
        set_cells(classes, row_of(classes, "CM2"), {vocabulary.STATUS: "  supprimer"})
        add_row(vocabulary.CLASSES_SHEET, name=5, responsible=nfd("  marie   dupont "), status="creer")(
            workbook
        )

    edit(exported, messy)
    reading = read_workbook(exported)

    assert reading.problems == ()
    users = {u.key: u for u in reading.wanted.users}
    assert users["lea.martin"].target_class == "CE2-CM1"
    assert users["zoe.abel"].target is Target.LEAVES
    assert users["tom.durand"].target is Target.LEAVES
    assert users["12345"].target_class == "CP"
    assert users["ines.n"].target_class == "CE1"
    chloe = users[f"nouveau:{rows['chloe']}"]
    assert (chloe.last_name, chloe.first_name, chloe.type, chloe.target_class) == (
        "Lefèvre",
        "Chloé",
        UserType.PUPIL,
        "CP",
    )
    assert chloe.last_name == unicodedata.normalize("NFC", "Lefèvre")
    ana = users[f"nouveau:{rows['ana']}"]
    assert (ana.type, ana.target_class) == (UserType.PUPIL, "5")
    classes = {c.name: c for c in reading.wanted.classes}
    assert classes["CM2"].status is ClassStatus.DELETE
    assert (classes["5"].status, classes["5"].responsible) == (ClassStatus.CREATE, "mdupont")


def test_a_login_turned_into_a_number_is_found(exported: Path) -> None:
    edit(exported, set_user("12345", login=12345.0, target="CM2"))
    users = {u.key: u for u in load_wanted(exported).users}
    assert users["12345"].target_class == "CM2"


def test_responsible_by_name_login_in_parentheses_or_reversed_name(exported: Path) -> None:
    def change(workbook: Workbook) -> None:
        classes = workbook[vocabulary.CLASSES_SHEET]
        set_cells(classes, row_of(classes, "CE1"), {vocabulary.RESPONSIBLE: "Paul Martin (pmartin)"})
        set_cells(classes, row_of(classes, "CM2"), {vocabulary.RESPONSIBLE: "LEROY Jeanne"})
        set_cells(classes, row_of(classes, "CP"), {vocabulary.RESPONSIBLE: "JLEROY"})

    edit(exported, change)
    classes = {c.name: c.responsible for c in load_wanted(exported).classes}
    assert (classes["CE1"], classes["CM2"], classes["CP"]) == ("pmartin", "jleroy", "jleroy")


# --- Refusals --------------------------------------------------------------------------


def test_not_a_workbook_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "rentree.xlsx"
    text.write_text("Identifiant;Nom\n", encoding="utf-8")
    assert problems_of(text) == [
        "rentree.xlsx n'est pas un classeur Excel (.xlsx) lisible. "
        "Enregistrez-le au format « Classeur Excel (.xlsx) » et recommencez."
    ]
    assert "introuvable" in problems_of(tmp_path / "absent.xlsx")[0]


def test_missing_sheet_is_refused(exported: Path) -> None:
    edit(exported, lambda wb: wb.remove(wb[vocabulary.CLASSES_SHEET]))
    assert problems_of(exported) == ["l'onglet « Classes » manque dans le classeur."]


def test_missing_header_is_refused(exported: Path) -> None:
    edit(exported, lambda wb: wb[vocabulary.USERS_SHEET].cell(layout.HEADER_ROW, 6, "Destination"))
    assert problems_of(exported) == [
        "Utilisateurs : ligne d'en-tête introuvable dans les 10 premières lignes "
        "(colonnes manquantes : « Classe cible »)."
    ]


def test_the_header_row_is_the_first_with_every_required_header_and_a_repeated_one_is_its_first() -> None:
    rows = [("Utilisateurs — export",), (), (" identifiant ", "NOM", None, "nom"), ("Identifiant", "Nom")]
    found = find_header_row(rows, ("Identifiant", "Nom"))
    assert isinstance(found, HeaderRow)
    assert (found.row, found.column("Nom"), found.filled) == (3, 2, (1, 2, 4))
    # Not found: the headers missing from the closest row (for the message); none below the 10th row.
    closest = find_header_row([("Identifiant",), ("Nom", "Prénom")], ("Identifiant", "Nom", "Prénom"))
    assert closest == ["Identifiant"]
    late = [()] * layout.HEADER_SEARCH_ROWS + [("Identifiant", "Nom")]
    assert find_header_row(late, ("Identifiant", "Nom")) == ["Identifiant", "Nom"]


def test_a_workbook_to_write_must_end_in_xlsx() -> None:
    check_workbook_name(Path("rentree.XLSX"))
    with pytest.raises(
        OndeError,
        match=r"^« rentree\.csv » : le classeur doit finir par \.xlsx, .* Par exemple : -o rentree\.xlsx$",
    ):
        check_workbook_name(Path("dossier/rentree.csv"), OndeError)
    with pytest.raises(ReconcileError, match=r"Par exemple : -o rentree\.xlsx$"):
        check_workbook_name(Path("."))


def test_same_login_twice_is_refused(exported: Path) -> None:
    edit(exported, set_user("zoe.abel", login="lea.martin"))
    sheet = load_workbook(exported)[vocabulary.USERS_SHEET]
    second = max(
        r for r in range(layout.FIRST_ROW, sheet.max_row + 1) if sheet.cell(r, 1).value == "lea.martin"
    )
    problems = problems_of(exported)
    assert len(problems) == 1
    assert problems[0].startswith(f"Utilisateurs, ligne {second}, colonne « Identifiant » : ")
    assert "l'identifiant « lea.martin » figure déjà ligne" in problems[0]


def test_login_not_in_the_export_is_refused(exported: Path) -> None:
    edit(exported, set_user("zoe.abel", login="zoe.inconnue"))
    row = row_of(load_workbook(exported)[vocabulary.USERS_SHEET], "zoe.inconnue")
    assert problems_of(exported) == [
        f"Utilisateurs, ligne {row}, colonne « Identifiant » : l'identifiant « zoe.inconnue » ne figure pas "
        "dans l'export : pour une nouvelle personne, laissez l'Identifiant vide (le serveur le créera)."
    ]


def test_unknown_target_class_is_refused(exported: Path) -> None:
    edit(exported, set_user("lea.martin", target="CE3"))
    row = row_of(load_workbook(exported)[vocabulary.USERS_SHEET], "lea.martin")
    assert problems_of(exported) == [
        f"Utilisateurs, ligne {row}, colonne « Classe cible » : "
        "la classe « CE3 » n'existe pas dans l'onglet Classes ; vouliez-vous dire « CE1 » ?"
    ]


def test_ambiguous_class_spelling_is_refused(exported: Path) -> None:
    def change(workbook: Workbook) -> None:
        add_row(vocabulary.CLASSES_SHEET, name="CE2 CM1", responsible="jleroy")(workbook)
        set_user("lea.martin", target="ce2–cm1")(workbook)  # an en dash: both classes fold alike

    edit(exported, change)
    (problem,) = problems_of(exported)
    assert "« ce2–cm1 » peut désigner « CE2-CM1 » ou « CE2 CM1 » : écrivez le nom exact." in problem


@pytest.mark.parametrize(("last", "first", "missing"), [("", "Zoé", "Nom"), ("Petit", None, "Prénom")])
def test_new_row_without_names_is_refused(exported: Path, last: str, first: str | None, missing: str) -> None:
    rows: list[int] = []
    edit(
        exported,
        lambda wb: rows.append(add_row(vocabulary.USERS_SHEET, last=last, first=first, target="CP")(wb)),
    )
    (problem,) = problems_of(exported)
    assert problem.startswith(
        f"Utilisateurs, ligne {rows[0]}, colonne « {missing} » : nouvelle personne sans {missing}"
    )


def test_unknown_type_is_refused(exported: Path) -> None:
    edit(exported, set_user("lea.martin", type="Parent"))
    row = row_of(load_workbook(exported)[vocabulary.USERS_SHEET], "lea.martin")
    assert problems_of(exported) == [
        f"Utilisateurs, ligne {row}, colonne « Type » : type « Parent » inconnu : écrivez Élève ou Adulte."
    ]


def test_formula_where_a_value_is_expected_is_refused(exported: Path) -> None:
    edit(exported, set_user("lea.martin", target='=IF(1,"CE1","CP")'))
    row = row_of(load_workbook(exported)[vocabulary.USERS_SHEET], "lea.martin")
    problems = problems_of(exported)
    assert problems[0].startswith(
        f"Utilisateurs, ligne {row}, colonne « Classe cible » : la cellule contient une formule"
    )


def test_unknown_responsible_teacher_is_refused(exported: Path) -> None:
    def change(workbook: Workbook) -> None:
        classes = workbook[vocabulary.CLASSES_SHEET]
        set_cells(classes, row_of(classes, "CE1"), {vocabulary.RESPONSIBLE: "Albert CAMUS"})
        set_cells(classes, row_of(classes, "CP"), {vocabulary.RESPONSIBLE: "Léa MARTIN"})

    edit(exported, change)
    classes = load_workbook(exported)[vocabulary.CLASSES_SHEET]
    ce1, cp = row_of(classes, "CE1"), row_of(classes, "CP")
    assert problems_of(exported) == [  # in row order: CP comes before CE1
        f"Classes, ligne {cp}, colonne « Enseignant responsable » : « Léa MARTIN » est un élève : "
        "l'enseignant responsable doit être un adulte.",
        f"Classes, ligne {ce1}, colonne « Enseignant responsable » : "
        "l'enseignant responsable « Albert CAMUS » est inconnu : "
        "écrivez l'identifiant ou « Prénom NOM » d'un adulte de l'onglet Utilisateurs.",
    ]


def test_new_class_without_responsible_is_refused(exported: Path) -> None:
    rows: list[int] = []
    edit(exported, lambda wb: rows.append(add_row(vocabulary.CLASSES_SHEET, name="GS", status="Créer")(wb)))
    assert problems_of(exported) == [
        f"Classes, ligne {rows[0]}, colonne « Enseignant responsable » : la nouvelle classe « GS » n'a pas "
        "d'enseignant responsable : écrivez son identifiant ou « Prénom NOM »."
    ]


def test_blank_class_name_is_refused(exported: Path) -> None:
    rows: list[int] = []
    edit(
        exported,
        lambda wb: rows.append(add_row(vocabulary.CLASSES_SHEET, name="   ", responsible="mdupont")(wb)),
    )
    assert problems_of(exported) == [
        f"Classes, ligne {rows[0]}, colonne « Classe » : le nom de la classe est vide."
    ]


def test_same_class_twice_is_refused(exported: Path) -> None:
    rows: list[int] = []
    edit(
        exported,
        lambda wb: rows.append(add_row(vocabulary.CLASSES_SHEET, name="ce1", responsible="mdupont")(wb)),
    )
    first = row_of(load_workbook(exported)[vocabulary.CLASSES_SHEET], "CE1")
    assert problems_of(exported) == [
        f"Classes, ligne {rows[0]}, colonne « Classe » : la classe « ce1 » figure déjà ligne {first}."
    ]


def test_class_statuses_that_contradict_the_server_are_refused(exported: Path) -> None:
    rows: list[int] = []

    def change(workbook: Workbook) -> None:
        classes = workbook[vocabulary.CLASSES_SHEET]
        set_cells(classes, row_of(classes, "CE1"), {vocabulary.STATUS: "Créer"})
        set_cells(classes, row_of(classes, "CP"), {vocabulary.STATUS: "Fermer"})
        rows.append(
            add_row(vocabulary.CLASSES_SHEET, name="GS", responsible="mdupont", status="Supprimer")(workbook)
        )

    edit(exported, change)
    problems = problems_of(exported)
    assert [p.split(" : ", 1)[1] for p in problems] == [
        "statut « Fermer » inconnu : écrivez Conserver, Supprimer ou Créer.",
        "la classe « CE1 » existe déjà : mettez le Statut « Conserver » ou « Supprimer ».",
        "la classe « GS » n'est pas sur le serveur : elle ne peut pas être supprimée.",
    ]
    assert problems[2].startswith(f"Classes, ligne {rows[0]}, colonne « Statut »")


def test_a_workbook_without_the_export_sheet_is_refused(exported: Path) -> None:
    edit(exported, lambda wb: wb.remove(wb[vocabulary.EXPORT_SHEET]))
    (problem,) = problems_of(exported)
    assert problem.startswith("l'onglet caché « Export (ne pas modifier) » manque")


def test_all_problems_are_reported_at_once(exported: Path) -> None:
    def many(workbook: Workbook) -> None:
        set_user("lea.martin", target="CE3")(workbook)
        set_user("zoe.abel", type="Chat")(workbook)
        add_row(vocabulary.USERS_SHEET, first="Sans-Nom", target="CP")(workbook)
        add_row(vocabulary.CLASSES_SHEET, name="GS")(workbook)
        add_row(vocabulary.CLASSES_SHEET, name="GS", responsible="mdupont")(workbook)

    edit(exported, many)
    with pytest.raises(WorkbookError) as raised:
        load_wanted(exported)
    assert len(raised.value.problems) == 5
    assert str(exported) in str(raised.value)
    assert "la classe « CE3 » n'existe pas" in str(raised.value)


# --- LibreOffice -----------------------------------------------------------------------


def resave_with_libreoffice(path: Path, out_dir: Path, kind: str = "xlsx") -> Path:
    """Open and save the workbook with LibreOffice Calc, as a secretary would."""
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) absent : installez libreoffice-calc-nogui (make system-deps)")
    out_dir.mkdir(parents=True, exist_ok=True)
    profile = out_dir / "profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", kind,
         "--outdir", str(out_dir), str(path)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    result = out_dir / f"{path.stem}.{kind}"
    assert result.is_file(), f"LibreOffice did not write {result}"
    return result


@pytest.mark.libreoffice
def test_libreoffice_round_trip_keeps_the_wanted_state_and_the_dropdowns(
    exported: Path, tmp_path: Path
) -> None:
    def rentree(workbook: Workbook) -> None:
        set_user("lea.martin", target="CE2-CM1")(workbook)
        set_user("tom.durand", target="Quitte l'école")(workbook)
        add_row(vocabulary.USERS_SHEET, last="Petit", first="Zoé", target="GS")(workbook)
        add_row(vocabulary.USERS_SHEET, last="Bernard", first="Luc", type="Adulte")(workbook)
        add_row(vocabulary.CLASSES_SHEET, name="GS", responsible="Luc BERNARD")(workbook)
        classes = workbook[vocabulary.CLASSES_SHEET]
        set_cells(classes, row_of(classes, "CM2"), {vocabulary.STATUS: "Supprimer"})

    edit(exported, rentree)
    before = read_workbook(exported)
    assert before.problems == ()

    resaved = resave_with_libreoffice(exported, tmp_path / "calc")
    after = read_workbook(resaved)

    assert after.problems == ()
    assert after.wanted == before.wanted
    workbook = load_workbook(resaved)
    users = workbook[vocabulary.USERS_SHEET]
    formulas = {v.formula1 for v in users.data_validations.dataValidation}
    assert layout.TARGET_CHOICES in formulas
    assert '"Élève,Adulte"' in formulas
    statuses = {v.formula1 for v in workbook[vocabulary.CLASSES_SHEET].data_validations.dataValidation}
    assert '"Conserver,Supprimer,Créer"' in statuses
    assert layout.TEACHER_CHOICES in statuses
    assert users.protection.sheet
    assert users.protection.insertRows is False  # still allowed after Calc saved it
    assert not users.cell(first_empty_row(users), 2).protection.locked
    # Calc computed the dropdown's list: the class added in the Classes sheet is offered.
    lists = load_workbook(resaved, data_only=True)[vocabulary.LISTS_SHEET]
    offered = [lists.cell(r, 1).value for r in range(1, 8)]
    assert offered[:6] == ["Quitte l'école", "CP", "CE1", "CE2-CM1", "CM2", "GS"]
    # The hostile name is still text after Calc saved it.
    cell = users.cell(row_of(users, "x.hack"), 2)
    assert (cell.value, cell.data_type) == (EVIL, "s")


# --- reconcile export ------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTRASCOL_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "reconcile", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def test_export_refuses_to_overwrite_a_workbook(exported: Path) -> None:
    before = exported.read_bytes()
    result = run_cli(
        "export", "-o", str(exported), "--adresse", "http://127.0.0.1:9/intrascol/", "--identifiant", "admin"
    )
    assert result.returncode == 1
    assert f"Le fichier {exported} existe déjà" in result.stderr
    assert "--remplacer" in result.stderr
    assert "Traceback" not in result.stderr
    assert exported.read_bytes() == before


# --- Against the sandbox: export, edit, read back ---------------------------------------


def read_sandbox(sandbox: RunningSandbox) -> ServerState:
    from reconcile.adapters.intrascol.client import IntraScolClient

    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as client:
        client.info()
        return client.read_state()


def test_sandbox_export_edit_and_read_back_gives_exactly_the_rentree(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    state = read_sandbox(sandbox)
    path = tmp_path / "rentree.xlsx"
    write_workbook(state, path, server_url=sandbox.url, exported_at=WHEN)
    store = sandbox.store
    cm2 = {u.login for u in store.pupils_of("CM2")}
    cm1 = {u.login for u in store.pupils_of("CM1")}
    director = next(u for u in store.adults() if u.last_name == "Château")
    rows: dict[str, int] = {}

    def rentree(workbook: Workbook) -> None:
        users = workbook[vocabulary.USERS_SHEET]
        for row in range(layout.FIRST_ROW, users.max_row + 1):
            login = users.cell(row, 1).value
            if login in cm2:
                set_cells(users, row, {vocabulary.TARGET_CLASS: "Quitte l'école"})
            elif login in cm1:
                set_cells(users, row, {vocabulary.TARGET_CLASS: "cm2"})  # typed in lower case
        rows["pupil"] = add_row(vocabulary.USERS_SHEET, last="Besson", first="Lou", target="CP")(workbook)
        rows["teacher"] = add_row(vocabulary.USERS_SHEET, last="Besson", first="Hugo", type="Adulte")(
            workbook
        )
        classes = workbook[vocabulary.CLASSES_SHEET]
        set_cells(classes, row_of(classes, "ULIS"), {vocabulary.STATUS: "Supprimer"})
        set_cells(classes, row_of(classes, "GS"), {vocabulary.RESPONSIBLE: "Martine CHATEAU"})
        rows["class"] = add_row(vocabulary.CLASSES_SHEET, name="CM1-CM2", responsible="Hugo BESSON")(workbook)

    before = store.snapshot()
    edit(path, rentree)
    wanted = load_wanted(path)

    assert store.snapshot() == before  # exporting and reading change nothing on the server
    users = {u.key: u for u in wanted.users}
    assert {k for k, u in users.items() if u.target is Target.LEAVES} == cm2
    assert {k for k, u in users.items() if u.target is Target.CLASS and u.login} == cm1
    assert {users[k].target_class for k in cm1} == {"CM2"}
    pupil, teacher = f"nouveau:{rows['pupil']}", f"nouveau:{rows['teacher']}"
    assert users[pupil] == WantedUser(
        pupil,
        None,
        "Besson",
        "Lou",
        UserType.PUPIL,
        Target.CLASS,
        "CP",
        Location(vocabulary.USERS_SHEET, rows["pupil"]),
    )
    assert (users[teacher].type, users[teacher].target) == (UserType.ADULT, Target.UNCHANGED)
    assert len(users) == len(state.users) + 2
    unchanged = set(users) - cm1 - cm2 - {pupil, teacher}
    assert all(users[k].target is Target.UNCHANGED for k in unchanged)
    expected_classes = {
        (c.name, ClassStatus.DELETE if c.name == "ULIS" else ClassStatus.KEEP,
         None if c.name == "ULIS" else director.login if c.name == "GS" else c.responsible_login)
        for c in state.classes
    } | {("CM1-CM2", ClassStatus.CREATE, teacher)}  # fmt: skip
    assert {(c.name, c.status, c.responsible) for c in wanted.classes} == expected_classes
    assert wanted.export is not None
    assert wanted.export.fingerprint == state.fingerprint()
    assert wanted.export.school == state.school == store.school_name


def test_reconcile_export_writes_the_workbook_of_the_sandbox(sandbox: RunningSandbox, tmp_path: Path) -> None:
    path = tmp_path / "rentree.xlsx"
    env = {"INTRASCOL_URL": sandbox.url, "INTRASCOL_LOGIN": sandbox.admin_login}
    env["INTRASCOL_PASSWORD"] = sandbox.admin_password
    before = sandbox.store.snapshot()

    result = run_cli("export", "-o", str(path), env=env)

    assert result.returncode == 0, result.stderr
    assert sandbox.store.snapshot() == before
    assert str(path) in result.stdout.replace("\n", "")
    assert "reconcile plan" in result.stdout
    assert sandbox.admin_password not in result.stdout + result.stderr
    reading = read_workbook(path)
    assert reading.problems == ()
    assert len(reading.wanted.users) == len(sandbox.store.users())
    assert all(u.target is Target.UNCHANGED for u in reading.wanted.users)
    assert reading.wanted.export is not None
    assert reading.wanted.export.fingerprint == read_sandbox(sandbox).fingerprint()
    assert reading.wanted.export.server_url == sandbox.url

    again = run_cli("export", "-o", str(path), env=env)
    assert again.returncode == 1
    assert "existe déjà" in again.stderr
    forced = run_cli("export", "-o", str(path), "--remplacer", env=env)
    assert forced.returncode == 0, forced.stderr
    assert read_workbook(path).problems == ()


def test_reconcile_export_refuses_a_name_that_is_not_xlsx(sandbox: RunningSandbox, tmp_path: Path) -> None:
    # An .xlsx written under another name is opened as text by Calc and refused by `reconcile plan`.
    env = {"INTRASCOL_URL": sandbox.url, "INTRASCOL_LOGIN": sandbox.admin_login}
    env["INTRASCOL_PASSWORD"] = sandbox.admin_password
    for name in ("rentree.csv", "rentree.ods", "rentree"):
        result = run_cli("export", "-o", str(tmp_path / name), env=env)
        assert result.returncode == 1, result.stdout
        assert f"« {name} » : le classeur doit finir par .xlsx" in " ".join(result.stderr.split())
        assert not (tmp_path / name).exists()


def test_reconcile_export_into_a_read_only_folder_is_a_french_error(sandbox: RunningSandbox) -> None:
    read_only = Path("/sys")  # sysfs: no regular file can be created there, even by root
    try:
        tempfile.mkstemp(dir=read_only)
    except OSError:
        pass
    else:
        pytest.skip("/sys accepts files here")
    env = {"INTRASCOL_URL": sandbox.url, "INTRASCOL_LOGIN": sandbox.admin_login}
    env["INTRASCOL_PASSWORD"] = sandbox.admin_password
    result = run_cli("export", "-o", str(read_only / "rentree.xlsx"), env=env)
    assert result.returncode == 1, result.stdout
    assert f"Impossible d'écrire dans le dossier {read_only}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_problems_are_listed_sheet_by_sheet_in_row_order(exported: Path) -> None:
    def many(workbook: Workbook) -> None:
        add_row(vocabulary.CLASSES_SHEET, name="GS")(workbook)
        set_user("sans.classe", target="CE3")(workbook)
        set_user("zoe.abel", type="Chat")(workbook)

    edit(exported, many)
    locations = [p.location for p in read_workbook(exported).problems]
    assert [(loc.sheet, loc.column) for loc in locations if loc] == [
        (vocabulary.USERS_SHEET, vocabulary.TYPE),
        (vocabulary.USERS_SHEET, vocabulary.TARGET_CLASS),
        (vocabulary.CLASSES_SHEET, vocabulary.RESPONSIBLE),
    ]


@pytest.mark.libreoffice
def test_a_formula_is_refused_even_with_the_value_calc_cached(exported: Path, tmp_path: Path) -> None:
    edit(exported, set_user("lea.martin", target=f"='{vocabulary.CLASSES_SHEET}'!A5"))
    resaved = resave_with_libreoffice(exported, tmp_path / "calc")
    users = load_workbook(resaved, data_only=True)[vocabulary.USERS_SHEET]
    row = row_of(users, "lea.martin")
    assert users.cell(row, 6).value == "CE1"  # Calc computed and cached the value…
    assert problems_of(resaved) == [  # …but the cell still holds a formula, which the tool refuses
        f"Utilisateurs, ligne {row}, colonne « Classe cible » : la cellule contient une formule : "
        "tapez la valeur elle-même (copier, puis « Collage spécial > valeurs seulement »)."
    ]
