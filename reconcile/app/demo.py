"""`reconcile demo`'s rentrée: a realistic edit of a school, as the secretary would fill the workbook in.

Also what the tests and benchmarks apply. No sandbox here (only the command line may load
it): the command starts the sandbox, reads the school through `DemoRentree.of`, puts the
pupils' work on the server, then exports, has `DemoRentree.fill` type the rentrée into the
workbook, plans and applies.

The CM2 leave; every other pupil moves up one level (GS→CP, CP→CE1, CE1→CE2,
CE2→CM1, CM1→CM2); the pupils of the double-level class go to CM2 and that class is
removed, its teacher leaving with it (deleted after the removal); a new teacher
arrives with a new class `PS-MS`; new pupils arrive in PS-MS and CP. Classes whose
name has no level (ULIS) are left as they are.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconcile.adapters.files import make_private_folder, writing_into
from reconcile.adapters.journal import JOURNAL_NAME
from reconcile.adapters.reports.apply_report import APPLY_REPORT_NAME, REPORT_NAME
from reconcile.adapters.reports.class_lists import HTML_NAME, PDF_NAME
from reconcile.adapters.reports.plan_report import PLAN_REPORT_NAME
from reconcile.adapters.reports.route_sheet import ROUTE_SHEET_NAME
from reconcile.adapters.workbook import layout
from reconcile.app.apply import STATE_BEFORE_NAME
from reconcile.core import vocabulary
from reconcile.core.errors import ReconcileError
from reconcile.core.model import (
    ExportInfo,
    ServerState,
    Target,
    UserType,
    WantedClass,
    WantedState,
    WantedUser,
    class_levels,
    display_name,
    new_person_key,
)
from reconcile.core.ports import IntraScolServer
from reconcile.core.vocabulary import LEAVES_SCHOOL, ClassStatus

DEMO_MARKER = ".demo-reconcile"
"""Lists the files the demo wrote in its folder: the only ones a later demo removes."""
DEMO_WORKBOOK = "rentree.xlsx"

NEXT_LEVEL = {"GS": "CP", "CP": "CE1", "CE1": "CE2", "CE2": "CM1", "CM1": "CM2"}
NEW_CLASS = "PS-MS"
NEW_PUPILS = (
    ("Nguyễn", "Zoé", NEW_CLASS),
    ("N'Dour", "Aminata", NEW_CLASS),
    ("Łukasiewicz", "Łukasz", NEW_CLASS),
    ("De Saint-Exupéry", "Jean-Côme", "CP"),
    ("Lebœuf", "Chloé", "CP"),
)
NEW_TEACHER = ("Girard", "Camille")


def export_of(state: ServerState, url: str = "http://serveur/intrascol/") -> ExportInfo:
    """The hidden metadata the export would have written for `state`."""
    return ExportInfo.of_state(
        state,
        server_url=url,
        exported_at="2026-06-30T18:00:00",
        tool_version="test",
        template_version=layout.TEMPLATE_VERSION,
    )


def rentree(state: ServerState, *, extra_new_pupils: int = 0) -> WantedState:
    """The wanted state of a typical rentrée of `state` (see the module's docstring)."""
    by_level = {c.name: c for c in state.classes if len(class_levels(c.name)) == 1}
    double = [c for c in state.classes if len(class_levels(c.name)) > 1]
    removed = {c.id for c in double}
    leaving_teachers = {c.responsible_login for c in double}
    rows: list[WantedUser] = []
    for user in state.users:
        school_class = state.class_by_id(user.class_id)
        target, target_class = Target.UNCHANGED, None
        if user.type is UserType.ADULT:
            if user.login in leaving_teachers:
                target = Target.LEAVES
        elif school_class is not None:
            levels = class_levels(school_class.name)
            if school_class.id in removed:
                target, target_class = Target.CLASS, "CM2"
            elif levels == ("CM2",):
                target = Target.LEAVES
            elif len(levels) == 1 and NEXT_LEVEL.get(levels[0]) in by_level:
                target, target_class = Target.CLASS, by_level[NEXT_LEVEL[levels[0]]].name
        rows.append(
            WantedUser(
                user.login, user.login, user.last_name, user.first_name, user.type, target, target_class
            )
        )
    row_number = len(rows) + 2
    teacher_key = new_person_key(row_number)
    rows.append(WantedUser(teacher_key, None, *NEW_TEACHER, UserType.ADULT, Target.UNCHANGED))
    new_pupils = list(NEW_PUPILS) + [
        (f"Nouveau{n:04d}", "Élève", "CP" if n % 2 else NEW_CLASS) for n in range(extra_new_pupils)
    ]
    for offset, (last_name, first_name, class_name) in enumerate(new_pupils, start=1):
        rows.append(
            WantedUser(
                new_person_key(row_number + offset),
                None,
                last_name,
                first_name,
                UserType.PUPIL,
                Target.CLASS,
                class_name,
            )
        )
    classes = [
        WantedClass(c.name, ClassStatus.DELETE if c.id in removed else ClassStatus.KEEP, c.responsible_login)
        for c in state.classes
    ]
    classes.append(WantedClass(NEW_CLASS, ClassStatus.CREATE, teacher_key))
    return WantedState(users=tuple(rows), classes=tuple(classes), export=export_of(state))


def fill_workbook(path: Path, wanted: WantedState, state: ServerState) -> None:
    """Type `wanted` into the exported workbook at `path`, as the secretary would."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    users, classes = workbook[vocabulary.USERS_SHEET], workbook[vocabulary.CLASSES_SHEET]
    user_columns = _columns(users)
    rows_by_login = _rows_by(users, user_columns[vocabulary.LOGIN])
    free_row = max(rows_by_login.values(), default=layout.FIRST_ROW - 1) + 1
    labels = {u.login: u.display_name for u in state.users}
    for row in wanted.users:
        target = LEAVES_SCHOOL if row.target is Target.LEAVES else (row.target_class or None)
        if row.login is not None:
            users.cell(rows_by_login[row.login], user_columns[vocabulary.TARGET_CLASS], target)
            continue
        for header, value in (
            (vocabulary.LAST_NAME, row.last_name),
            (vocabulary.FIRST_NAME, row.first_name),
            (vocabulary.TYPE, row.type.label),
            (vocabulary.TARGET_CLASS, target),
        ):
            users.cell(free_row, user_columns[header], value)
        labels[row.key] = display_name(row.first_name, row.last_name)
        free_row += 1
    class_columns = _columns(classes)
    rows_by_class = _rows_by(classes, class_columns[vocabulary.CLASS_NAME])
    free_row = max(rows_by_class.values(), default=layout.FIRST_ROW - 1) + 1
    for wanted_class in wanted.classes:
        row_number = rows_by_class.get(wanted_class.name)
        if row_number is None:
            row_number, free_row = free_row, free_row + 1
            classes.cell(row_number, class_columns[vocabulary.CLASS_NAME], wanted_class.name)
        classes.cell(row_number, class_columns[vocabulary.STATUS], wanted_class.status.value)
        if wanted_class.responsible:
            classes.cell(row_number, class_columns[vocabulary.RESPONSIBLE], labels[wanted_class.responsible])
    workbook.save(path)


def _columns(sheet: Any) -> dict[str, int]:
    return {
        str(sheet.cell(layout.HEADER_ROW, c).value): c
        for c in range(1, sheet.max_column + 1)
        if sheet.cell(layout.HEADER_ROW, c).value
    }


def _rows_by(sheet: Any, column: int) -> dict[Any, int]:
    """Row numbers by the value of `column`, for the rows where it is filled."""
    return {
        sheet.cell(r, column).value: r
        for r in range(layout.FIRST_ROW, sheet.max_row + 1)
        if sheet.cell(r, column).value
    }


DEMO_FILES = {
    "Dessins/chateau-fort.png": bytes(range(256)) * 24,
    "Dessins/Sortie au musée/affiche.pdf": b"%PDF-1.4\n% affiche\n" + bytes(2000),
    "Exposés/les volcans.odt": b"PK\x03\x04" + b"les volcans " * 300,
}
"""Pupils' work put in the folder of the class the demo removes (to show the archive)."""


def removed_class(state: ServerState) -> str | None:
    """The class the demo's rentrée removes (the double-level one), if the school has one."""
    double = [c.name for c in state.classes if len(class_levels(c.name)) > 1]
    return double[0] if double else None


def _demo_writes() -> frozenset[str]:
    """The files every demo writes under the same name (the dated copies and archives vary)."""
    reports = (
        f"{stem}.{kind}" for stem in (PLAN_REPORT_NAME, APPLY_REPORT_NAME) for kind in ("html", "xlsx")
    )
    route_sheet = (f"{ROUTE_SHEET_NAME}.{kind}" for kind in ("html", "pdf"))
    return frozenset(
        {
            *reports,
            *route_sheet,
            DEMO_WORKBOOK,
            JOURNAL_NAME,
            REPORT_NAME,
            HTML_NAME,
            PDF_NAME,
            STATE_BEFORE_NAME,
        }
    )


@dataclass(frozen=True)
class DemoFolder:
    """The demo's folder, and the files in it that are not the demo's (left as they are)."""

    path: Path
    others: frozenset[str]


def prepare_demo_folder(folder: Path) -> DemoFolder:
    """The demo's folder, without the files an earlier demo wrote there.

    Only the files the earlier demo listed in its marker, unchanged since, are removed; the
    others are left as they are. A folder that holds files and no marker is refused, and so is
    one where the demo would replace a file it did not write or that was changed since.
    """
    folder = folder.resolve()
    present = {p.name for p in folder.iterdir() if p.name != DEMO_MARKER} if folder.is_dir() else set()
    marker = folder / DEMO_MARKER
    if present and not marker.is_file():
        raise ReconcileError(
            f"Le dossier {folder} contient déjà des fichiers qui ne viennent pas de la démonstration : "
            "choisissez un autre dossier avec --dossier-sortie."
        )
    written = _read_marker(marker) if present else {}
    ours = {name for name in present if name in written and _digest(folder / name) == written[name]}
    in_the_way = sorted((present - ours) & (_demo_writes() | written.keys()))
    if in_the_way:
        raise ReconcileError(
            f"Le dossier {folder} contient des fichiers que la démonstration remplacerait mais qu'elle n'a "
            f"pas écrits, ou qui ont été modifiés depuis : {', '.join(in_the_way)}. Rien n'a été effacé ; "
            "déplacez ces fichiers, ou choisissez un autre dossier avec --dossier-sortie."
        )
    with writing_into(folder):
        for name in sorted(ours):
            (folder / name).unlink()
        make_private_folder(folder)
        marker.write_text("", encoding="utf-8")
    return DemoFolder(folder, frozenset(present - ours))


def record_demo_files(demo: DemoFolder) -> None:
    """List in the marker the files the demo wrote (with their digest), for the next demo to remove."""
    lines = [
        f"{_digest(path)} {path.name}"
        for path in sorted(demo.path.iterdir())
        if path.is_file() and path.name != DEMO_MARKER and path.name not in demo.others
    ]
    with writing_into(demo.path):
        (demo.path / DEMO_MARKER).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _read_marker(marker: Path) -> dict[str, str]:
    """name -> digest of the files an earlier demo wrote (none for a marker of an older version)."""
    written: dict[str, str] = {}
    for line in marker.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition(" ")
        if name:
            written[name] = digest
    return written


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


@dataclass(frozen=True)
class DemoRentree:
    """The demo's rentrée of a school, decided from the school as the server held it before."""

    school: ServerState

    @classmethod
    def of(cls, server: IntraScolServer) -> DemoRentree:
        """The rentrée of the school `server` holds now (read before anything is changed)."""
        return cls(server.read_state())

    @property
    def removed_class(self) -> str | None:
        """The class the rentrée removes (the double-level one), if the school has one."""
        return removed_class(self.school)

    @property
    def pupils_work(self) -> dict[str, bytes]:
        """The files to put in the removed class's work folder first, so the run archives them."""
        return dict(DEMO_FILES) if self.removed_class else {}

    def fill(self, workbook: Path) -> None:
        """Type the rentrée into the workbook exported from the school, as the secretary would."""
        fill_workbook(workbook, rentree(self.school), self.school)
