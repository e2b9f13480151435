"""Issue 10: each `apply` run keeps its dated report, the latest covers the whole rentrée, and the
state before the rentrée is saved before the first change (through the sandbox, over HTTP)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from reconcile.adapters.journal import JOURNAL_NAME
from reconcile.adapters.workbook import write_workbook
from reconcile.app.demo import fill_workbook, rentree
from reconcile.core.model import ServerState, UserType, WantedState
from reconcile.core.vocabulary import ClassStatus
from reconcile.sandbox import RunningSandbox
from tests.conftest import is_private
from tests.test_apply_sandbox import assert_in_wanted_state
from tests.test_cli_apply import filled_workbook, read, reconcile_apply, start_apply
from tests.test_reports_truth import report_texts

STATE_BEFORE = "etat-avant-la-rentree.xlsx"


def journal_events(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            continue  # the line being written
    return lines


def interrupt_after_the_departures(
    sandbox: RunningSandbox, workbook: Path, journal: Path
) -> subprocess.CompletedProcess[str]:
    """Run apply and press Ctrl-C once the departures are deleted (steps 1 and 2 done)."""
    sandbox.configure(latency=0.05)
    process = start_apply(sandbox, workbook, "--oui")
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if any(line.get("event") == "done" and line.get("deleted") for line in journal_events(journal)):
            break
        time.sleep(0.01)
    assert process.poll() is None, "apply ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    sandbox.configure(latency=0.0)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def workbook_with_a_teacher_change(
    sandbox: RunningSandbox, folder: Path
) -> tuple[Path, ServerState, WantedState]:
    """The demo's rentrée, plus the first kept class given to an adult who has no class."""
    state = read(sandbox)
    wanted = rentree(state)
    responsible = {c.responsible_login for c in state.classes}
    free = next(
        u.login for u in wanted.users if u.type is UserType.ADULT and u.login and u.login not in responsible
    )
    kept = next(c for c in wanted.classes if c.status is ClassStatus.KEEP)
    classes = tuple(replace(c, responsible=free) if c is kept else c for c in wanted.classes)
    wanted = replace(wanted, classes=classes)
    path = folder / "rentree.xlsx"
    write_workbook(state, path, server_url=sandbox.url, exported_at=datetime(2026, 6, 30, 18, 0))
    fill_workbook(path, wanted, state)
    return path, state, wanted


def dated(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern))


@pytest.mark.posix_only
def test_after_a_resume_the_latest_report_holds_the_whole_rentree_and_each_run_its_own(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, before, wanted = workbook_with_a_teacher_change(sandbox, tmp_path)
    journal = tmp_path / JOURNAL_NAME
    first = interrupt_after_the_departures(sandbox, workbook, journal)
    assert first.returncode == 2, first.stdout + first.stderr
    assert "Traceback" not in first.stderr

    # The state before the rentrée was saved before the first change, private, as `export` writes it.
    saved = tmp_path / STATE_BEFORE
    assert is_private(saved)
    exported = load_workbook(saved)["Utilisateurs"]
    cells = {str(c) for row in exported.iter_rows(values_only=True) for c in row}
    assert {u.login for u in before.users} <= cells
    saved_bytes = saved.read_bytes()

    # The interrupted run's report says what it did (from the journal), not an earlier run's story.
    stopped = report_texts(tmp_path, "rapport-application")
    assert "Application arrêtée avant son compte rendu" in stopped
    assert "Supprimer" in stopped

    second = reconcile_apply(sandbox, workbook, "--oui")
    assert second.returncode == 0, second.stdout + second.stderr
    assert_in_wanted_state(read(sandbox), wanted, before)
    assert saved.read_bytes() == saved_bytes  # written once, never overwritten

    latest = report_texts(tmp_path, "rapport-application")
    assert "Application terminée et vérifiée" in latest
    assert "Toute la rentrée de ce classeur (2 exécutions)" in latest
    first_run = latest.split("Exécution 1")[1].split("Exécution 2")[0]
    assert "Supprimer" in first_run  # the first run's deletions
    assert "Créer la classe" in first_run  # its class creation
    assert "Confier la classe" in first_run  # its teacher change
    second_run = latest.split("Exécution 2 (cette exécution)")[1]
    assert "Créer le compte" in second_run
    assert "Transférer" in second_run
    text = (tmp_path / "compte-rendu-application.txt").read_text(encoding="utf-8")
    assert "Exécution 1" in text
    assert "Exécution 2 (cette exécution)" in text

    # Each run kept its own dated report; nothing overwritten; all private.
    htmls = dated(tmp_path, "rapport-application-*.html")
    assert len(htmls) == 2, htmls
    assert len(dated(tmp_path, "rapport-application-*.xlsx")) == 2
    assert len(dated(tmp_path, "compte-rendu-application-*.txt")) == 2
    assert any("Application arrêtée avant son compte rendu" in p.read_text(encoding="utf-8") for p in htmls)
    for path in (*htmls, *dated(tmp_path, "*-application-*.*"), saved):
        assert is_private(path), path
    assert "copie datée de cette exécution" in " ".join(second.stdout.split())


def test_a_refused_apply_replaces_the_earlier_report_and_keeps_the_state_before(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, _ = filled_workbook(sandbox, tmp_path)
    done = reconcile_apply(sandbox, workbook, "--oui")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Application terminée et vérifiée" in report_texts(tmp_path, "rapport-application")
    state_before = (tmp_path / STATE_BEFORE).read_bytes()

    workbook.write_bytes(b"PK\x03\x04 plus un classeur")
    broken = reconcile_apply(sandbox, workbook, "--oui")
    assert broken.returncode != 0
    texts = report_texts(tmp_path, "rapport-application")
    assert "Application terminée et vérifiée" not in texts
    assert "L'application n'a pas pu être faite" in texts
    assert "Application terminée et vérifiée" not in (tmp_path / "compte-rendu-application.txt").read_text(
        encoding="utf-8"
    )
    assert "dit que cette exécution s'est arrêtée" in " ".join(broken.stderr.split())
    # The finished run's dated report is kept; the state before the rentrée too.
    [kept] = dated(tmp_path, "rapport-application-*.html")
    assert "Application terminée et vérifiée" in kept.read_text(encoding="utf-8")
    assert (tmp_path / STATE_BEFORE).read_bytes() == state_before
