"""The hidden sheet of the export: what the server held when the workbook was written.

Written by the writer, read back by the reader: the plan compares the edits with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

from reconcile import __version__
from reconcile.adapters.workbook import layout
from reconcile.adapters.workbook.sheets import cell_text, put_styled_text, put_text, text_style
from reconcile.core.model import ExportedUser, ExportInfo, ServerState, UserType, class_reading_key


def write_export_info(sheet: Worksheet, state: ServerState, server_url: str, exported_at: datetime) -> None:
    """The record of `state`: keys and values in columns A-B, the users' and classes' tables beside."""
    info = ExportInfo.of_state(
        state,
        server_url=server_url,
        exported_at=exported_at.isoformat(timespec="seconds"),
        tool_version=__version__,
        template_version=layout.TEMPLATE_VERSION,
    )
    for row, key in enumerate(layout.META_KEYS, start=1):
        put_text(sheet.cell(row, 2), getattr(info, key))
    text = text_style(sheet)  # put_text's « Texte » format, prepared once for the thousands of cells below
    for row, user in enumerate(sorted(info.users, key=lambda u: u.login), start=2):
        fields = (user.login, user.last_name, user.first_name, user.type.value, user.class_name)
        for offset, value in enumerate(fields):
            put_styled_text(sheet, row, layout.META_USERS_COLUMN + offset, value, text)
    classes = sorted(info.class_responsibles, key=lambda pair: class_reading_key(pair[0]))
    for row, (class_name, responsible) in enumerate(classes, start=2):
        put_text(sheet.cell(row, layout.META_CLASSES_COLUMN), class_name)
        put_text(sheet.cell(row, layout.META_RESPONSIBLES_COLUMN), responsible)


def read_export_info(sheet_rows: Iterable[Sequence[Any]]) -> ExportInfo:
    """The export's record, as `write_export_info` left it (a version 1 sheet has no responsibles).

    `sheet_rows`: the sheet's values row by row from row 1, as `iter_rows(values_only=True)`.
    """
    rows = [[cell_text(v) for v in row] for row in sheet_rows]

    def cell(row: int, column: int) -> str:
        return rows[row][column - 1] if row < len(rows) and column - 1 < len(rows[row]) else ""

    meta = {cell(r, 1): cell(r, 2) for r in range(len(rows)) if cell(r, 1)}
    exported: list[ExportedUser] = []
    for r in range(1, len(rows)):
        login = cell(r, layout.META_USERS_COLUMN)
        if not login:
            continue
        kind = (
            UserType.ADULT
            if cell(r, layout.META_USERS_COLUMN + 3) == UserType.ADULT.value
            else UserType.PUPIL
        )
        exported.append(
            ExportedUser(
                login=login,
                last_name=cell(r, layout.META_USERS_COLUMN + 1),
                first_name=cell(r, layout.META_USERS_COLUMN + 2),
                type=kind,
                class_name=cell(r, layout.META_USERS_COLUMN + 4) or None,
            )
        )
    class_names = tuple(n for r in range(1, len(rows)) if (n := cell(r, layout.META_CLASSES_COLUMN)))
    # Absent from a workbook of template version 1: then the responsibles are not known.
    class_responsibles = tuple(
        (name, login)
        for r in range(1, len(rows))
        if (name := cell(r, layout.META_CLASSES_COLUMN))
        and (login := cell(r, layout.META_RESPONSIBLES_COLUMN))
    )
    return ExportInfo(
        server_url=meta.get("server_url", ""),
        school=meta.get("school", ""),
        exported_at=meta.get("exported_at", ""),
        tool_version=meta.get("tool_version", ""),
        template_version=meta.get("template_version", ""),
        fingerprint=meta.get("fingerprint", ""),
        users=tuple(exported),
        class_names=class_names,
        class_responsibles=class_responsibles,
    )
