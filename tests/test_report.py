"""The plan report: a self-contained HTML page and the same content as an xlsx workbook."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reconcile.adapters.reports.plan_report import report_environment, write_plan_report
from reconcile.core.model import ServerState, UserType, WantedState
from reconcile.core.operations import Plan
from reconcile.core.plan import make_plan
from reconcile.core.vocabulary import LEAVES_SCHOOL, ClassStatus
from reconcile.core.wording import french_datetime, step_sections
from tests.plan_builders import school, workbook

GENERATED_AT = datetime(2026, 8, 28, 9, 5, tzinfo=UTC)
SERVER_URL = "http://127.0.0.1:8080/intrascol/"


def rentree(*, blocked: bool) -> tuple[Plan, ServerState, WantedState]:
    state = school()
    targets = {
        "lbernard": "CE1",
        "tthomas": "CE1",
        "jlaurent": "CM2" if blocked else "CM1-B",
        "imichel": LEAVES_SCHOOL,
        "llefebvre": LEAVES_SCHOOL,
        "emoreau": LEAVES_SCHOOL,
    }
    wanted = workbook(
        state,
        targets=targets,
        new=[
            ("Fontaine", "Julie", UserType.ADULT, None),
            ("<script>alert(1)</script>", '=HYPERLINK("http://x")', UserType.PUPIL, "CP"),
        ],
        classes={"CM1-B": (ClassStatus.CREATE, "nouveau:100"), "CM2": (ClassStatus.DELETE, None)},
    )
    return make_plan(state, wanted), state, wanted


def write(tmp_path: Path, *, blocked: bool) -> tuple[Plan, Path, Path]:
    result, state, wanted = rentree(blocked=blocked)
    files = write_plan_report(
        result,
        state,
        wanted,
        tmp_path / "rapport",
        server_url=SERVER_URL,
        school="École élémentaire Jules Ferry",
        generated_at=GENERATED_AT,
    )
    return result, files.html, files.xlsx


def read_text(path: Path) -> str:
    """The page's text with entities decoded (autoescaping writes ' as &#39;)."""
    return unescape(path.read_text(encoding="utf-8"))


def test_the_html_report_says_what_will_happen_in_french(tmp_path: Path) -> None:
    result, html_path, _ = write(tmp_path, blocked=False)
    assert result.can_apply
    html = read_text(html_path)
    assert html_path.name == "rapport-plan.html"
    assert "École élémentaire Jules Ferry" in html
    assert SERVER_URL in html
    assert "28 août 2026 à 09 h 05 (UTC)" in html
    assert "Le plan peut être appliqué" in html
    assert "Créer la classe CM1-B (responsable : Julie FONTAINE)" in html
    assert "Transférer 2 élèves de CP vers CE1" in html
    assert "<strong>de CP</strong> : Léa BERNARD (lbernard), Tom THOMAS (tthomas)" in html
    assert "Supprimer 1 classe : CM2" in html
    assert "Les classes avant et après" in html
    assert "Problèmes à corriger" not in html


def test_the_html_report_escapes_server_and_workbook_text(tmp_path: Path) -> None:
    _, html_path, _ = write(tmp_path, blocked=False)
    html = html_path.read_text(encoding="utf-8")
    assert "<script>" not in html.lower()
    assert "&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;" in html


def test_the_html_report_is_self_contained(tmp_path: Path) -> None:
    _, html_path, _ = write(tmp_path, blocked=False)
    html = html_path.read_text(encoding="utf-8")
    assert not re.search(r"<(link|script|img|iframe)\b", html)
    assert "url(" not in html
    assert "@media print" in html


def test_problems_come_first_in_a_blocked_report(tmp_path: Path) -> None:
    result, html_path, _ = write(tmp_path, blocked=True)
    assert not result.can_apply
    html = read_text(html_path)
    problems = html.index("Problèmes à corriger avant d'appliquer (1)")
    assert problems < html.index("Résumé") < html.index("Les opérations, étape par étape")
    assert "Utilisateurs, ligne 13, colonne « Classe cible »" in html
    assert "Le plan ne peut pas être appliqué" in html


def test_the_xlsx_report_holds_the_same_content_and_no_formula(tmp_path: Path) -> None:
    result, _, xlsx_path = write(tmp_path, blocked=True)
    book = load_workbook(xlsx_path)
    assert book.sheetnames == ["Résumé", "Remarques", "Opérations", "Classes"]
    summary = [[c.value for c in row] for row in book["Résumé"].iter_rows()]
    assert summary[1][:2] == ["École", "École élémentaire Jules Ferry"]
    assert any(row[0] == "Étape 5 : Suppression des classes" for row in summary)
    remarks_rows = [[c.value for c in row] for row in book["Remarques"].iter_rows(min_row=2)]
    assert remarks_rows[0][:2] == ["Problème", "Utilisateurs, ligne 13, colonne « Classe cible »"]
    assert len(remarks_rows) == len(result.problems) + len(result.warnings)
    operations = [row[1].value for row in book["Opérations"].iter_rows(min_row=2)]
    assert "Créer la classe CM1-B (responsable : Julie FONTAINE)" in operations
    pupils = {(row[0].value, row[2].value): row[3].value for row in book["Classes"].iter_rows(min_row=2)}
    assert pupils[("CE1", "Léa BERNARD (lbernard)")] == "arrive (de CP)"
    assert pupils[("CM2", "Inès MICHEL (imichel)")] == "part (quitte l'école)"
    formula_like = [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert formula_like
    assert all(cell.data_type == "s" for cell in formula_like)


def test_an_empty_plan_report_says_there_is_nothing_to_do(tmp_path: Path) -> None:
    state = school()
    wanted = workbook(state)
    files = write_plan_report(
        make_plan(state, wanted),
        state,
        wanted,
        tmp_path,
        server_url=SERVER_URL,
        school="",
        generated_at=GENERATED_AT,
    )
    html = read_text(files.html)
    assert "Rien à faire : le serveur est déjà dans l'état que demande le classeur." in html
    assert html.count("Rien à faire à cette étape.") == 5


def test_french_dates() -> None:
    assert french_datetime(datetime(2026, 2, 1, 14, 30)) == "1 février 2026 à 14 h 30"


# --- Rendering in a real browser ------------------------------------------------------------


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the raw (filtered) scanlines of a PNG: enough to see it isn't blank."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, width, height = 8, [], 0, 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def chromium_screenshot(page: Path, picture: Path, profile: Path, size: str = "1200,1600") -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium n'est pas installé (make system-deps l'installe)")
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--screenshot={picture}",
            f"--window-size={size}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.chromium
def test_the_html_report_renders_in_chromium(tmp_path: Path) -> None:
    _, html_path, _ = write(tmp_path, blocked=True)
    picture = tmp_path / "rapport.png"
    chromium_screenshot(html_path, picture, tmp_path / "profil")
    width, height, pixels = _png_pixels(picture)
    assert (width, height) == (1200, 1600)
    # A blank page is one colour: its scanlines hold a handful of byte values.
    assert len(set(pixels)) > 64
    assert pixels.count(pixels[1]) < 0.9 * len(pixels)


def test_the_step_macro_lets_a_later_report_attach_an_outcome_to_each_operation() -> None:
    """The extension point `apply` uses: `{% call(op) r.step_block(section) %}`, escaped."""
    state = school()
    result = make_plan(state, workbook(state, targets={"jlaurent": "CM2"}))
    template = report_environment().from_string(
        '{% import "_rapport_macros.html.j2" as r %}'
        "{% for s in sections %}{% call(op) r.step_block(s) %}"
        "<em>{{ outcomes[op.op_id] }}</em>{% endcall %}{% endfor %}"
    )
    html = template.render(sections=step_sections(result), outcomes={"transfer_pupils:CM2": "<fait>"})
    assert "Transférer 1 élève de CM1 vers CM2</span><em>&lt;fait&gt;</em>" in html


def test_a_control_character_from_the_server_does_not_break_the_xlsx_report(tmp_path: Path) -> None:
    state = school()
    pupil = next(u for u in state.users if u.login == "lbernard")
    odd = replace(pupil, last_name="Ber\x01nard\x1b[31m")
    state = replace(state, users=tuple(odd if u is pupil else u for u in state.users))
    wanted = workbook(state, targets={"lbernard": "CE1"})
    result = make_plan(state, wanted)
    files = write_plan_report(
        result, state, wanted, tmp_path, server_url=SERVER_URL, school="École", generated_at=GENERATED_AT
    )
    book = load_workbook(files.xlsx)
    names = [row[2].value for row in book["Classes"].iter_rows(min_row=2)]
    assert any(isinstance(name, str) and "BER" in name.upper() and "\x01" not in name for name in names)
