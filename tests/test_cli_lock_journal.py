"""`reconcile apply` as a process: one run per server at a time."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from pathlib import Path

from reconcile.adapters.journal import JOURNAL_NAME
from reconcile.app.demo import rentree
from reconcile.sandbox import RunningSandbox
from tests.test_apply_sandbox import assert_in_wanted_state
from tests.test_cli_apply import command, environment, filled_workbook, read, reconcile_apply


def people(sandbox: RunningSandbox) -> Counter[tuple[str, str, str]]:
    return Counter((u.last_name.upper(), u.first_name, u.type) for u in sandbox.store.users())


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
    first = subprocess.Popen(
        command(sandbox, workbook, "--yes", "--output-dir", str(first_output)),
        env=environment(sandbox),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_line(first_output / JOURNAL_NAME, '"event": "start"', first)
        second = reconcile_apply(sandbox, workbook, "--yes", "--output-dir", str(second_output))
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
