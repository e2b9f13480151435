"""The workbook's layout: sheet names, header texts, styles, and the template built from them.

The sheet names and header texts are a promise to users (scripts rely on them, never
on column positions). `build_template()` makes `adapters/templates/rentree_template.xlsx`
(`scripts/make_template.py` saves it); the writer fills a copy of that file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.core.vocabulary import (
    CLASS_NAME,
    CLASSES_HEADERS,
    CLASSES_SHEET,
    CURRENT_CLASS,
    EXPORT_SHEET,
    FIRST_NAME,
    LAST_NAME,
    LEAVES_SCHOOL,
    LISTS_SHEET,
    LOGIN,
    README_SHEET,
    REMARKS,
    RESPONSIBLE,
    SIZE,
    STATUS,
    TARGET_CLASS,
    TYPE,
    USERS_HEADERS,
    USERS_SHEET,
)

TEMPLATE_VERSION = "2"  # 2: the hidden sheet stores each class's responsible
TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "templates" / "rentree_template.xlsx"

README_WIDTH = 72  # fits a portrait A4 page at 100 % (Calc does not scale this sheet down)
README_CHARS_PER_LINE = 85

MAX_WIDTH = 40  # a column widened to its longest text stops there

HEADER_ROW = 3  # under a title banner (row 1) and an instructions banner (row 2)
FIRST_ROW = HEADER_ROW + 1
HEADER_SEARCH_ROWS = 10  # the reader looks for the header row this far down

# The hidden sheet's keys (column A) and the tables beside them.
META_KEYS = ("server_url", "school", "exported_at", "tool_version", "template_version", "fingerprint")
META_USERS_COLUMN = 4  # D..H: login, last name, first name, type, class
META_USERS_HEADERS = ("login", "last_name", "first_name", "type", "class_name")
META_CLASSES_COLUMN = 10  # J: class names
META_RESPONSIBLES_COLUMN = 11  # K: each class's responsible login, beside its name (since version 2)

# Named ranges feeding the dropdowns (a class typed into `Classes` joins the list).
TARGET_CHOICES = "ChoixClasseCible"
TEACHER_CHOICES = "ChoixEnseignant"

# Empty editable rows prepared under the data, so that protection lets rows be added.
USERS_SPARE_ROWS = 200
CLASSES_SPARE_ROWS = 30
TEMPLATE_ROWS = 100  # the extent of validations in the bare template (the writer resizes them)

STYLE_TITLE = "reconcile titre"
STYLE_NOTE = "reconcile consigne"
STYLE_HEADER = "reconcile en-tête"
STYLE_SERVER = "reconcile serveur"  # what the server said: locked, greyed
STYLE_INPUT = "reconcile saisie"  # what the secretary fills: unlocked
STYLE_SPARE = "reconcile ligne libre"  # rows prepared for additions: unlocked, invisible (not printed)
STYLE_KEY_INPUT = "reconcile saisie clé"  # the column that matters most: Classe cible, Statut
STYLE_KEY_HEADER = "reconcile en-tête clé"
# Arial is on every Windows and Mac; LibreOffice on Linux maps it to Liberation Sans (same metrics).
FONT = "Arial"
STYLE_README_TITLE = "reconcile lisez-moi titre"
STYLE_README_HEADING = "reconcile lisez-moi section"
STYLE_README_TEXT = "reconcile lisez-moi texte"

# One pastel band per class, in turn.
BAND_COLOURS = ("FFF2CC", "E2EFDA", "DDEBF7", "FCE4D6", "EDE1F5", "D9F2F2")


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    width: float
    read_only: bool = False
    key: bool = False  # highlighted: what the secretary mostly fills

    @property
    def input_style(self) -> str:
        return STYLE_KEY_INPUT if self.key else STYLE_INPUT


USERS_COLUMNS = (
    Column(LOGIN, 16, read_only=True),
    Column(LAST_NAME, 22),
    Column(FIRST_NAME, 20),
    Column(TYPE, 10),
    Column(CURRENT_CLASS, 16, read_only=True),
    Column(TARGET_CLASS, 20, key=True),
    Column(REMARKS, 40),
)
CLASSES_COLUMNS = (
    Column(CLASS_NAME, 22),
    Column(RESPONSIBLE, 34),
    Column(STATUS, 14, key=True),
    Column(SIZE, 16, read_only=True),
)

USERS_TITLE = "Rentrée : les utilisateurs du serveur IntraScol"
USERS_NOTE = (
    "Remplissez la colonne « Classe cible » (liste déroulante) ; « Quitte l'école » supprime le compte ; "
    "vide = rien ne change. Nouvel élève ou adulte : une ligne en bas, Identifiant vide. "
    "Les colonnes grises viennent du serveur. Mode d'emploi : onglet « Lisez-moi »."
)
CLASSES_TITLE = "Rentrée : les classes"
CLASSES_NOTE = (
    "Statut : « Conserver » ou « Supprimer ». Nouvelle classe : une ligne en bas avec son nom, "
    "son enseignant responsable (identifiant ou « Prénom NOM », même ajouté dans Utilisateurs) "
    "et le Statut vide ou « Créer »."
)

README_LINES: tuple[tuple[str, str], ...] = (
    (STYLE_README_TITLE, "Rentrée IntraScol : mode d'emploi de ce classeur"),
    (
        STYLE_README_TEXT,
        "Ce classeur vient de « reconcile export » : une ligne par compte du serveur IntraScol. "
        "Il ne contient aucun mot de passe.",
    ),
    (STYLE_README_HEADING, "Ce que vous remplissez"),
    (
        STYLE_README_TEXT,
        "1. Onglet « Utilisateurs », colonne « Classe cible » : la classe de chaque élève cette année "
        "(liste déroulante). Laissez vide si rien ne change. « Quitte l'école » supprime le compte "
        "d'un élève ou d'un adulte qui part.",
    ),
    (
        STYLE_README_TEXT,
        "2. Une personne qui arrive : ajoutez une ligne en bas de « Utilisateurs », Identifiant vide, "
        "avec Nom, Prénom, Type (Élève si vide, ou Adulte) et Classe cible. "
        "Le serveur créera son identifiant.",
    ),
    (
        STYLE_README_TEXT,
        "3. Onglet « Classes » : Statut « Conserver » ou « Supprimer » pour chaque classe. "
        "Nouvelle classe : une ligne en bas avec son nom, son enseignant responsable (identifiant ou "
        "« Prénom NOM », y compris un adulte ajouté dans Utilisateurs) et le Statut vide ou « Créer ». "
        "Enseignant responsable vide = on garde l'enseignant actuel.",
    ),
    (
        STYLE_README_TEXT,
        "Les colonnes grises (Identifiant, Classe actuelle, Effectif actuel) viennent du serveur : "
        "n'y touchez pas. Effacer une ligne ne supprime personne : seul « Quitte l'école » le fait.",
    ),
    (STYLE_README_HEADING, "Exemple"),
    (
        STYLE_README_TEXT,
        "Léa MARTIN, Classe actuelle CE1 : Classe cible « CE2 », elle passe en CE2. "
        "Tom DURAND, Classe actuelle CM2 : Classe cible « Quitte l'école », son compte est supprimé. "
        "Nouvelle ligne : Identifiant vide, Nom PETIT, Prénom Zoé, Type Élève, Classe cible « CP » : "
        "son compte est créé dans la classe CP.",
    ),
    (STYLE_README_HEADING, "Ce que fera l'outil, dans cet ordre"),
    (
        STYLE_README_TEXT,
        "1. Ajustement des classes : nouveaux enseignants, nouvelles classes, changements "
        "d'enseignant responsable.",
    ),
    (STYLE_README_TEXT, "2. Suppression des comptes marqués « Quitte l'école »."),
    (
        STYLE_README_TEXT,
        "3. Création des nouveaux comptes, inscription des nouveaux élèves dans leur classe.",
    ),
    (
        STYLE_README_TEXT,
        "4. Répartition des élèves dans leur classe cible, du plus grand niveau (CM2) au plus petit.",
    ),
    (STYLE_README_TEXT, "5. Suppression des classes marquées « Supprimer »."),
    (STYLE_README_HEADING, "Rien ne se passe sans que vous l'ayez vu"),
    (
        STYLE_README_TEXT,
        "« reconcile plan rentree.xlsx » lit ce classeur, signale les erreurs (onglet, ligne) et montre "
        "chaque opération dans un rapport à relire et imprimer, sans rien modifier. Seul "
        "« reconcile apply rentree.xlsx » applique le plan, après votre confirmation.",
    ),
)

_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def named_styles() -> tuple[NamedStyle, ...]:
    """The cell styles the template carries and the writer applies by name."""
    return (
        NamedStyle(
            STYLE_TITLE,
            font=Font(name=FONT, bold=True, size=14, color="FFFFFF"),
            fill=PatternFill("solid", fgColor="1F4E79"),
            alignment=Alignment(vertical="center"),
        ),
        NamedStyle(
            STYLE_NOTE,
            font=Font(name=FONT, italic=True, size=10, color="1F3864"),
            fill=PatternFill("solid", fgColor="DDEBF7"),
            alignment=Alignment(wrap_text=True, vertical="center"),
        ),
        NamedStyle(
            STYLE_HEADER,
            font=Font(name=FONT, bold=True, size=11, color="FFFFFF"),
            fill=PatternFill("solid", fgColor="2F5597"),
            border=_BORDER,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        ),
        NamedStyle(
            STYLE_SERVER,
            font=Font(name=FONT, size=10, color="404040"),
            fill=PatternFill("solid", fgColor="D9D9D9"),
            border=_BORDER,
            protection=Protection(locked=True),
        ),
        NamedStyle(
            STYLE_INPUT, font=Font(name=FONT, size=10), border=_BORDER, protection=Protection(locked=False)
        ),
        NamedStyle(STYLE_SPARE, font=Font(name=FONT, size=10), protection=Protection(locked=False)),
        NamedStyle(
            STYLE_KEY_INPUT,
            font=Font(name=FONT, size=10, bold=True, color="833C0B"),
            border=_BORDER,
            protection=Protection(locked=False),
        ),
        NamedStyle(
            STYLE_KEY_HEADER,
            font=Font(name=FONT, bold=True, size=11, color="FFFFFF"),
            fill=PatternFill("solid", fgColor="C55A11"),
            border=_BORDER,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        ),
        NamedStyle(STYLE_README_TITLE, font=Font(name=FONT, bold=True, size=16, color="1F4E79")),
        NamedStyle(STYLE_README_HEADING, font=Font(name=FONT, bold=True, size=12, color="2F5597")),
        NamedStyle(
            STYLE_README_TEXT,
            font=Font(name=FONT, size=11),
            alignment=Alignment(wrap_text=True, vertical="top"),
        ),
    )


def column_letter(index: int) -> str:
    """1 -> A; the sheets are narrow, so one letter is enough."""
    return chr(ord("A") + index - 1)


def users_column(header: str) -> str:
    return column_letter(USERS_HEADERS.index(header) + 1)


def classes_column(header: str) -> str:
    return column_letter(CLASSES_HEADERS.index(header) + 1)


def _list_validation(
    column: str,
    first: int,
    last: int,
    choices: str,
    *,
    error_style: Literal["stop", "warning"] | None = None,
    error_title: str | None = None,
    error: str | None = None,
    prompt_title: str | None = None,
    prompt: str | None = None,
) -> DataValidation:
    """A drop-down list on rows `first`..`last` of `column`, blank allowed; the error shows
    (and refuses or warns by `error_style`) only when given, and so does the prompt."""
    validation = DataValidation(
        type="list",
        formula1=choices,
        allow_blank=True,
        showErrorMessage=error is not None,
        errorStyle=error_style,
        errorTitle=error_title,
        error=error,
        showInputMessage=prompt is not None,
        promptTitle=prompt_title,
        prompt=prompt,
    )
    validation.add(f"{column}{first}:{column}{last}")
    return validation


def target_validation(first: int, last: int) -> DataValidation:
    return _list_validation(
        users_column(TARGET_CLASS),
        first,
        last,
        TARGET_CHOICES,
        error_style="warning",
        error_title="Classe inconnue",
        error=(
            "Cette classe n'est pas dans l'onglet Classes. Ajoutez-la d'abord dans l'onglet Classes, "
            f"ou choisissez « {LEAVES_SCHOOL} »."
        ),
        prompt_title="Classe cible",
        prompt=f"Une classe de l'onglet Classes, « {LEAVES_SCHOOL} », ou vide (rien ne change).",
    )


def type_validation(first: int, last: int) -> DataValidation:
    return _list_validation(
        users_column(TYPE),
        first,
        last,
        '"Élève,Adulte"',
        error_style="stop",
        error_title="Type inconnu",
        error="Le type est Élève ou Adulte.",
    )


def status_validation(first: int, last: int) -> DataValidation:
    return _list_validation(
        classes_column(STATUS),
        first,
        last,
        '"Conserver,Supprimer,Créer"',
        error_style="stop",
        error_title="Statut inconnu",
        error="Le statut est Conserver ou Supprimer (Créer, ou vide, pour une nouvelle classe).",
    )


def teacher_validation(first: int, last: int) -> DataValidation:
    # No error: a teacher added as a new row of Utilisateurs is not in the list, it may be typed.
    return _list_validation(
        classes_column(RESPONSIBLE),
        first,
        last,
        TEACHER_CHOICES,
        prompt_title="Enseignant responsable",
        prompt="Un adulte : identifiant ou « Prénom NOM ». Vide = on garde l'enseignant actuel.",
    )


def target_choices_reference(class_rows_end: int) -> str:
    """`Quitte l'école` then one formula per Classes row, cut at the last class typed."""
    classes_col = classes_column(CLASS_NAME)
    return (
        f"OFFSET('{LISTS_SHEET}'!$A$1,0,0,1+COUNTA('{CLASSES_SHEET}'!${classes_col}${FIRST_ROW}"
        f":${classes_col}${class_rows_end}),1)"
    )


def teacher_choices_reference(count: int) -> str:
    return f"'{LISTS_SHEET}'!$B$1:$B${max(count, 1)}"


def list_formula(classes_row: int) -> str:
    """The `Listes` cell mirroring one row of the Classes sheet's class column."""
    ref = f"'{CLASSES_SHEET}'!{classes_column(CLASS_NAME)}{classes_row}"
    return f'=IF({ref}="","",{ref})'


def protect(sheet: Worksheet) -> None:
    """Lock the server's cells but let the secretary add rows, format, sort and filter."""
    protection = sheet.protection
    protection.sheet = True
    protection.insertRows = False
    protection.deleteRows = False
    protection.formatCells = False
    protection.formatColumns = False
    protection.formatRows = False
    protection.sort = False
    protection.autoFilter = False
    protection.selectLockedCells = False
    protection.selectUnlockedCells = False


def _banner(sheet: Worksheet, width: int, title: str, note: str) -> None:
    last = column_letter(width)
    sheet.merge_cells(f"A1:{last}1")
    sheet.merge_cells(f"A2:{last}2")
    sheet["A1"] = title
    sheet["A2"] = note
    # A merged range shows its first cell's style.
    sheet["A1"].style = STYLE_TITLE
    sheet["A2"].style = STYLE_NOTE
    sheet.row_dimensions[1].height = 26
    sheet.row_dimensions[2].height = 44


def _table_sheet(sheet: Worksheet, columns: tuple[Column, ...], title: str, note: str) -> None:
    _banner(sheet, len(columns), title, note)
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(HEADER_ROW, index, column.header)
        cell.style = STYLE_KEY_HEADER if column.key else STYLE_HEADER
        sheet.column_dimensions[column_letter(index)].width = column.width
    sheet.row_dimensions[HEADER_ROW].height = 22
    sheet.freeze_panes = f"A{FIRST_ROW}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = 0.5
    sheet.page_margins.bottom = 0.8
    sheet.page_margins.footer = 0.3
    footer = sheet.oddFooter
    assert footer is not None
    assert footer.center is not None
    assert footer.left is not None
    footer.center.text = "Page &P / &N"
    footer.left.text = "&A"
    protect(sheet)


def build_template() -> Workbook:
    """The template, deterministically: same code, same cells, styles and validations."""
    workbook = Workbook()
    for style in named_styles():
        workbook.add_named_style(style)

    users = workbook.active
    assert users is not None
    users.title = USERS_SHEET
    _table_sheet(users, USERS_COLUMNS, USERS_TITLE, USERS_NOTE)
    last = FIRST_ROW + TEMPLATE_ROWS - 1
    users.add_data_validation(type_validation(FIRST_ROW, last))
    users.add_data_validation(target_validation(FIRST_ROW, last))
    users.auto_filter.ref = f"A{HEADER_ROW}:{column_letter(len(USERS_COLUMNS))}{HEADER_ROW}"

    classes = workbook.create_sheet(CLASSES_SHEET)
    _table_sheet(classes, CLASSES_COLUMNS, CLASSES_TITLE, CLASSES_NOTE)
    classes.add_data_validation(teacher_validation(FIRST_ROW, last))
    classes.add_data_validation(status_validation(FIRST_ROW, last))

    readme = workbook.create_sheet(README_SHEET)
    readme.column_dimensions["A"].width = README_WIDTH
    for row, (style_name, text) in enumerate(README_LINES, start=1):
        cell = readme.cell(row, 1, text)
        cell.style = style_name
        if style_name == STYLE_README_TEXT:
            # Wrapped text does not grow rows by itself in every program: size them.
            readme.row_dimensions[row].height = 15 * -(-len(text) // README_CHARS_PER_LINE) + 3
        else:
            readme.row_dimensions[row].height = 24
    readme.page_setup.orientation = "portrait"
    readme.page_setup.paperSize = readme.PAPERSIZE_A4
    readme.page_margins.left = readme.page_margins.right = 0.5
    readme.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    readme.page_setup.fitToWidth = 1
    readme.page_setup.fitToHeight = 0
    readme.protection.sheet = True

    lists = workbook.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    lists["A1"] = LEAVES_SCHOOL
    lists.protection.sheet = True
    workbook.defined_names[TARGET_CHOICES] = DefinedName(
        TARGET_CHOICES, attr_text=target_choices_reference(last)
    )
    workbook.defined_names[TEACHER_CHOICES] = DefinedName(
        TEACHER_CHOICES, attr_text=teacher_choices_reference(1)
    )

    export = workbook.create_sheet(EXPORT_SHEET)
    export.sheet_state = "hidden"
    for row, key in enumerate(META_KEYS, start=1):
        export.cell(row, 1, key)
    export.cell(META_KEYS.index("template_version") + 1, 2, TEMPLATE_VERSION)
    for offset, header in enumerate(META_USERS_HEADERS):
        export.cell(1, META_USERS_COLUMN + offset, header)
    export.cell(1, META_CLASSES_COLUMN, "class_names")
    export.cell(1, META_RESPONSIBLES_COLUMN, "class_responsibles")
    export.protection.sheet = True

    # Fixed document dates: regenerating the template changes nothing but zip timestamps.
    fixed = datetime(2026, 9, 1, 8, 0, 0)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    workbook.properties.creator = "reconcile"
    workbook.properties.title = "Rentrée IntraScol"
    return workbook
