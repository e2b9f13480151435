"""Classes are listed in one order everywhere a person reads them.

The workbook, the plan report, the apply report and the class lists all show a school's
classes PS first, CM2 last, a double level by its lowest level then its highest (`GS-CP`
between `GS` and `CP`), classes without a level last.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from openpyxl import load_workbook

from reconcile.adapters.reports.class_lists import HTML_NAME as CLASS_LISTS_HTML
from reconcile.core import vocabulary
from reconcile.sandbox import ADULT, RunningSandbox
from tests.test_cli_apply import run_reconcile

READING_ORDER = ["GS", "GS-CP", "CP", "CE2-CM1", "CM2", "ULIS"]
REMOVED = {"GS-CP": "CP", "CE2-CM1": "CM2"}  # removed class -> where its pupil goes


def reconcile(sandbox: RunningSandbox, folder: Path, *arguments: str) -> str:
    done = run_reconcile(sandbox, *arguments, cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def html_text(path: Path) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


def order_in(text: str, names: list[str]) -> list[str]:
    """`names` in the order they first stand in `text` as whole class names."""
    found = {n: m.start() for n in names if (m := re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text))}
    return sorted(found, key=found.__getitem__)


def deleted_classes_sentence(text: str) -> list[str]:
    match = re.search(r"Supprimer 2 classes : ([\w-]+(?:, [\w-]+)*)", text)
    assert match, text
    return match.group(1).split(", ")


def test_workbook_reports_and_class_lists_list_classes_in_one_order(
    empty_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    store = empty_sandbox.store
    for number, name in enumerate(["CM2", "ULIS", "CE2-CM1", "CP", "GS-CP", "GS"], start=1):
        teacher = store.add_user("Prof", f"Numéro {number}", ADULT)
        store.add_class(name, teacher.login)
        store.add_user("Élève", f"De {name}", class_name=name)

    reconcile(empty_sandbox, tmp_path, "export", "-o", "rentree.xlsx")
    book = load_workbook(tmp_path / "rentree.xlsx")
    classes_sheet = book[vocabulary.CLASSES_SHEET]
    in_workbook = [
        v for (v,) in classes_sheet.iter_rows(min_col=1, max_col=1, values_only=True) if v in READING_ORDER
    ]
    assert in_workbook == READING_ORDER

    users = book[vocabulary.USERS_SHEET]
    header_row = next(r for r in users.iter_rows() if any(c.value == vocabulary.TARGET_CLASS for c in r))
    column = {c.value: c.column for c in header_row}
    for row in range(header_row[0].row + 1, users.max_row + 1):
        where = users.cell(row, column[vocabulary.CURRENT_CLASS]).value
        if where in REMOVED and users.cell(row, column[vocabulary.TYPE]).value != "Adulte":
            users.cell(row, column[vocabulary.TARGET_CLASS]).value = REMOVED[where]
    for row in range(1, classes_sheet.max_row + 1):
        if classes_sheet.cell(row, 1).value in REMOVED:
            status = next(c for c in classes_sheet[row] if c.column_letter != "A" and c.value == "Conserver")
            status.value = "Supprimer"
    book.save(tmp_path / "rentree.xlsx")

    reconcile(empty_sandbox, tmp_path, "plan", "rentree.xlsx")
    plan_report = html_text(tmp_path / "rapport-plan.html")
    classes_part = plan_report[plan_report.rindex("Les classes avant et après") :]
    assert order_in(classes_part, READING_ORDER) == READING_ORDER
    assert deleted_classes_sentence(plan_report) == ["GS-CP", "CE2-CM1"]

    reconcile(empty_sandbox, tmp_path, "apply", "rentree.xlsx", "--oui")
    assert deleted_classes_sentence(html_text(tmp_path / "rapport-application.html")) == ["GS-CP", "CE2-CM1"]
    class_lists = (tmp_path / CLASS_LISTS_HTML).read_text(encoding="utf-8")
    assert re.findall(r'data-classe="([^"]+)"', class_lists) == ["GS", "CP", "CM2", "ULIS"]
