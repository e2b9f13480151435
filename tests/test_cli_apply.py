"""`reconcile apply` as the secretary runs it: a process, a filled workbook, the sandbox over HTTP."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.journal import JOURNAL_NAME, LOCK_NAME
from reconcile.adapters.reports.apply_report import REPORT_NAME
from reconcile.adapters.workbook import write_workbook
from reconcile.app.demo import fill_workbook, rentree
from reconcile.core.model import ServerState
from reconcile.sandbox import RunningSandbox, SandboxOptions, start_sandbox
from tests.conftest import is_private
from tests.test_apply_sandbox import assert_in_wanted_state


def read(sandbox: RunningSandbox) -> ServerState:
    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as client:
        return client.read_state()


def filled_workbook(sandbox: RunningSandbox, folder: Path) -> tuple[Path, ServerState]:
    state = read(sandbox)
    path = folder / "rentree.xlsx"
    write_workbook(state, path, server_url=sandbox.url, exported_at=datetime(2026, 6, 30, 18, 0))
    fill_workbook(path, rentree(state), state)
    return path, state


def command(sandbox: RunningSandbox, workbook: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "reconcile", "apply", str(workbook), "--adresse", sandbox.url,
            "--identifiant", sandbox.admin_login, *options]  # fmt: skip


def environment(sandbox: RunningSandbox) -> dict[str, str]:
    return {**os.environ, "INTRASCOL_PASSWORD": sandbox.admin_password, "COLUMNS": "200"}


def run_reconcile(
    sandbox: RunningSandbox, *arguments: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Any `reconcile` command against `sandbox`, in a process, its output captured."""
    server = ["--adresse", sandbox.url, "--identifiant", sandbox.admin_login]
    return subprocess.run(
        [sys.executable, "-m", "reconcile", *arguments, *server],
        env=environment(sandbox),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def reconcile_apply(
    sandbox: RunningSandbox, workbook: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return run_reconcile(sandbox, "apply", str(workbook), *options)


def start_apply(sandbox: RunningSandbox, workbook: Path, *options: str) -> subprocess.Popen[str]:
    """`reconcile apply` started in a process, its output captured as text, for a test to stop it."""
    return subprocess.Popen(
        command(sandbox, workbook, *options),
        env=environment(sandbox),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_apply_then_apply_again(sandbox: RunningSandbox, tmp_path: Path) -> None:
    workbook, before = filled_workbook(sandbox, tmp_path)
    done = reconcile_apply(sandbox, workbook, "--oui")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Vérification : le serveur relu est dans l'état demandé." in done.stdout
    after = read(sandbox)
    assert_in_wanted_state(after, rentree(before), before)

    report = tmp_path / REPORT_NAME
    for private in (report, tmp_path / JOURNAL_NAME, tmp_path / "rapport-application.html",
                    tmp_path / "rapport-application.xlsx", tmp_path / "listes-classes.html"):  # fmt: skip
        assert is_private(private), private
    html = (tmp_path / "rapport-application.html").read_text(encoding="utf-8")
    assert "Application terminée et vérifiée" in html
    new_pupils = [u for u in after.users if u.login not in {b.login for b in before.users} and u.password]
    assert new_pupils
    text = report.read_text(encoding="utf-8")
    for pupil in new_pupils:
        assert f"identifiant {pupil.login}, mot de passe {pupil.password}" in text
        assert f"<code>{pupil.password}</code>" in html
        assert pupil.password not in done.stdout + done.stderr  # never on the terminal

    snapshot = sandbox.store.snapshot()
    again = reconcile_apply(sandbox, workbook, "--oui")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Rien à faire" in again.stdout
    assert sandbox.store.snapshot() == snapshot
    assert not (tmp_path / LOCK_NAME).exists()  # the run lock's file goes with the run


def test_without_a_terminal_and_without_yes_nothing_changes(sandbox: RunningSandbox, tmp_path: Path) -> None:
    workbook, _ = filled_workbook(sandbox, tmp_path)
    snapshot = sandbox.store.snapshot()
    refused = reconcile_apply(sandbox, workbook)
    assert refused.returncode == 1
    assert "relancez avec --oui" in refused.stderr
    assert sandbox.store.snapshot() == snapshot


def test_an_ambiguous_drift_is_refused_and_nothing_changes(sandbox: RunningSandbox, tmp_path: Path) -> None:
    leaving = sandbox.store.add_user("Anne Marie", "Dupuis", "eleve", "CM2")
    workbook, _ = filled_workbook(sandbox, tmp_path)  # she leaves with the CM2
    # Since the export, her account was deleted and its login given to another pupil.
    sandbox.store.delete_users([leaving.login])
    other = sandbox.store.add_user("Annemarie", "Dupuis", "eleve", "CP")
    assert other.login == leaving.login
    snapshot = sandbox.store.snapshot()
    refused = reconcile_apply(sandbox, workbook, "--oui")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"L'identifiant {leaving.login} désignait Anne Marie DUPUIS" in " ".join(refused.stderr.split())
    assert sandbox.store.snapshot() == snapshot


def test_a_wrong_password_exits_3_and_changes_nothing(sandbox: RunningSandbox, tmp_path: Path) -> None:
    workbook, _ = filled_workbook(sandbox, tmp_path)
    snapshot = sandbox.store.snapshot()
    env = {**environment(sandbox), "INTRASCOL_PASSWORD": "pas-le-bon"}
    result = subprocess.run(command(sandbox, workbook, "--oui"), env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert result.returncode == 3
    assert sandbox.store.snapshot() == snapshot


def _journal_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 11, 23])
@pytest.mark.posix_only
def test_killed_at_random_points_then_run_again_converges_without_duplicates(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    state_file = tmp_path / "ecole.sqlite"
    with start_sandbox(SandboxOptions(demo=True, seed=3, state=state_file, latency=0.02)) as sandbox:
        for number in range(12):
            sandbox.store.add_file("CE2-CM1", f"Travaux/eleve-{number}.bin", bytes([number]) * 5000)
        workbook, before = filled_workbook(sandbox, tmp_path)
        kills, interrupted = 0, 0
        journal = tmp_path / JOURNAL_NAME
        for _ in range(4):
            seen = _journal_lines(journal)
            process = subprocess.Popen(
                command(sandbox, workbook, "--oui"),
                env=environment(sandbox),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # Wait until this run has begun to change the server, then kill it at a random moment.
            deadline = time.monotonic() + 30
            while process.poll() is None and _journal_lines(journal) <= seen + 2:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.5))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait(timeout=30)
            lines = journal.read_text(encoding="utf-8").splitlines() if journal.exists() else []
            interrupted += bool(lines) and '"verified"' not in lines[-1]
        print(f"{kills} processus tués, dont {interrupted} au milieu de l'application")
        final = reconcile_apply(sandbox, workbook, "--oui")
        assert final.returncode == 0, final.stdout + final.stderr
        assert interrupted >= 1
        assert_in_wanted_state(read(sandbox), rentree(before), before)
        assert [u for u in sandbox.store.users() if u.first_name == "Provisoire"] == []
        archived: dict[str, bytes] = {}
        for archive in tmp_path.glob("*.zip"):
            with zipfile.ZipFile(archive) as saved:
                archived.update({name: saved.read(name) for name in saved.namelist()})
        assert archived == {f"CE2-CM1/Travaux/eleve-{n}.bin": bytes([n]) * 5000 for n in range(12)}


def test_keep_folders_keeps_a_class_whose_folder_holds_files_and_its_teacher(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox.store.add_file("CE2-CM1", "Sorties/photo.jpg", bytes(range(256)) * 10)
    workbook, before = filled_workbook(sandbox, tmp_path)
    result = reconcile_apply(sandbox, workbook, "--oui", "--garder-dossiers")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Classe CE2-CM1 conservée" in result.stdout
    assert sandbox.store.class_named("CE2-CM1") is not None
    assert sandbox.store.files_of("CE2-CM1")[0].data == bytes(range(256)) * 10
    teacher = before.class_by_name("CE2-CM1").responsible_login  # type: ignore[union-attr]
    assert sandbox.store.user(teacher) is not None
    assert sandbox.store.pupils_of("CE2-CM1") == []  # its pupils moved to CM2 all the same
    assert "Procédure manuelle" in (tmp_path / REPORT_NAME).read_text(encoding="utf-8")


def test_a_class_whose_folder_holds_files_is_archived_then_deleted(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    files = {
        "Sorties/photo.jpg": bytes(range(256)) * 40,
        "Sorties/2025/compte rendu é.odt": b"PK\x03\x04" + bytes(1000),
        "affiche.pdf": b"%PDF-1.4\n\x00\xff" * 300,
    }
    for path, data in files.items():
        sandbox.store.add_file("CE2-CM1", path, data)
    workbook, before = filled_workbook(sandbox, tmp_path)
    result = reconcile_apply(sandbox, workbook, "--oui")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sandbox.store.class_named("CE2-CM1") is None
    teacher = before.class_by_name("CE2-CM1").responsible_login  # type: ignore[union-attr]
    assert sandbox.store.user(teacher) is None  # deleted after her class
    assert [u for u in sandbox.store.users() if u.first_name == "Provisoire"] == []
    [archive] = tmp_path.glob("*.zip")
    assert is_private(archive)
    with zipfile.ZipFile(archive) as saved:
        assert {name: saved.read(name) for name in saved.namelist()} == {
            f"CE2-CM1/{path}": data for path, data in files.items()
        }
    assert str(archive) in (tmp_path / REPORT_NAME).read_text(encoding="utf-8")
    lists = tmp_path / "listes-classes.html"
    assert is_private(lists)


def test_a_plan_with_problems_is_refused_with_exit_1_and_nothing_changes(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    state = read(sandbox)
    wanted = rentree(state)
    pupil = next(u for u in wanted.users if u.target_class == "CE1")
    wrong = replace(
        wanted, users=tuple(replace(u, target_class="CM3") if u == pupil else u for u in wanted.users)
    )
    path = tmp_path / "rentree.xlsx"
    write_workbook(state, path, server_url=sandbox.url, exported_at=datetime(2026, 6, 30, 18, 0))
    fill_workbook(path, wrong, state)
    snapshot = sandbox.store.snapshot()
    refused = reconcile_apply(sandbox, path, "--oui")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "CM3" in refused.stderr
    assert sandbox.store.snapshot() == snapshot
    assert not (tmp_path / JOURNAL_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()


def _read_until(descriptor: int, marker: bytes, timeout: float) -> bytes:
    import select  # a terminal's descriptor: POSIX only, so not at the top (Windows imports this file)

    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([descriptor], [], [], 0.2)
        if ready:
            try:
                seen += os.read(descriptor, 65536)
            except OSError:
                break
    return seen


@pytest.mark.posix_only
def test_answering_no_at_the_terminal_prompt_changes_nothing(sandbox: RunningSandbox, tmp_path: Path) -> None:
    import pty  # POSIX only: not at the top, Windows imports this file for its helpers

    workbook, _ = filled_workbook(sandbox, tmp_path)
    snapshot = sandbox.store.snapshot()
    terminal, process_side = pty.openpty()
    process = subprocess.Popen(
        command(sandbox, workbook), env=environment(sandbox), stdin=process_side, stdout=process_side,
        stderr=process_side,
    )  # fmt: skip
    shown = _read_until(terminal, b"[o/N]", 60)
    assert b"Appliquer ces modifications au serveur ?" in shown
    os.write(terminal, b"non\n")
    shown += _read_until(terminal, "rien n'a été modifié".encode(), 30)
    assert process.wait(timeout=30) == 1
    os.close(terminal)
    os.close(process_side)
    assert "Opération annulée" in shown.decode("utf-8", "replace")
    assert sandbox.store.snapshot() == snapshot


def test_a_workbook_from_another_school_is_refused_and_nothing_changes(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # The district adviser filled the workbook of one school, but INTRASCOL_URL names another.
    workbook = tmp_path / "rentree.xlsx"
    export = [sys.executable, "-m", "reconcile", "export", "-o", str(workbook), "--adresse", sandbox.url,
              "--identifiant", sandbox.admin_login]  # fmt: skip
    subprocess.run(export, env=environment(sandbox), capture_output=True, timeout=60, check=True)
    exported = read(sandbox)
    fill_workbook(workbook, rentree(exported), exported)
    with start_sandbox(SandboxOptions(demo=True, seed=2)) as other:
        assert other.store.school_name != sandbox.store.school_name
        snapshot = other.store.snapshot()
        refused = reconcile_apply(other, workbook, "--oui")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        message = " ".join(refused.stderr.split())
        assert f"exporté de « {sandbox.store.school_name} » ({sandbox.url})" in message
        assert f"« {other.store.school_name} »" in message
        assert other.store.snapshot() == snapshot


def test_a_workbook_from_another_server_of_the_same_name_is_refused(
    sandbox: RunningSandbox, empty_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    # Same school name, but none of the exported accounts is on this server: another server.
    workbook, _ = filled_workbook(sandbox, tmp_path)
    empty_sandbox.store.add_user("Jean", "Dupont", "adulte")
    snapshot = empty_sandbox.store.snapshot()
    refused = reconcile_apply(empty_sandbox, workbook, "--oui")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"n'existe sur ce serveur : il a été exporté de {sandbox.url}" in " ".join(refused.stderr.split())
    assert empty_sandbox.store.snapshot() == snapshot


@pytest.mark.posix_only
def test_ctrl_c_during_apply_says_to_run_it_again_and_exits_2(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    workbook, before = filled_workbook(sandbox, tmp_path)
    sandbox.configure(latency=0.05)
    journal = tmp_path / JOURNAL_NAME
    process = start_apply(sandbox, workbook, "--oui")
    deadline = time.monotonic() + 30
    while process.poll() is None and _journal_lines(journal) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "apply ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    message = " ".join(stderr.split())
    assert "Application interrompue (Ctrl-C)" in message
    assert "Relancez la même commande pour reprendre" in message
    assert "Traceback" not in stderr
    sandbox.configure(latency=0.0)
    again = reconcile_apply(sandbox, workbook, "--oui")
    assert again.returncode == 0, again.stdout + again.stderr
    assert_in_wanted_state(read(sandbox), rentree(before), before)
