"""`reconcile apply` as a process: one run per server at a time; a damaged journal stops; torn, resumes."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from reconcile.adapters.journal import JOURNAL_NAME
from reconcile.adapters.workbook import write_workbook
from reconcile.app.demo import fill_workbook, rentree
from reconcile.core.model import Target, UserType, WantedState, WantedUser
from reconcile.sandbox import RunningSandbox
from tests.test_apply_sandbox import assert_in_wanted_state
from tests.test_cli_apply import filled_workbook, read, reconcile_apply, start_apply


def people(sandbox: RunningSandbox) -> Counter[tuple[str, str, str]]:
    return Counter((u.last_name.upper(), u.first_name, u.type) for u in sandbox.store.users())


def journal_events(path: Path) -> list[str]:
    return [json.loads(text)["event"] for text in path.read_text(encoding="utf-8").splitlines()]


def wait_for_line(path: Path, needle: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until the journal at `path` holds `needle` (the run is changing the server)."""
    deadline = time.monotonic() + timeout
    while needle not in (path.read_text(encoding="utf-8") if path.exists() else ""):
        assert process.poll() is None, "the first run ended before it could be raced"
        assert time.monotonic() < deadline, "the first run never started its changes"
        time.sleep(0.02)


def test_two_applications_on_the_same_server_with_two_output_folders_never_run_together(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, before = filled_workbook(sandbox, tmp_path)
    first_output, second_output = tmp_path / "premier", tmp_path / "second"
    sandbox.configure(latency=0.2)  # the first run stays busy while the second one starts
    first = start_apply(sandbox, workbook, "--oui", "--dossier-sortie", str(first_output))
    try:
        wait_for_line(first_output / JOURNAL_NAME, '"event": "start"', first)
        second = reconcile_apply(sandbox, workbook, "--oui", "--dossier-sortie", str(second_output))
        assert first.poll() is None, "the first run must still hold the server"
    finally:
        sandbox.configure(latency=0.0)
        out, err = first.communicate(timeout=180)
    assert second.returncode == 1, second.stdout + second.stderr
    message = " ".join(second.stderr.split())
    assert f"Une autre application est en cours sur le serveur {sandbox.url}" in message
    assert "attendez qu'elle se termine" in message
    assert "Traceback" not in second.stderr
    assert not (second_output / JOURNAL_NAME).exists()
    assert first.returncode == 0, out + err
    after = read(sandbox)
    assert_in_wanted_state(after, rentree(before), before)
    assert max(people(sandbox).values()) == 1  # nobody created twice


def test_a_created_line_damaged_in_the_middle_stops_the_next_run_and_nothing_is_created_twice(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, _ = filled_workbook(sandbox, tmp_path)
    done = reconcile_apply(sandbox, workbook, "--oui")
    assert done.returncode == 0, done.stdout + done.stderr
    journal = tmp_path / JOURNAL_NAME
    lines = journal.read_bytes().splitlines(keepends=True)
    number = next(n for n, text in enumerate(lines, start=1) if b'"event": "created"' in text)
    lines[number - 1] = lines[number - 1][:40] + b"\n"
    journal.write_bytes(b"".join(lines))
    snapshot = sandbox.store.snapshot()

    again = reconcile_apply(sandbox, workbook, "--oui")
    assert again.returncode == 1, again.stdout + again.stderr
    message = " ".join(again.stderr.split())
    assert f"Le journal {journal} est abîmé à la ligne {number}" in message
    assert "Restaurez le journal" in message
    assert "Traceback" not in again.stderr
    assert sandbox.store.snapshot() == snapshot


def one_new_adult(sandbox: RunningSandbox, folder: Path) -> Path:
    state = read(sandbox)
    path = folder / "rentree.xlsx"
    write_workbook(state, path, server_url=sandbox.url, exported_at=datetime(2026, 6, 30, 18, 0))
    newcomer = WantedUser("nouveau:1", None, "Lebrun", "Clara", UserType.ADULT, Target.UNCHANGED, None)
    fill_workbook(path, WantedState(users=(newcomer,), classes=()), state)
    return path


def test_a_line_torn_by_a_crash_is_set_aside_and_the_resumed_run_neither_creates_twice_nor_loses_a_record(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook = one_new_adult(sandbox, tmp_path)
    done = reconcile_apply(sandbox, workbook, "--oui")
    assert done.returncode == 0, done.stdout + done.stderr
    journal = tmp_path / JOURNAL_NAME
    assert journal_events(journal) == ["header", "run", "start", "created", "verified"]
    # The crash as it can happen: the account made, the process killed while writing its line.
    lines = journal.read_bytes().splitlines(keepends=True)
    fragment = lines[3][:45]
    journal.write_bytes(b"".join(lines[:3]) + fragment)
    account = next(u for u in sandbox.store.users() if u.last_name.upper() == "LEBRUN")

    again = reconcile_apply(sandbox, workbook, "--oui")
    assert again.returncode == 0, again.stdout + again.stderr
    said = " ".join(again.stdout.split())
    assert "se terminait par une ligne coupée" in said
    assert f"{JOURNAL_NAME}.abime" in said
    assert [u.login for u in sandbox.store.users() if u.last_name.upper() == "LEBRUN"] == [account.login]
    # Every line is whole: the fragment is kept aside, the adoption starts its own line.
    events = journal_events(journal)
    assert events[:3] == ["header", "run", "start"]
    assert "created" in events[3:]
    adopted = [json.loads(t) for t in journal.read_text(encoding="utf-8").splitlines()][
        events.index("created")
    ]
    assert adopted["login"] == account.login
    assert fragment.decode() in (tmp_path / f"{JOURNAL_NAME}.abime").read_text(encoding="utf-8")
