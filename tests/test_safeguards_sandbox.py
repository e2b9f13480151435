"""The workbook belongs to one server, and unusual moves are checked: `plan` and `apply` as the secretary
runs them (a process, the sandbox over HTTP).

Two demo schools of different seeds share the name « École élémentaire Jules Ferry » (seeds 1
and 7): a workbook exported from one must never act on the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.workbook import layout, write_workbook
from reconcile.app.demo import fill_workbook, rentree
from reconcile.core import vocabulary
from reconcile.core.model import ServerState, fold
from reconcile.sandbox import RunningSandbox, SandboxOptions, start_sandbox
from tests.test_cli_apply import run_reconcile


@pytest.fixture
def same_name_sandbox(sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    """Another demo school with the same name as `sandbox`'s (seed 7)."""
    with start_sandbox(SandboxOptions(demo=True, seed=7)) as running:
        assert running.store.school_name == sandbox.store.school_name
        yield running


def read(sandbox: RunningSandbox) -> ServerState:
    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as client:
        client.info()  # as `reconcile export` does: the state then carries the school's name
        return client.read_state()


def filled_workbook(sandbox: RunningSandbox, folder: Path, *, recorded_url: str | None = None) -> Path:
    """The demo rentrée typed into the workbook exported from `sandbox` (recorded at `recorded_url`)."""
    state = read(sandbox)
    path = folder / "rentree.xlsx"
    write_workbook(state, path, server_url=recorded_url or sandbox.url, exported_at=datetime(2026, 6, 30, 18))
    fill_workbook(path, rentree(state), state)
    return path


def reconcile(command: str, sandbox: RunningSandbox, workbook: Path, *options: str) -> tuple[int, str]:
    """`reconcile plan|apply` in a process; its exit code and its output, spaces folded."""
    done = run_reconcile(sandbox, command, str(workbook), *options, timeout=180)
    output = " ".join((done.stdout + "\n" + done.stderr).split())
    assert "Traceback" not in output, output
    return done.returncode, output


def edit_targets(workbook: Path, change: Callable[[Worksheet, dict[str, int]], None]) -> None:
    book = load_workbook(workbook)
    users = book[vocabulary.USERS_SHEET]
    columns = {str(c.value): c.column for c in users[layout.HEADER_ROW] if isinstance(c.column, int)}
    change(users, columns)
    book.save(workbook)


# --- The workbook belongs to one server ----------------------------------------------------


def test_a_workbook_of_another_server_of_the_same_name_is_refused_even_with_its_address_given(
    sandbox: RunningSandbox, same_name_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook = filled_workbook(sandbox, tmp_path)
    before = same_name_sandbox.store.snapshot()

    code, output = reconcile("plan", same_name_sandbox, workbook)
    assert code == 1, output
    assert (
        f"Ce classeur a été exporté du serveur « {sandbox.store.school_name} » ({sandbox.url}), mais le "
        f"serveur connecté est « {same_name_sandbox.store.school_name} » ({same_name_sandbox.url})"
    ) in output
    assert f"--nouvelle-adresse {same_name_sandbox.url}" in output
    assert "existent sur ce serveur avec le même identifiant et les mêmes nom et prénom" in output

    # Saying the server moved does not make its accounts the workbook's.
    code, output = reconcile("plan", same_name_sandbox, workbook, "--nouvelle-adresse", same_name_sandbox.url)
    assert code == 1, output
    assert "Ce classeur a été exporté du serveur" not in output
    assert "il en faut au moins 80 %" in output

    for options in ((), ("--nouvelle-adresse", same_name_sandbox.url)):
        code, output = reconcile("apply", same_name_sandbox, workbook, "--oui", *options)
        assert code == 1, output
        assert "il en faut au moins 80 %" in output
        assert same_name_sandbox.store.snapshot() == before


def test_a_server_that_moved_is_accepted_only_with_its_new_address_named(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    old = "http://ancien-serveur.ecole.example/intrascol/"
    workbook = filled_workbook(sandbox, tmp_path, recorded_url=old)
    before = sandbox.store.snapshot()

    code, output = reconcile("plan", sandbox, workbook)
    assert code == 1, output
    assert f"exporté du serveur « {sandbox.store.school_name} » ({old})" in output
    assert f"relancez avec --nouvelle-adresse {sandbox.url}" in output
    code, output = reconcile("apply", sandbox, workbook, "--oui")
    assert code == 1, output
    assert sandbox.store.snapshot() == before

    code, output = reconcile(
        "plan", sandbox, workbook, "--nouvelle-adresse", "http://autre.example/intrascol/"
    )
    assert code == 1, output
    assert (
        "--nouvelle-adresse http://autre.example/intrascol/ ne correspond pas au serveur connecté" in output
    )

    # The address as pasted from the browser is the same address.
    pasted = sandbox.url + "admin/login.php"
    code, output = reconcile("plan", sandbox, workbook, "--nouvelle-adresse", pasted)
    assert code == 0, output
    assert f"le serveur a changé d'adresse (--nouvelle-adresse {sandbox.url})" in output
    code, output = reconcile("apply", sandbox, workbook, "--oui", "--nouvelle-adresse", pasted)
    assert code == 0, output
    assert "Vérification : le serveur relu est dans l'état demandé." in output


def test_the_tolerated_variations_of_the_recorded_address_are_the_same_server(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    for recorded in (sandbox.url + "admin/login.php", sandbox.url.rstrip("/"), sandbox.url + "admin/"):
        workbook = filled_workbook(sandbox, tmp_path, recorded_url=recorded)
        code, output = reconcile("plan", sandbox, workbook)
        assert code == 0, output


# --- Unusual moves -------------------------------------------------------------------------------


def sort_target_column(users: Worksheet, columns: dict[str, int]) -> None:
    """The slip: « Classe cible » sorted on its own (A to Z, blanks last), the other columns left."""
    column = columns[vocabulary.TARGET_CLASS]
    rows = range(layout.FIRST_ROW, users.max_row + 1)
    values = [users.cell(row, column).value for row in rows]
    filled = sorted((v for v in values if v not in (None, "")), key=lambda v: fold(str(v)))
    for row, value in zip(rows, filled + [None] * (len(values) - len(filled)), strict=True):
        users.cell(row, column).value = value


def test_a_target_column_sorted_on_its_own_is_refused_until_the_moves_are_confirmed(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook = filled_workbook(sandbox, tmp_path)
    edit_targets(workbook, sort_target_column)
    before = sandbox.store.snapshot()

    code, output = reconcile("plan", sandbox, workbook)
    assert code == 1, output
    assert "La colonne « Classe cible » semble avoir été triée seule" in output
    assert "relancez avec l'option --mouvements-verifies" in output
    # Counted at the top, before the plan's table; each listed with its row.
    assert output.index("Mouvements inhabituels à vérifier :") < output.index("Plan de la rentrée")
    assert "élèves quittent l'école depuis une classe sans niveau" in output
    assert "quitterait l'école depuis ULIS, une classe sans niveau" in output
    html = unescape((tmp_path / "rapport-plan.html").read_text(encoding="utf-8"))
    assert "Mouvements inhabituels :" in html
    assert "triée seule" in html

    code, output = reconcile("apply", sandbox, workbook, "--oui")
    assert code == 1, output
    assert "triée seule" in output
    assert sandbox.store.snapshot() == before

    code, output = reconcile("plan", sandbox, workbook, "--mouvements-verifies")
    assert "triée seule" not in output
    assert "Mouvements inhabituels à vérifier :" in output  # still listed


def test_a_pupil_sent_down_a_level_is_listed_and_many_unusual_moves_block_until_confirmed(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    state = read(sandbox)
    cm1 = state.class_by_name("CM1")
    assert cm1 is not None
    pupils = sorted(u.login for u in state.members(cm1.id))
    workbook = filled_workbook(sandbox, tmp_path)

    def send_down(logins: list[str]) -> Callable[[Worksheet, dict[str, int]], None]:
        def change(users: Worksheet, columns: dict[str, int]) -> None:
            for row in range(layout.FIRST_ROW, users.max_row + 1):
                if users.cell(row, columns[vocabulary.LOGIN]).value in logins:
                    users.cell(row, columns[vocabulary.TARGET_CLASS]).value = "CP"

        return change

    edit_targets(workbook, send_down(pupils[:1]))
    code, output = reconcile("plan", sandbox, workbook)
    assert code == 0, output  # one among ~160 moves: listed, not blocking
    assert "Mouvements inhabituels à vérifier : 1 élève descend de niveau" in output
    assert f"({pupils[0]}) passerait de CM1 à CP, un niveau plus bas" in output
    assert re.search(
        rf"Utilisateurs, ligne \d+, colonne « Classe cible » : Mouvement inhabituel : [^:]+ \({pupils[0]}\)",
        output,
    )
    html = unescape((tmp_path / "rapport-plan.html").read_text(encoding="utf-8"))
    assert "Mouvements inhabituels :</strong> 1 élève descend de niveau." in html

    edit_targets(workbook, send_down(pupils))  # the whole CM1: 25 of ~160 moved pupils
    before = sandbox.store.snapshot()
    code, output = reconcile("plan", sandbox, workbook)
    assert code == 1, output
    assert f"{len(pupils)} élèves descendent de niveau" in output
    assert "plus que le seuil de 10 %" in output
    code, output = reconcile("apply", sandbox, workbook, "--oui")
    assert code == 1, output
    assert sandbox.store.snapshot() == before
    code, output = reconcile("plan", sandbox, workbook, "--mouvements-verifies")
    assert code == 0, output
