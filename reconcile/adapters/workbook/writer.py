"""Write the rentrée workbook from the server state, into a copy of the template."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.styles import PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.adapters.files import PRIVATE_MODE, writing_into
from reconcile.adapters.workbook import layout
from reconcile.adapters.workbook.export_sheet import write_export_info
from reconcile.adapters.workbook.sheets import put_styled_text, put_text, save_workbook, text_style
from reconcile.core import vocabulary
from reconcile.core.model import (
    SchoolClass,
    ServerState,
    User,
    UserType,
    class_reading_key,
    export_row_key,
    fold,
    user_order,
)


def sorted_classes(state: ServerState) -> list[SchoolClass]:
    return sorted(state.classes, key=lambda c: class_reading_key(c.name))


def sorted_users(state: ServerState) -> list[User]:
    """By class (in the reading order, users in no class last), then by name."""
    return sorted(state.users, key=lambda u: export_row_key(state.class_name_of(u), u, u.login))


def teacher_labels(users: Iterable[User]) -> dict[str, str]:
    """Login -> what the workbook shows for an adult: `Prénom NOM`, with the login for homonyms."""
    adults = [u for u in users if u.type is UserType.ADULT]
    counts: dict[str, int] = {}
    for adult in adults:
        counts[fold(adult.display_name)] = counts.get(fold(adult.display_name), 0) + 1
    return {
        a.login: a.display_name if counts[fold(a.display_name)] == 1 else f"{a.display_name} ({a.login})"
        for a in adults
    }


def write_workbook(
    state: ServerState,
    path: str | os.PathLike[str],
    *,
    server_url: str,
    exported_at: datetime,
    mode: int = PRIVATE_MODE,
) -> None:
    """Write the workbook of `state` at `path` (replaced atomically). It holds no password, but it
    names pupils: readable by its owner only (0600) unless `mode` says otherwise."""
    workbook = load_workbook(layout.TEMPLATE_PATH)
    classes = sorted_classes(state)
    users = sorted_users(state)
    labels = teacher_labels(state.users)
    when = exported_at.strftime("%d/%m/%Y à %H:%M")
    school = state.school or "l'école"

    users_sheet = workbook[vocabulary.USERS_SHEET]
    put_text(users_sheet["A1"], f"{layout.USERS_TITLE} — {school} — export du {when}")
    users_last = _write_users(users_sheet, state, users, classes)

    classes_sheet = workbook[vocabulary.CLASSES_SHEET]
    put_text(classes_sheet["A1"], f"{layout.CLASSES_TITLE} — {school} — export du {when}")
    classes_last = _write_classes(classes_sheet, classes, labels)

    _write_lists(
        workbook[vocabulary.LISTS_SHEET], classes_last, [labels[login] for login in _adult_order(users)]
    )
    workbook.defined_names[layout.TARGET_CHOICES] = DefinedName(
        layout.TARGET_CHOICES, attr_text=layout.target_choices_reference(classes_last)
    )
    workbook.defined_names[layout.TEACHER_CHOICES] = DefinedName(
        layout.TEACHER_CHOICES, attr_text=layout.teacher_choices_reference(len(labels))
    )
    _resize_validations(users_sheet, users_last)
    _resize_validations(classes_sheet, classes_last)
    users_sheet.auto_filter.ref = (
        f"A{layout.HEADER_ROW}:{layout.column_letter(len(layout.USERS_COLUMNS))}{users_last}"
    )
    write_export_info(workbook[vocabulary.EXPORT_SHEET], state, server_url, exported_at)

    workbook.properties.created = exported_at.replace(tzinfo=None)
    workbook.properties.modified = exported_at.replace(tzinfo=None)
    with writing_into(Path(path).resolve().parent):
        save_workbook(workbook, Path(path), mode=mode)


def _adult_order(users: list[User]) -> list[str]:
    adults = [u for u in users if u.type is UserType.ADULT]
    return [u.login for u in sorted(adults, key=user_order)]


def _write_users(sheet: Worksheet, state: ServerState, users: list[User], classes: list[SchoolClass]) -> int:
    band_of = {c.id: i % len(layout.BAND_COLOURS) for i, c in enumerate(classes)}
    columns = layout.USERS_COLUMNS
    styles: dict[tuple[str, int | None], StyleArray] = {}

    def style(name: str, band: int | None) -> StyleArray:
        # Prepared when first used, as each cell's style was built: styles.xml lists them in that order.
        if (name, band) not in styles:
            fill = None if band is None else PatternFill("solid", fgColor=layout.BAND_COLOURS[band])
            styles[name, band] = text_style(sheet, name, fill)
        return styles[name, band]

    longest = [0] * len(columns)
    row = layout.FIRST_ROW
    for user in users:
        values = {
            vocabulary.LOGIN: user.login,
            vocabulary.LAST_NAME: user.last_name,
            vocabulary.FIRST_NAME: user.first_name,
            vocabulary.TYPE: user.type.label,
            vocabulary.CURRENT_CLASS: state.class_name_of(user),
        }
        band = band_of.get(user.class_id) if user.class_id is not None else None
        for index, column in enumerate(columns):
            kind = style(layout.STYLE_SERVER, None) if column.read_only else style(column.input_style, band)
            written = put_styled_text(sheet, row, index + 1, values.get(column.header), kind)
            longest[index] = max(longest[index], len(written))
        row += 1
    _widen(sheet, columns, longest)
    last = row + layout.USERS_SPARE_ROWS - 1
    for spare in range(row, last + 1):
        for index, column in enumerate(columns, start=1):
            if not column.read_only:  # read-only columns stay locked: a new row has no Identifiant
                # « Texte »: what is typed stays text
                put_styled_text(sheet, spare, index, None, style(layout.STYLE_SPARE, None))
    return last


def _write_classes(sheet: Worksheet, classes: list[SchoolClass], labels: dict[str, str]) -> int:
    row = layout.FIRST_ROW
    for index, school_class in enumerate(classes):
        band = PatternFill("solid", fgColor=layout.BAND_COLOURS[index % len(layout.BAND_COLOURS)])
        responsible = labels.get(school_class.responsible_login, school_class.responsible_login)
        cells = (
            (school_class.name, layout.STYLE_SERVER),
            (responsible, layout.STYLE_INPUT),
            ("Conserver", layout.STYLE_KEY_INPUT),
            (None, layout.STYLE_SERVER),
        )
        for col, (text, style) in enumerate(cells, start=1):
            cell = sheet.cell(row, col)
            cell.style = style
            if col != 4:  # Effectif is a number
                put_text(cell, text)
            if style != layout.STYLE_SERVER:
                cell.fill = band
        sheet.cell(row, 4).value = school_class.size
        row += 1
    _widen(sheet, layout.CLASSES_COLUMNS, _longest(sheet, len(layout.CLASSES_COLUMNS), row - 1))
    last = row + layout.CLASSES_SPARE_ROWS - 1
    for spare in range(row, last + 1):
        for col, column in enumerate(layout.CLASSES_COLUMNS, start=1):
            if not column.read_only:
                sheet.cell(spare, col).style = layout.STYLE_SPARE
                put_text(sheet.cell(spare, col), None)
    return last


def _longest(sheet: Worksheet, width: int, last: int) -> list[int]:
    """The length of each column's longest text, from the first data row to `last`."""
    rows = range(layout.FIRST_ROW, last + 1)
    return [
        max((len(str(sheet.cell(r, index).value or "")) for r in rows), default=0)
        for index in range(1, width + 1)
    ]


def _widen(sheet: Worksheet, columns: tuple[layout.Column, ...], longest: list[int]) -> None:
    """Widen a column to its longest text (a long login or name), within reason."""
    for index, column in enumerate(columns, start=1):
        wanted = min(longest[index - 1] * 1.1 + 2, layout.MAX_WIDTH)
        letter = layout.column_letter(index)
        if wanted > column.width:
            sheet.column_dimensions[letter].width = wanted


def _write_lists(sheet: Worksheet, classes_last: int, teachers: list[str]) -> None:
    for offset, classes_row in enumerate(range(layout.FIRST_ROW, classes_last + 1)):
        sheet.cell(2 + offset, 1).value = layout.list_formula(classes_row)
    for row, label in enumerate(teachers, start=1):
        put_text(sheet.cell(row, 2), label)


def _resize_validations(sheet: Worksheet, last: int) -> None:
    """Stretch each column's dropdown over the data and the spare rows."""
    for validation in sheet.data_validations.dataValidation:
        column = str(validation.sqref).split(":")[0].rstrip("0123456789")
        validation.sqref = type(validation.sqref)(f"{column}{layout.FIRST_ROW}:{column}{last}")
