"""Printable class lists: one page per class with each pupil's login and password.

"Profitez-en pour imprimer les listes des utilisateurs à afficher près des
ordinateurs" (the manual procedure). Built from a `ServerState` (the admin list
shows pupils' passwords), written as HTML with a print stylesheet and, when a
Unicode font is installed (DejaVu, Debian package `fonts-dejavu-core`), as a PDF
too. Both files hold passwords: they are created with mode 0600.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from reconcile.adapters.files import write_private_bytes, write_private_text, writing_into
from reconcile.adapters.reports.pdf_sheet import (
    LEFT,
    MM,
    PAD,
    WIDTH,
    PdfSheet,
    find_unicode_fonts,
)
from reconcile.core.errors import UnknownClass
from reconcile.core.model import (
    SchoolClass,
    ServerState,
    User,
    UserType,
    class_reading_key,
    user_order,
)
from reconcile.core.wording import french_date

LISTS_STEM = "listes-classes"
HTML_NAME = f"{LISTS_STEM}.html"
PDF_NAME = f"{LISTS_STEM}.pdf"
_LONGEST_STEM = 80  # past it, the classes chosen are counted in the name instead of listed


@dataclass(frozen=True, slots=True)
class ClassList:
    """One page: a class, its teacher, its pupils sorted by name."""

    name: str
    teacher: str
    pupils: tuple[User, ...]

    @property
    def layout(self) -> str:
        """CSS classes of the page (row heights by class size)."""
        return _layout(self.pupils)

    @property
    def scale(self) -> float:
        """Type scale of the page, so that the table fits the sheet's width."""
        return _scale(self.pupils)


@dataclass(frozen=True, slots=True)
class ClassLists:
    """Every page to print, and the pupils in no class (`classe : aucune`)."""

    school: str
    generated_at: datetime
    classes: tuple[ClassList, ...]
    without_class: tuple[User, ...]

    @property
    def without_class_layout(self) -> str:
        return _layout(self.without_class)

    @property
    def without_class_scale(self) -> float:
        return _scale(self.without_class)

    @property
    def pupil_count(self) -> int:
        return sum(len(c.pupils) for c in self.classes) + len(self.without_class)


@dataclass(frozen=True, slots=True)
class ClassListFiles:
    """Where the lists were written (the PDF is None without a Unicode font)."""

    html: Path
    pdf: Path | None
    classes: int
    pupils: int


def build_class_lists(
    state: ServerState,
    class_names: Sequence[str] | None = None,
    *,
    generated_at: datetime | None = None,
) -> ClassLists:
    """The lists of every class (lowest level first), or of the classes named.

    Class names are matched regardless of case; an unknown name raises
    `UnknownClass`. The page of pupils in no class comes only with every class.
    Adults are never in a class on IntraScol, so they are not listed.
    """
    if class_names:
        chosen: list[SchoolClass] = []
        for name in class_names:
            found = state.class_by_name(name)
            if found is None:
                raise UnknownClass(name, [c.name for c in _sorted_classes(state)])
            if found not in chosen:
                chosen.append(found)
        classes = chosen
    else:
        classes = _sorted_classes(state)
    lists = tuple(
        ClassList(
            name=school_class.name,
            teacher=_teacher_name(state, school_class.responsible_login, school_class.responsible_name),
            pupils=_sorted_pupils(state.members(school_class.id)),
        )
        for school_class in classes
    )
    without_class: tuple[User, ...] = ()
    if not class_names:
        known_ids = {c.id for c in state.classes}
        without_class = _sorted_pupils(
            u for u in state.users if u.type is UserType.PUPIL and u.class_id not in known_ids
        )
    return ClassLists(
        school=state.school,
        generated_at=generated_at or datetime.now(),
        classes=lists,
        without_class=without_class,
    )


def render_html(lists: ClassLists) -> str:
    """The HTML page: one `section.page` per class, a page break between them."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reconcile.adapters", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("listes-classes.html.j2")
    return template.render(lists=lists, date_text=french_date(lists.generated_at))


_HEADINGS = ("Nom", "Prénom", "Identifiant", "Mot de passe")
# The table's columns: font, and points added to the page's type size.
_PDF_COLUMNS = (("sans-bold", 0.0), ("sans", 0.0), ("mono", 1.0), ("mono-bold", 1.0))


def render_pdf(lists: ClassLists, fonts: dict[str, Path] | None = None) -> bytes | None:
    """The same pages as a PDF (A4), or None when no Unicode font is installed.

    Drawn with ReportLab's canvas (fpdf2 cost seconds per thousand pupils); a text too
    long for its place is cut, ending in « … », never wrapped past the sheet.
    """
    fonts = fonts or find_unicode_fonts()
    if fonts is None:
        return None
    sheet = PdfSheet(fonts, f"Listes de classes — {lists.school}")
    pages = [(c.name, f"Enseignant·e : {c.teacher or 'non renseigné'}", c.pupils) for c in lists.classes]
    if lists.without_class:
        pages.append(("Élèves sans classe", "Sur le serveur, « classe : aucune ».", lists.without_class))
    date_text = french_date(lists.generated_at)
    for title, subtitle, pupils in pages:
        sheet.new_page()
        half = WIDTH / 2
        sheet.text(LEFT, half, 6, lists.school, "sans", 10, color=(68, 68, 68))
        sheet.text(LEFT + half, half, 6, date_text, "sans", 10, color=(68, 68, 68), right=True)
        sheet.down(6)
        sheet.paragraph(title, "sans-bold", 30, 13)
        sheet.paragraph(subtitle, "sans", 14, 8)
        sheet.down(3)
        if not pupils:
            sheet.text(LEFT, WIDTH, 8, "Aucun élève dans cette classe.", "sans", 13)
            continue
        _pdf_table(sheet, pupils)
        sheet.down(2)
        count = len(pupils)
        sheet.text(LEFT, WIDTH, 5, f"{count} élève{'s' if count > 1 else ''}", "sans", 9)
    return sheet.finish()


def _pdf_table(sheet: PdfSheet, pupils: Sequence[User]) -> None:
    """The pupils' table: a coloured heading (repeated on a new sheet), shaded rows, lines between."""
    layout = _layout(pupils)
    # Same choices as the HTML: bigger type for a small class, smaller rather than two sheets.
    preferred = 14.5 if layout == "aeree" else (11.5 if layout == "serree" else 13.0)
    size, widths, cut = _pdf_fit(sheet, pupils, preferred)
    height = size * (0.47 if layout == "serree" else 0.56)
    sheet.canvas.setStrokeColorRGB(200 / 255, 206 / 255, 214 / 255)
    sheet.canvas.setLineWidth(0.2 * MM)

    def row(texts: Sequence[str], fill: tuple[int, int, int] | None, heading: bool = False) -> None:
        if fill is not None:
            sheet.rectangle(LEFT, sum(widths), height, fill)
        x = LEFT
        for (font, more), width, text, may_cut in zip(_PDF_COLUMNS, widths, texts, cut, strict=True):
            if heading:
                sheet.text(x, width, height, text, "sans-bold", size, color=(255, 255, 255))
            else:
                sheet.text(x, width, height, text, font, size + more, fit=may_cut)
            x += width
        sheet.down(height)

    row(_HEADINGS, (47, 79, 127), heading=True)
    for index, pupil in enumerate(pupils):
        if not sheet.fits(height):
            sheet.new_page()
            row(_HEADINGS, (47, 79, 127), heading=True)
        texts = (pupil.last_name.upper(), pupil.first_name, pupil.login, pupil.password or "—")
        row(texts, (241, 244, 248) if index % 2 == 0 else None)
        sheet.rule(LEFT, sum(widths))


def _pdf_fit(
    sheet: PdfSheet, pupils: Sequence[User], preferred: float
) -> tuple[float, tuple[float, ...], tuple[bool, ...]]:
    """The biggest type size, from `preferred` down to 8, at which no cell is cut; column
    widths; whether each column may hold a text to cut.

    Widths grow with the type size: each column's widest text is measured once. Names
    too long for the sheet even at 8 points share its width; their cells are cut.
    """
    texts = (
        [u.last_name.upper() for u in pupils],
        [u.first_name for u in pupils],
        [u.login for u in pupils],
        [u.password or "—" for u in pupils],
    )
    per_point = [
        max(sheet.width(text, font, 1.0) for text in {*column, heading})
        for (font, _), heading, column in zip(_PDF_COLUMNS, _HEADINGS, texts, strict=True)
    ]
    padding = 2 * PAD + 1
    size = preferred
    while True:
        natural = [w * (size + more) + padding for w, (_, more) in zip(per_point, _PDF_COLUMNS, strict=True)]
        if sum(natural) <= WIDTH:
            spare = (WIDTH - sum(natural)) / len(natural)
            return size, tuple(w + spare for w in natural), (False,) * len(natural)
        if size <= 8:
            widths = _shared(natural, WIDTH)
            return size, widths, tuple(n > w for n, w in zip(natural, widths, strict=True))
        size -= 0.5


def _shared(natural: Sequence[float], total: float) -> tuple[float, ...]:
    """Widths summing to `total`: the narrow columns keep theirs, the wide ones share the rest evenly."""
    order = sorted(range(len(natural)), key=lambda i: natural[i])
    widths = [0.0] * len(natural)
    left = total
    for rank, index in enumerate(order):
        widths[index] = min(natural[index], left / (len(natural) - rank))
        left -= widths[index]
    return tuple(widths)


def write_class_lists(
    state: ServerState,
    output_dir: Path,
    *,
    class_names: Sequence[str] | None = None,
    generated_at: datetime | None = None,
    with_pdf: bool = True,
) -> ClassListFiles:
    """Write `listes-classes.html` (and `.pdf`) into `output_dir`, mode 0600.

    The lists of some classes only have their own name (`listes-classes-CM1.html`): they never
    replace the lists of the whole school.
    """
    lists = build_class_lists(state, class_names, generated_at=generated_at)
    output_dir = Path(output_dir)
    stem = lists_file_stem(lists) if class_names else LISTS_STEM
    pdf_path: Path | None = None
    with writing_into(output_dir):
        html_path = write_private_text(output_dir / f"{stem}.html", render_html(lists))
        pdf_bytes = render_pdf(lists) if with_pdf else None
        if pdf_bytes is not None:
            pdf_path = write_private_bytes(output_dir / f"{stem}.pdf", pdf_bytes)
    return ClassListFiles(html=html_path, pdf=pdf_path, classes=len(lists.classes), pupils=lists.pupil_count)


# --- Helpers ---------------------------------------------------------------------------


def lists_file_stem(lists: ClassLists) -> str:
    """`listes-classes-CM1`, `listes-classes-CE1+CM1`: the classes chosen, as the server spells them.

    Only letters, digits and `-` are kept from a class name (a name is no path on any system).
    """
    names = ["-".join("".join(c if c.isalnum() else " " for c in cl.name).split()) for cl in lists.classes]
    stem = f"{LISTS_STEM}-{'+'.join(n or 'classe' for n in names)}"
    return stem if len(stem) <= _LONGEST_STEM else f"{LISTS_STEM}-{len(names)}-classes"


def _sorted_classes(state: ServerState) -> list[SchoolClass]:
    return sorted(state.classes, key=lambda c: class_reading_key(c.name))


def _sorted_pupils(users: Iterable[User]) -> tuple[User, ...]:
    return tuple(sorted(users, key=user_order))


_PT = 0.3528  # millimetres per typographic point
_TABLE_WIDTH = 186.0  # A4 width less the margins, in millimetres
_PADDING = 4 * 6.0  # cell padding of the four columns, in millimetres
ROOMY_UP_TO = 24
"""Up to this many pupils, bigger type and taller rows still fit on a sheet."""
CROWDED_FROM = 33
"""From this many pupils, smaller type and tighter rows keep the class on one sheet."""


def _text_width(pupils: Sequence[User]) -> float:
    """Estimated width (mm) of the table's text at scale 1, each column at its widest.

    Average glyph widths of DejaVu (em): bold capitals, lower case, monospace, bold
    monospace spaced out; the headings (capitals, never wrapped) set a minimum.
    """
    last = max(max((len(u.last_name) for u in pupils), default=0) * 14 * 0.72 * _PT, 9.0)
    first = max(max((len(u.first_name) for u in pupils), default=0) * 14 * 0.58 * _PT, 17.0)
    login = max(max((len(u.login) for u in pupils), default=0) * 15 * 0.61 * _PT, 28.0)
    password = max(max((len(u.password or "") for u in pupils), default=0) * 15 * 0.66 * _PT, 31.0)
    return last + first + login + password


def _scale(pupils: Sequence[User]) -> float:
    """The type scale of a page: as big as its size allows, never so big that a cell wraps."""
    wanted = 1.15 if len(pupils) <= ROOMY_UP_TO else (0.8 if len(pupils) >= CROWDED_FROM else 1.0)
    fitting = (_TABLE_WIDTH - _PADDING) / max(_text_width(pupils), 1.0)
    return round(max(min(wanted, fitting), 0.6), 2)


def _layout(pupils: Sequence[User]) -> str:
    """CSS classes of a page: `aeree` (roomy rows) or `serree` (tight rows)."""
    if len(pupils) >= CROWDED_FROM:
        return "serree"
    return "aeree" if len(pupils) <= ROOMY_UP_TO else ""


def _teacher_name(state: ServerState, login: str, shown: str) -> str:
    teacher = state.user(login)
    return teacher.display_name if teacher is not None else shown
