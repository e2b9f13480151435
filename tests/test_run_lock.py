"""The run lock: one `reconcile apply` per server at a time, whatever the output folder."""

from __future__ import annotations

import ast
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import reconcile
from reconcile.adapters.journal import LOCK_NAME, exclusive_run, server_lock_path, state_dir
from reconcile.core.errors import ApplicationInProgress
from reconcile.core.safeguards import server_address

SERVER = "http://ecole.example/intrascol/"


def test_two_runs_on_one_server_refuse_each_other_whatever_their_output_folders(tmp_path: Path) -> None:
    with exclusive_run(SERVER, tmp_path / "un"):
        with pytest.raises(ApplicationInProgress) as caught, exclusive_run(SERVER, tmp_path / "deux"):
            pass
        message = str(caught.value)
        assert f"Une autre application est en cours sur le serveur {SERVER}" in message
        assert "attendez qu'elle se termine" in message
        assert "Rien n'a été modifié" in message
        with exclusive_run("http://autre.example/intrascol/", tmp_path / "deux"):  # another server: free
            pass
    with exclusive_run(SERVER, tmp_path / "deux"):  # free again once the first run ended
        pass


@pytest.mark.parametrize(
    "same",
    [
        "http://ECOLE.example/intrascol",
        "http://ecole.example:80/intrascol/",
        " http://ecole.example/intrascol/ ",
    ],
)
def test_the_lock_is_keyed_by_the_server_not_by_how_its_address_is_written(tmp_path: Path, same: str) -> None:
    assert server_address(same) == server_address(SERVER)
    with (
        exclusive_run(SERVER, tmp_path / "un"),
        pytest.raises(ApplicationInProgress),
        exclusive_run(same, tmp_path / "deux"),
    ):
        pass


def test_other_servers_have_their_own_lock() -> None:
    others = [
        "https://ecole.example/intrascol/",
        "http://ecole.example:8080/intrascol/",
        "http://ecole.example/",
    ]
    assert len({server_lock_path(url) for url in [SERVER, *others]}) == 4


def test_the_locks_live_in_the_state_directory_given_and_hold_no_address(state_dir_given: Path) -> None:
    assert state_dir() == state_dir_given
    path = server_lock_path(SERVER)
    assert path.parent == state_dir_given
    assert "ecole" not in path.name


@pytest.fixture
def state_dir_given(state_dir: Path) -> Path:  # conftest's: RECONCILE_STATE_DIR for this test
    return state_dir


HOLD = """
import sys
from pathlib import Path
from reconcile.adapters.journal import exclusive_run
with exclusive_run(sys.argv[1], Path(sys.argv[2])):
    print("tenu", flush=True)
    sys.stdin.read()
"""


@pytest.mark.posix_only
def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, SERVER, str(tmp_path / "un")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "tenu"  # the signal: it holds both locks
        with pytest.raises(ApplicationInProgress), exclusive_run(SERVER, tmp_path / "deux"):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with exclusive_run(SERVER, tmp_path / "un"):  # the system released both locks with the process
        pass


def test_no_module_imports_a_unix_only_module_at_its_top() -> None:
    # The tool must start on Windows too: `fcntl`, `termios`… only inside a function, if at all.
    unix_only = {"fcntl", "termios", "pty", "pwd", "grp", "resource"}
    for module in Path(reconcile.__file__).parent.rglob("*.py"):
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & unix_only, module


def test_the_lock_files_are_removed_when_the_run_ends(tmp_path: Path, state_dir_given: Path) -> None:
    output = tmp_path / "sortie"
    with exclusive_run(SERVER, output):
        assert (output / LOCK_NAME).exists()
    assert not (output / LOCK_NAME).exists()
    assert not server_lock_path(SERVER).exists()
    assert sorted(p.name for p in output.iterdir()) == []


def test_the_lock_files_are_removed_after_a_failed_run_too(tmp_path: Path) -> None:
    output = tmp_path / "sortie"
    with pytest.raises(RuntimeError), exclusive_run(SERVER, output):
        raise RuntimeError("échec au milieu de l'application")
    assert not (output / LOCK_NAME).exists()
    assert not server_lock_path(SERVER).exists()
    with exclusive_run(SERVER, output):  # and the next run takes it again
        pass


def test_a_refused_run_leaves_the_lock_of_the_run_in_progress(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, SERVER, str(tmp_path / "un")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "tenu"
        with pytest.raises(ApplicationInProgress), exclusive_run(SERVER, tmp_path / "un"):
            pass
        assert (tmp_path / "un" / LOCK_NAME).exists()  # still the running one's, still held
        with pytest.raises(ApplicationInProgress), exclusive_run(SERVER, tmp_path / "deux"):
            pass
        assert server_lock_path(SERVER).exists()
    finally:
        holder.stdin.close()  # the holder ends its run normally
        assert holder.wait(timeout=30) == 0
    assert not (tmp_path / "un" / LOCK_NAME).exists()
    assert not server_lock_path(SERVER).exists()
