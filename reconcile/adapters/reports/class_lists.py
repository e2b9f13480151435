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
from typing import TYPE_CHECKING

import jinja2

from reconcile.adapters.files import write_private_bytes, write_private_text, writing_into
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

if TYPE_CHECKING:
    from fpdf import FPDF

LISTS_STEM = "listes-classes"
HTML_NAME = f"{LISTS_STEM}.html"
PDF_NAME = f"{LISTS_STEM}.pdf"
_LONGEST_STEM = 80  # past it, the classes chosen are counted in the name instead of listed

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
FONT_FILES = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono-bold": "DejaVuSansMono-Bold.ttf",
}


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


def find_unicode_fonts() -> dict[str, Path] | None:
    """The DejaVu TTF files the PDF needs, or None when one is missing."""
    for directory in FONT_DIRS:
        paths = {style: directory / file for style, file in FONT_FILES.items()}
        if all(path.is_file() for path in paths.values()):
            return paths
    return None


def render_pdf(lists: ClassLists, fonts: dict[str, Path] | None = None) -> bytes | None:
    """The same pages as a PDF (A4), or None when no Unicode font is installed."""
    fonts = fonts or find_unicode_fonts()
    if fonts is None:
        return None
    # Imported here: fpdf2 is only needed when a PDF is made.
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(lists.generated_at.astimezone())
    pdf.set_title(f"Listes de classes — {lists.school}")
    pdf.set_author("reconcile")
    pdf.set_margins(12, 10, 12)
    pdf.set_auto_page_break(auto=True, margin=10)
    pdf.add_font("Sans", "", str(fonts["sans"]))
    pdf.add_font("Sans", "B", str(fonts["sans-bold"]))
    pdf.add_font("Mono", "", str(fonts["mono"]))
    pdf.add_font("Mono", "B", str(fonts["mono-bold"]))
    date_text = french_date(lists.generated_at)

    pages = [(c.name, f"Enseignant·e : {c.teacher or 'non renseigné'}", c.pupils) for c in lists.classes]
    if lists.without_class:
        pages.append(("Élèves sans classe", "Sur le serveur, « classe : aucune ».", lists.without_class))
    heading = FontFace(family="Sans", emphasis="BOLD", color=(255, 255, 255), fill_color=(47, 79, 127))
    for title, subtitle, pupils in pages:
        layout = _layout(pupils)
        # Same choices as the HTML: bigger type for a small class, smaller rather than two sheets.
        preferred = 14.5 if layout == "aeree" else (11.5 if layout == "serree" else 13.0)
        size, widths = _pdf_fit(pdf, pupils, preferred)
        mono = FontFace(family="Mono", size_pt=size + 1)
        mono_bold = FontFace(family="Mono", emphasis="BOLD", size_pt=size + 1)
        line_height = size * (0.47 if layout == "serree" else 0.56)
        pdf.add_page()
        pdf.set_font("Sans", size=10)
        pdf.set_text_color(68, 68, 68)
        pdf.cell(pdf.epw / 2, 6, lists.school)
        pdf.cell(pdf.epw / 2, 6, date_text, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(17, 17, 17)
        pdf.set_font("Sans", "B", 30)
        pdf.multi_cell(0, 13, title, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Sans", size=14)
        pdf.multi_cell(0, 8, subtitle, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        if not pupils:
            pdf.set_font("Sans", size=13)
            pdf.cell(0, 8, "Aucun élève dans cette classe.", new_x="LMARGIN", new_y="NEXT")
            continue
        pdf.set_font("Sans", size=size)
        pdf.set_draw_color(200, 206, 214)
        with pdf.table(
            col_widths=widths,
            text_align="LEFT",
            line_height=line_height,
            headings_style=heading,
            cell_fill_color=(241, 244, 248),
            cell_fill_mode="ROWS",
            borders_layout="HORIZONTAL_LINES",
            repeat_headings=1,
        ) as table:
            row = table.row()
            for label in ("Nom", "Prénom", "Identifiant", "Mot de passe"):
                row.cell(label)
            for pupil in pupils:
                row = table.row()
                row.cell(pupil.last_name.upper(), style=FontFace(family="Sans", emphasis="BOLD"))
                row.cell(pupil.first_name)
                row.cell(pupil.login, style=mono)
                row.cell(pupil.password or "—", style=mono_bold)
        pdf.ln(2)
        pdf.set_font("Sans", size=9)
        count = len(pupils)
        pdf.cell(0, 5, f"{count} élève{'s' if count > 1 else ''}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _pdf_fit(pdf: FPDF, pupils: Sequence[User], preferred: float) -> tuple[float, tuple[float, ...]]:
    """The biggest type size, from `preferred` down, at which no cell wraps; column widths."""
    size = preferred
    while True:
        columns = (
            ("Sans", "B", size, [u.last_name.upper() for u in pupils] + ["Nom"]),
            ("Sans", "", size, [u.first_name for u in pupils] + ["Prénom"]),
            ("Mono", "", size + 1, [u.login for u in pupils] + ["Identifiant"]),
            ("Mono", "B", size + 1, [u.password or "—" for u in pupils] + ["Mot de passe"]),
        )
        widths = []
        for family, style, points, texts in columns:
            pdf.set_font(family, style, points)
            widths.append(max(pdf.get_string_width(text) for text in texts) + 2 * pdf.c_margin + 1)
        if sum(widths) <= pdf.epw or size <= 8:
            spare = (pdf.epw - sum(widths)) / len(widths)
            return size, tuple(w + max(spare, 0) for w in widths)
        size -= 0.5


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
