"""The route sheet of `plan` (« fiche de route »): the demo rentrée, click by click, on paper."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.reports.pdf_sheet import find_unicode_fonts
from reconcile.adapters.reports.route_sheet import NO_ROUTE_SHEET, write_route_sheet
from reconcile.app.demo import rentree
from reconcile.core.model import ServerState, UserType
from reconcile.core.operations import DeleteClasses, DeleteUsers, Plan, TransferPupils
from reconcile.core.plan import make_plan
from reconcile.core.route_sheet import FOLDER_WORKAROUND, route_sheet
from reconcile.core.vocabulary import LEAVES_SCHOOL
from reconcile.sandbox import RunningSandbox
from tests.plan_builders import school, workbook
from tests.test_cli_apply import filled_workbook, run_reconcile
from tests.test_report import _png_pixels, chromium_screenshot

WHEN = datetime(2026, 8, 28, 9, 5, tzinfo=UTC)
SCHOOL = "École élémentaire Jules Ferry"


def read(sandbox: RunningSandbox) -> ServerState:
    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password, timeout=5) as client:
        return client.read_state()


def demo_plan(sandbox: RunningSandbox) -> tuple[Plan, ServerState]:
    state = read(sandbox)
    return make_plan(state, rentree(state)), state


def write(plan: Plan, folder: Path):
    return write_route_sheet(
        plan, folder, server_url="http://serveur/intrascol/", school=SCHOOL, generated_at=WHEN
    )


def page_text(path: Path) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))


def test_each_operation_of_the_demo_rentree_appears_once_in_the_plans_order(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plan, _ = demo_plan(sandbox)
    steps = route_sheet(plan)
    assert [a.op_id for s in steps for a in s.actions] == [op.id for op in plan.operations]
    assert [int(s.step) for s in steps] == [int(step) for step, ops in plan.steps if ops]

    files = write(plan, tmp_path)
    assert files is not None
    html = files.html.read_text(encoding="utf-8")
    assert re.findall(r'data-operation="([^"]+)"', html) == [op.id for op in plan.operations]


def test_every_pupil_to_tick_has_a_box_under_the_page_where_the_secretary_finds_it(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    plan, state = demo_plan(sandbox)
    boxes = [tick for s in route_sheet(plan) for a in s.actions for i in a.instructions for tick in i.ticks]
    moved = [
        login for op in plan.operations if isinstance(op, DeleteUsers | TransferPupils) for login in op.logins
    ]
    for login in moved:
        user = state.user(login)
        assert user is not None
        assert sum(box.endswith(f"({login})") for box in boxes) == 1, login
        assert f"{user.display_name} ({login})" in boxes
    removed = [name for op in plan.operations if isinstance(op, DeleteClasses) for name in op.class_names]
    assert removed
    assert all(name in boxes for name in removed)

    # One page per class the pupils come from, each ending with the transfer button.
    transfer = next(a for s in route_sheet(plan) for a in s.actions if a.op_id.startswith("transfer_pupils:"))
    op = next(op for op in plan.operations if op.id == transfer.op_id)
    assert isinstance(op, TransferPupils)
    origins = sorted({plan.origins[login] for login in op.logins})
    pages = [i.text for i in transfer.instructions if i.ticks]
    assert sorted(pages) == [
        f"Menu « Liste des classes », cliquez sur la classe {o} ; cochez :" for o in origins
    ]
    buttons = [i.text for i in transfer.instructions if not i.ticks]
    assert buttons == [
        f"Classe de destination : « {op.class_name} », puis « Transférer les utilisateurs »."
    ] * len(origins)

    text = page_text(write(plan, tmp_path).html)  # type: ignore[union-attr]
    assert "Étape 2 : Suppression des utilisateurs qui quittent l'école" in text
    assert FOLDER_WORKAROUND in text
    assert "Notez l'identifiant que le serveur lui donne" in text  # the new teacher, before her class
    assert "Zoé" in text
    assert "Łukasz" in text


@pytest.mark.skipif(find_unicode_fonts() is None, reason="police DejaVu absente")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext absent")
def test_the_pdf_holds_the_same_steps_and_names(sandbox: RunningSandbox, tmp_path: Path) -> None:
    plan, _state = demo_plan(sandbox)
    files = write(plan, tmp_path)
    assert files is not None
    assert files.pdf is not None
    text = subprocess.run(
        ["pdftotext", str(files.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = " ".join(text.split())
    for heading in ("Étape 1", "Étape 2", "Étape 3", "Étape 4", "Étape 5", "Pour finir"):
        assert heading in flat
    leaving = next(op for op in plan.operations if isinstance(op, DeleteUsers)).logins[0]
    assert f"({leaving})" in flat
    assert "Transférer les utilisateurs" in flat


@pytest.mark.skipif(find_unicode_fonts() is None, reason="police DejaVu absente")
def test_a_name_of_three_thousand_characters_wraps_instead_of_breaking_the_pdf(tmp_path: Path) -> None:
    state = school()
    long_name = "Delafontaine" * 250
    plan = make_plan(
        state,
        workbook(state, targets={"imichel": LEAVES_SCHOOL}, new=[(long_name, "Jean", UserType.PUPIL, "CP")]),
    )
    files = write(plan, tmp_path)
    assert files is not None
    assert files.pdf is not None
    assert files.pdf.read_bytes().startswith(b"%PDF")


def test_a_blocked_plan_replaces_an_earlier_route_sheet_and_writes_none_otherwise(tmp_path: Path) -> None:
    state = school()
    blocked = make_plan(state, workbook(state, targets={"imichel": "Nulle part"}))
    assert not blocked.can_apply
    assert write(blocked, tmp_path / "vide") is None
    assert not (tmp_path / "vide").exists()

    good = make_plan(state, workbook(state, targets={"imichel": LEAVES_SCHOOL}))
    write(good, tmp_path)
    assert "imichel" in page_text(tmp_path / "fiche-de-route.html")
    files = write(blocked, tmp_path)
    assert files is not None
    text = page_text(files.html)
    assert NO_ROUTE_SHEET in text
    assert "imichel" not in text
    if files.pdf is not None:
        assert b"imichel" not in files.pdf.read_bytes()


@pytest.mark.skipif(sys.platform == "win32", reason="modes POSIX")
def test_reconcile_plan_writes_the_route_sheet_private(sandbox: RunningSandbox, tmp_path: Path) -> None:
    book, _ = filled_workbook(sandbox, tmp_path)
    done = run_reconcile(sandbox, "plan", str(book))
    assert done.returncode == 0, done.stdout + done.stderr
    sheet = tmp_path / "fiche-de-route.html"
    assert f"Fiche de route (la rentrée à la main, clic par clic) : {sheet}" in done.stdout
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
    assert "« Transférer les utilisateurs »" in page_text(sheet)


@pytest.mark.posix_only
def test_a_route_sheet_written_into_a_new_folder_makes_it_private(tmp_path: Path) -> None:
    state = school()
    plan = make_plan(state, workbook(state, targets={"imichel": LEAVES_SCHOOL}))
    files = write(plan, tmp_path / "nouveau" / "dossier")
    assert files is not None
    for folder in (tmp_path / "nouveau", tmp_path / "nouveau" / "dossier"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


@pytest.mark.chromium
def test_the_route_sheet_renders_in_chromium(sandbox: RunningSandbox, tmp_path: Path) -> None:
    plan, _ = demo_plan(sandbox)
    files = write(plan, tmp_path)
    assert files is not None
    picture = tmp_path / "fiche.png"
    chromium_screenshot(files.html, picture, tmp_path / "profil")
    width, height, pixels = _png_pixels(picture)
    assert (width, height) == (1200, 1600)
    assert len(set(pixels)) > 64
    assert pixels.count(pixels[1]) < 0.9 * len(pixels)


def test_a_plan_that_could_not_be_made_withdraws_the_earlier_route_sheet(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    book, _ = filled_workbook(sandbox, tmp_path)
    assert run_reconcile(sandbox, "plan", str(book)).returncode == 0
    assert "Transférer les utilisateurs" in page_text(tmp_path / "fiche-de-route.html")
    book.write_bytes(b"pas un classeur")
    done = run_reconcile(sandbox, "plan", str(book))
    assert done.returncode != 0
    text = page_text(tmp_path / "fiche-de-route.html")
    assert NO_ROUTE_SHEET in text
    assert "Transférer les utilisateurs" not in text
