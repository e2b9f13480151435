"""Printable class lists: every pupil with login and password, one page per class, 0600."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from html.parser import HTMLParser

import pytest

from reconcile.adapters.reports import pdf_sheet
from reconcile.adapters.reports.class_lists import (
    build_class_lists,
    render_html,
    write_class_lists,
)
from reconcile.adapters.reports.pdf_sheet import find_unicode_fonts
from reconcile.core.errors import UnknownClass
from reconcile.core.model import SchoolClass, ServerState, User, UserType
from tests.conftest import is_private

WHEN = datetime(2026, 9, 1, 8, 30)


def school() -> ServerState:
    users = [
        User("mdupont", "Dupont", "Marie", UserType.ADULT),
        User("jmartin", "Martin", "Jean", UserType.ADULT),
        User("zoe.ndiaye", "N'Diaye", "Zoé", UserType.PUPIL, class_id=7, password="k2m<b>9"),
        User("lukasz.k", "Kowalski", "Łukasz", UserType.PUPIL, class_id=7, password="wq7&x"),
        User("jb.fontaine", "De La Fontaine", "Jean-Baptiste", UserType.PUPIL, class_id=7, password="p4ss"),
        User("oedipe.n", "Nguyễn", "Œdipe", UserType.PUPIL, class_id=3, password="nn88"),
        User("perdu.l", "Lost", "Léa", UserType.PUPIL, class_id=None, password="zz11"),
    ]
    classes = [
        SchoolClass(7, "CM1-CM2 <Mme> Dupont", "mdupont", "Marie DUPONT", 3),
        SchoolClass(3, "CP", "jmartin", "Jean MARTIN", 1),
        SchoolClass(9, "Atelier", "jmartin", "Jean MARTIN", 0),
    ]
    return ServerState(tuple(classes), tuple(users), version="0.1.7a", school="École Jules Ferry")


class Cells(HTMLParser):
    """The text of every `td` per class name, and each page's heading."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.headings: list[str] = []
        self._cell: str | None = None
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        if tag == "tr" and "eleve" in classes.split():
            self.rows.append({})
        elif tag == "td" and self.rows:
            self._cell = classes
            self.rows[-1][classes] = ""
        elif tag == "h1":
            self._in_h1 = True
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._cell is not None:
            self.rows[-1][self._cell] += data
        if self._in_h1:
            self.headings[-1] += data


def parse(html: str) -> Cells:
    cells = Cells()
    cells.feed(html)
    return cells


def test_every_pupil_has_a_row_with_login_and_password_lowest_level_first():
    state = school()
    cells = parse(render_html(build_class_lists(state, generated_at=WHEN)))
    assert cells.headings == ["CP", "CM1-CM2 <Mme> Dupont", "Atelier", "Élèves sans classe"]
    found = {row["login"]: row["motdepasse"] for row in cells.rows}
    pupils = {u.login: u.password for u in state.users if u.type is UserType.PUPIL}
    assert found == pupils
    names = [(row["nom"], row["prenom"]) for row in cells.rows]
    assert ("NGUYỄN", "Œdipe") in names
    assert ("DE LA FONTAINE", "Jean-Baptiste") in names
    # Adults are not pupils of any class: their (hidden) passwords are never listed.
    assert "mdupont" not in found


def test_server_text_is_escaped_not_interpreted():
    html = render_html(build_class_lists(school(), generated_at=WHEN))
    assert "k2m&lt;b&gt;9" in html
    assert "CM1-CM2 &lt;Mme&gt; Dupont" in html
    assert "<Mme>" not in html


def test_page_shows_school_teacher_and_french_date():
    html = render_html(build_class_lists(school(), ["cp"], generated_at=WHEN))
    assert "École Jules Ferry" in html
    assert "Jean MARTIN" in html
    assert "1er septembre 2026" in html
    assert parse(html).headings == ["CP"]


def test_an_unknown_class_is_refused_with_the_known_ones():
    with pytest.raises(UnknownClass) as caught:
        build_class_lists(school(), ["CE2"])
    assert "« CE2 » n'existe pas" in str(caught.value)
    assert "« CP »" in str(caught.value)


def test_files_are_0600_and_hold_every_password(tmp_path):
    state = school()
    written = write_class_lists(state, tmp_path / "sortie", generated_at=WHEN)
    assert written.classes == 3
    assert written.pupils == 5
    assert is_private(written.html)
    html = written.html.read_text(encoding="utf-8")
    assert "wq7&amp;x" in html
    if find_unicode_fonts() is None:
        assert written.pdf is None
        return
    assert written.pdf is not None
    assert is_private(written.pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(written.pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for user in state.users:
            if user.type is UserType.PUPIL:
                assert user.login in text
                assert user.password in text
        assert "Łukasz" in text
        assert text.count("\f") == 4  # one page per class, and the pupils in no class


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp_path, *arguments: str) -> None:
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profil'}",
            *arguments,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None, reason="chromium absent")
def test_chromium_prints_one_sheet_per_class(tmp_path):
    written = write_class_lists(school(), tmp_path, generated_at=WHEN, with_pdf=False)
    printed = tmp_path / "imprime.pdf"
    screenshot = tmp_path / "ecran.png"
    chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={printed}", written.html.as_uri())
    chromium(tmp_path, "--window-size=900,1200", f"--screenshot={screenshot}", written.html.as_uri())
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True, check=True).stdout
        pages = next(int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:"))
        assert pages == 4
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(printed), "-"], capture_output=True, text=True).stdout
        sheets = text.split("\f")
        assert "CP" in sheets[0]
        assert "nn88" in sheets[0]
        assert "k2m<b>9" in sheets[1]
        assert "Ferry" in sheets[1]
        assert "Aucun élève" in sheets[2]
        assert "zz11" in sheets[3]


@pytest.mark.chromium
@pytest.mark.skipif(CHROMIUM is None or not shutil.which("pdfinfo"), reason="chromium ou pdfinfo absent")
@pytest.mark.parametrize(
    ("size", "last_name", "first_name", "login"),
    [
        (32, "De La Fontaine", "Jean-Baptiste", "jean-baptiste.delafontaine"),
        (40, "Martin", "Léa", "lea.martin"),
    ],
)
def test_a_full_class_fits_on_one_sheet(tmp_path, size, last_name, first_name, login):
    pupils = tuple(
        User(f"{login}{i}", last_name, first_name, UserType.PUPIL, 1, "k9wq2mx7") for i in range(size)
    )
    state = ServerState(
        (SchoolClass(1, "CE2-CM1-CM2 Mme Dupont-Leroy", "x", "Marie DUPONT"),), pupils, school="École"
    )
    written = write_class_lists(state, tmp_path, generated_at=WHEN)
    printed = tmp_path / "imprime.pdf"
    chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={printed}", written.html.as_uri())
    for pdf in (printed, written.pdf):
        if pdf is not None:
            info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
            assert "Pages:           1" in info, pdf.name


@pytest.mark.skipif(find_unicode_fonts() is None, reason="police DejaVu absente")
def test_names_of_3000_characters_are_cut_visibly_in_the_pdf(tmp_path):
    long = "Abcdefghij" * 300
    pupils = (
        User("court", "Martin", "Léa", UserType.PUPIL, 1, "k9wq2mx7"),
        User("long" * 750, long, long, UserType.PUPIL, 1, "p" * 3000),
        User("espaces", " ".join(["Nom"] * 1000), "Zoé", UserType.PUPIL, 1, "zz11"),
    )
    state = ServerState((SchoolClass(1, "Classe " + long, "x", "Enseignant " + long),), pupils, school=long)
    written = write_class_lists(state, tmp_path, generated_at=WHEN)
    assert written.pdf is not None
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(written.pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "court" in text
        assert "k9wq2mx7" in text
        assert "MARTIN" in text
        assert "…" in text  # the long ones cut, and seen to be
        assert long not in text.replace("\n", "")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(written.pdf)], capture_output=True, text=True, check=True)
        assert "Pages:           1" in info.stdout


def test_on_windows_the_pdf_uses_the_systems_own_fonts(tmp_path, monkeypatch):
    """No DejaVu on a Windows PC: Arial and Consolas from its Fonts folder make the PDF."""
    dejavu = find_unicode_fonts()
    if dejavu is None:
        pytest.skip("police DejaVu absente (elle tient lieu des polices de Windows)")
    fonts = tmp_path / "Windows" / "Fonts"
    fonts.mkdir(parents=True)
    for style, name in pdf_sheet.WINDOWS_FONTS.items():
        shutil.copy(dejavu[style], fonts / name)
    monkeypatch.setattr(pdf_sheet, "DEJAVU_DIRS", ())
    monkeypatch.setenv("WINDIR", str(tmp_path / "Windows"))
    assert find_unicode_fonts() == {style: fonts / name for style, name in pdf_sheet.WINDOWS_FONTS.items()}
    written = write_class_lists(school(), tmp_path / "listes", generated_at=WHEN)
    assert written.pdf is not None
    assert written.pdf.read_bytes().startswith(b"%PDF")
