"""The folder workaround's decisions at precise failure points (in-memory protocol fake).

The end-to-end behaviour over HTTP is in `test_folders.py` against the sandbox;
here each test puts a lost answer or a concurrent change exactly where it wants.
"""

from __future__ import annotations

import os
import zipfile
from datetime import date

import pytest

from reconcile.app.folders import (
    FolderStep,
    archive_class_folder,
    find_provisional_pupils,
    remove_provisional_pupils,
)
from reconcile.core.errors import FolderArchiveError
from reconcile.core.model import SchoolClass, User, UserType
from tests.conftest import is_private
from tests.memory_server import MemoryServer

DAY = date(2026, 8, 31)
CM2 = SchoolClass(4, "CM2 Élan", "prof")
FILES = {
    "exposé.odt": b"PK\x03\x04" + bytes(range(256)) * 40,
    "photos/sortie/1.jpg": b"\xff\xd8\xff" + os.urandom(5000),
    "vide.txt": b"",
}


def school() -> MemoryServer:
    fake = MemoryServer([CM2, SchoolClass(5, "CP", "prof")], [])
    for path, data in FILES.items():
        fake.add_file(4, path, data)
    fake.add_file(5, "cp.txt", b"reste")
    return fake


def archived(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_archive_then_empty_then_remove_the_provisional_pupil(tmp_path):
    fake = school()
    events = []
    result = archive_class_folder(
        fake, CM2, tmp_path, on_event=events.append, today=DAY, school="École Ferry"
    )
    assert result.path == tmp_path / "Ecole-Ferry-CM2-Elan-2026-08-31.zip"
    assert archived(result.path) == {f"CM2 Élan/{p}": d for p, d in FILES.items()}
    assert is_private(result.path)
    assert result.files == 3
    assert result.size == sum(len(d) for d in FILES.values())
    assert fake.files[4] == []
    assert [f.path for f in fake.files[5]] == ["cp.txt"]
    assert result.provisional_deleted
    assert result.provisional_login not in fake.users
    steps = [e.step for e in events]
    assert steps[:4] == [
        FolderStep.CREATING_PROVISIONAL,
        FolderStep.PROVISIONAL_CREATED,
        FolderStep.ASSIGNING_PROVISIONAL,
        FolderStep.PROVISIONAL_ASSIGNED,
    ]
    assert steps.index(FolderStep.ARCHIVE_VERIFIED) < steps.index(FolderStep.DELETING_FILES)
    assert steps[-2:] == [FolderStep.DELETING_PROVISIONAL, FolderStep.PROVISIONAL_DELETED]
    created = events[1]
    assert created.data["login"] == result.provisional_login
    password = created.data["password"]
    assert all(str(password) not in e.message for e in events)


def test_a_file_changed_after_the_listing_aborts_before_any_deletion(tmp_path):
    fake = school()

    def teacher_edits(school_state: MemoryServer) -> None:
        school_state.files[4][0].data += " (corrigé)".encode()

    fake.after_listing = teacher_edits
    with pytest.raises(FolderArchiveError) as caught:
        archive_class_folder(fake, CM2, tmp_path, today=DAY)
    assert not caught.value.files_deleted
    assert "Aucun fichier n'a été supprimé" in str(caught.value)
    assert "exposé.odt" in str(caught.value)
    assert len(fake.files[4]) == 3
    assert list(tmp_path.iterdir()) == []  # no partial archive left behind
    assert find_provisional_pupils(fake.read_state()) == ()


def test_a_file_added_during_the_archive_is_kept_and_reported(tmp_path):
    fake = school()
    fake.after_listing = lambda s: s.add_file(4, "nouveau.txt", b"arrive")
    with pytest.raises(FolderArchiveError) as caught:
        archive_class_folder(fake, CM2, tmp_path, today=DAY)
    assert caught.value.files_deleted
    assert "nouveau.txt" in str(caught.value)
    assert [f.path for f in fake.files[4]] == ["nouveau.txt"]
    (archive,) = tmp_path.iterdir()
    assert len(archived(archive)) == 3


def test_lost_answers_are_read_back_not_repeated_blindly(tmp_path):
    fake = school()
    fake.lose_answer_of = {"create_user", "assign", "delete_files"}
    result = archive_class_folder(fake, CM2, tmp_path, today=DAY)
    assert fake.files[4] == []
    assert len(archived(result.path)) == 3
    # The provisional pupil whose creation answer was lost was adopted, not made twice.
    assert find_provisional_pupils(fake.read_state()) == ()
    assert result.provisional_deleted


def test_an_earlier_archive_is_never_overwritten(tmp_path):
    first = archive_class_folder(school(), CM2, tmp_path, today=DAY)
    second = archive_class_folder(school(), CM2, tmp_path, today=DAY)
    assert first.path is not None
    assert second.path == first.path.with_name("classe-CM2-Elan-2026-08-31-2.zip")
    assert len(archived(first.path)) == 3


def test_an_unsafe_path_is_refused_before_anything_is_deleted(tmp_path):
    fake = school()
    fake.add_file(4, "../../etc/passwd", b"x")
    with pytest.raises(FolderArchiveError, match="chemin relatif sûr"):
        archive_class_folder(fake, CM2, tmp_path, today=DAY)
    assert len(fake.files[4]) == 4
    assert find_provisional_pupils(fake.read_state()) == ()


def test_leftover_cleanup_spares_a_real_pupil_who_got_the_login_again():
    fake = school()
    fake.users["preconcilecm2elan"] = User(
        "preconcilecm2elan", "Reconcile CM2 Élan", "Provisoire", UserType.PUPIL, 4, "a"
    )
    fake.users["reused"] = User("reused", "Durand", "Léo", UserType.PUPIL, 5, "b")
    deleted = remove_provisional_pupils(fake, logins=["preconcilecm2elan", "reused"])
    assert deleted == ("preconcilecm2elan",)
    assert set(fake.users) == {"reused"}
