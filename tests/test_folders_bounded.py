"""Class folder downloads are bounded: streamed to disk, never past the listed size, the limits or the time.

A hostile users' side on loopback (`tests.hostile_users_side`) serves endless, dripping and
large downloads to a process that archives them; the process reports its peak memory. The
sandbox serves the limits' cases through the whole workaround: nothing deleted, the class kept.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest

from reconcile.adapters.archive import ArchiveLimits, size_in_words
from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.reports.apply_report import REPORT_NAME
from reconcile.app.folders import archive_class_folder, find_provisional_pupils
from reconcile.core.errors import FolderArchiveError
from tests.hostile_users_side import HostileFile, drip, endless, generated, hostile_users_side
from tests.test_cli_apply import command, environment, filled_workbook

DAY = date(2026, 8, 31)
MIB = 1024 * 1024
PEAK_MB = 150
"""What the archiving process may reach: Python, requests, BeautifulSoup and the zip (about 60 Mo)."""

ARCHIVER = """
import json, sys
from pathlib import Path
from reconcile.adapters import archive
from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.reports.apply_report import REPORT_NAME
from reconcile.core.errors import ReconcileError

url, out, limits = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
options = {"limits": archive.ArchiveLimits(**limits)} if limits else {}
with IntraScolClient(url, "admin", "secret") as client:
    session = client.user_session("eleve", "motdepasse")
    folder = session.folders()[0]
    listing = session.files(folder.id)
    try:
        path = archive.write_checked_archive(
            out, "classe-cm2.zip", class_name="CM2", folder_name=folder.name, listing=listing,
            download=session.download, on_file=lambda index, shared: None, **options,
        )
        result = {"archive": str(path)}
    except ReconcileError as error:
        result = {"error": str(error)}
# VmHWM: the peak of this program only (ru_maxrss would keep the forking test process's).
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
result["peak_mb"] = int(peak.split()[1]) / 1024
print(json.dumps(result))
"""


def _at_most_1_gb() -> None:
    import resource

    # Were the download held in memory, the process fails here instead of eating the machine.
    resource.setrlimit(resource.RLIMIT_AS, (1024 * MIB, 1024 * MIB))


def archive_in_a_process(url: str, out: Path, limits: dict[str, float] | None = None) -> dict[str, object]:
    """Archive the hostile server's folder in a process (2 minutes at most); its result and peak memory."""
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", ARCHIVER, url, str(out), json.dumps(limits or {})],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_at_most_1_gb,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.posix_only
def test_a_file_listed_as_10_bytes_that_never_ends_stops_right_after(tmp_path: Path) -> None:
    with hostile_users_side({"1": HostileFile("Devoirs/sans-fin.txt", 10, endless)}) as server:
        result = archive_in_a_process(server.url, tmp_path / "sortie")
    assert "« CM2 »" in str(result["error"])
    assert "« Devoirs/sans-fin.txt »" in str(result["error"])
    assert "alors que le serveur en annonce 10" in str(result["error"])
    assert "Aucun fichier n'a été supprimé du serveur." in str(result["error"])
    assert float(result["peak_mb"]) < PEAK_MB  # type: ignore[arg-type]
    assert list((tmp_path / "sortie").iterdir()) == []  # no zip, no .partiel
    assert server.deletions == []


@pytest.mark.posix_only
def test_a_large_file_goes_to_disk_without_going_through_memory(tmp_path: Path) -> None:
    size = 400 * MIB
    with hostile_users_side({"1": HostileFile("Vidéos/spectacle.mp4", size, generated(size))}) as server:
        result = archive_in_a_process(server.url, tmp_path / "sortie")
    assert "error" not in result, result
    assert float(result["peak_mb"]) < PEAK_MB  # type: ignore[arg-type]
    with zipfile.ZipFile(str(result["archive"])) as saved:
        assert [(i.filename, i.file_size) for i in saved.infolist()] == [("CM2/Vidéos/spectacle.mp4", size)]


@pytest.mark.posix_only
def test_a_download_that_drips_stops_at_its_time_allowance(tmp_path: Path) -> None:
    limits = {"allowance_seconds": 1.0, "min_bytes_per_second": 1_000_000}
    with hostile_users_side({"1": HostileFile("goutte.bin", 100_000, drip())}) as server:
        result = archive_in_a_process(server.url, tmp_path / "sortie", limits)
    assert "« goutte.bin » n'est pas arrivé dans le temps permis (1 s pour 97,7 Ko" in str(result["error"])
    assert list((tmp_path / "sortie").iterdir()) == []
    assert server.deletions == []


# --- The limits, through the whole workaround on the sandbox ---------------------------------------


@pytest.fixture
def client(sandbox):
    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as connected:
        yield connected


def _refused(sandbox, client, tmp_path: Path, limits: ArchiveLimits) -> str:
    before = {f.path: f.data for f in sandbox.store.files_of("CM2")}
    cm2 = client.read_state().class_by_name("CM2")
    with pytest.raises(FolderArchiveError) as refused:
        archive_class_folder(client, cm2, tmp_path, today=DAY, limits=limits)
    assert {f.path: f.data for f in sandbox.store.files_of("CM2")} == before  # nothing deleted
    assert find_provisional_pupils(client.read_state()) == ()
    assert list(tmp_path.iterdir()) == []
    return str(refused.value)


def test_a_file_over_the_per_file_limit_is_refused_before_any_download(sandbox, client, tmp_path):
    largest = max(len(f.data) for f in sandbox.store.files_of("CM2"))
    sandbox.store.add_file("CM2", "Vidéos/film.mp4", bytes(largest + 1))
    message = _refused(sandbox, client, tmp_path, ArchiveLimits(file_bytes=largest))
    assert message.startswith("Le dossier de travail de la classe « CM2 » n'a pas pu être archivé")
    size, limit = (
        f"{size_in_words(largest + 1)} ({largest + 1} octets)",
        f"{size_in_words(largest)} ({largest} octets)",
    )
    assert f"le fichier « Vidéos/film.mp4 » fait {size}, plus que la limite de {limit} par fichier" in message
    assert "Aucun fichier n'a été supprimé du serveur. La classe n'est pas supprimée." in message


def test_a_folder_over_the_per_folder_limit_is_refused_before_any_download(sandbox, client, tmp_path):
    for number in range(4):
        sandbox.store.add_file("CM2", f"photo-{number}.jpg", bytes(1000))
    total = sum(len(f.data) for f in sandbox.store.files_of("CM2"))
    message = _refused(sandbox, client, tmp_path, ArchiveLimits(folder_bytes=total - 1))
    assert "« CM2 »" in message
    size, limit = (
        f"{size_in_words(total)} ({total} octets)",
        f"{size_in_words(total - 1)} ({total - 1} octets)",
    )
    assert f"le dossier fait {size}, plus que la limite de {limit} par dossier" in message


def test_partial_archives_of_an_interrupted_run_are_removed(sandbox, client, tmp_path):
    left = [tmp_path / ".classe-CM2-2026-08-31.zip.partiel", tmp_path / ".ecole-CE1-2026-08-30.zip.partiel"]
    for path in left:
        path.write_bytes(b"PK\x03\x04 coupe")
    kept = tmp_path / "notes.partiel"
    kept.write_text("pas une archive", encoding="utf-8")
    cm2 = client.read_state().class_by_name("CM2")
    result = archive_class_folder(client, cm2, tmp_path, today=DAY)
    assert result.path == tmp_path / "classe-CM2-2026-08-31.zip"  # its name is free again
    assert not any(path.exists() for path in left)
    assert kept.exists()


def _files_of_2_mib_at_most() -> None:
    import resource

    # A disk that refuses to grow a file past 2 Mio (EFBIG instead of SIGXFSZ's kill).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 * MIB, 2 * MIB))


@pytest.mark.posix_only
def test_a_disk_that_refuses_the_archive_deletes_nothing_and_the_account_is_written(sandbox, tmp_path):
    video = os.urandom(4 * MIB)  # does not compress: the zip passes 2 Mio
    sandbox.store.add_file("CE2-CM1", "Vidéos/sortie.mp4", video)
    workbook, _ = filled_workbook(sandbox, tmp_path)
    done = subprocess.run(
        command(sandbox, workbook, "--yes"),
        env=environment(sandbox),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_files_of_2_mib_at_most,
        check=False,
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert done.returncode == 2, output
    because = (
        f"Le dossier de travail de la classe « CE2-CM1 » n'a pas pu être archivé et vidé : l'archive ne peut "
        f"pas être écrite dans le dossier {tmp_path} : l'archive dépasse la taille qu'un fichier peut avoir "
        "sur ce disque ou pour ce compte. Aucun fichier n'a été supprimé du serveur."
    )
    assert because in " ".join(output.split())
    assert video in [f.data for f in sandbox.store.files_of("CE2-CM1")]
    assert sandbox.store.class_named("CE2-CM1") is not None
    assert [u for u in sandbox.store.users() if u.first_name == "Provisoire"] == []
    assert (tmp_path / "rapport-application.html").exists()
    assert because in " ".join((tmp_path / REPORT_NAME).read_text(encoding="utf-8").split())
    assert list(tmp_path.glob("*.zip")) == list(tmp_path.glob(".*.partiel")) == []


def test_the_folder_is_fsynced_once_the_archive_has_its_name(sandbox, client, tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        if stat.S_ISDIR(os.fstat(descriptor).st_mode):
            synced.append(sorted(p.name for p in tmp_path.iterdir()))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    cm2 = client.read_state().class_by_name("CM2")
    result = archive_class_folder(client, cm2, tmp_path, today=DAY)
    assert synced == [[result.path.name]]  # after the rename: the partial name is gone
