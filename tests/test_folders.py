"""The class folder workaround against the sandbox, over HTTP on loopback.

A class whose work folder holds files cannot be deleted; after the workaround its
files are in a checked zip, byte for byte, the folder is empty, the provisional
pupil is gone and the class can be deleted.
"""

from __future__ import annotations

import os
import zipfile
from datetime import date

import pytest

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.app.folders import FolderStep, archive_class_folder, find_provisional_pupils
from reconcile.core.errors import FolderArchiveError
from reconcile.core.ports import Refusal
from tests.conftest import is_private

DAY = date(2026, 8, 31)


@pytest.fixture
def client(sandbox):
    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as connected:
        yield connected


def folder_contents(store, class_name: str) -> dict[str, bytes]:
    return {f.path: f.data for f in store.files_of(class_name)}


def zip_contents(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_a_class_with_files_is_archived_emptied_then_deletable(sandbox, client, tmp_path):
    store = sandbox.store
    store.add_file("CM2", "Photos/Classe de découverte/nuit/étoiles.raw", bytes(range(256)) * 300)
    store.add_file("CM2", "Exposés/vide.txt", b"")
    store.add_file("CM2", "données.bin", os.urandom(70_000))
    wanted = folder_contents(store, "CM2")
    assert len(wanted) == 8
    untouched = {name: folder_contents(store, name) for name in ("CE1",)}
    common = [(f.path, f.data) for f in store.common_files()]

    client.info()  # so that the state names the school
    state = client.read_state()
    cm2 = state.class_by_name("CM2")
    assert cm2 is not None
    refused = client.delete_classes([cm2.id]).for_subject("CM2")
    assert refused is not None
    assert refused.refusal is Refusal.FOLDER_NOT_EMPTY

    events = []
    before = client.request_count
    result = archive_class_folder(
        client, cm2, tmp_path, on_event=events.append, school=state.school, today=DAY
    )
    requests = client.request_count - before

    assert result.path == tmp_path / "Ecole-elementaire-Jules-Ferry-CM2-2026-08-31.zip"
    assert zip_contents(result.path) == {f"CM2/{path}": data for path, data in wanted.items()}
    assert is_private(result.path)
    assert result.files == 8
    assert result.size == sum(len(d) for d in wanted.values())
    assert folder_contents(store, "CM2") == {}
    assert {name: folder_contents(store, name) for name in untouched} == untouched
    assert [(f.path, f.data) for f in store.common_files()] == common
    assert result.provisional_deleted
    assert store.user(result.provisional_login) is None
    assert find_provisional_pupils(client.read_state()) == ()
    # Create, assign, users' login, folders, listing, one GET per file, delete, listing again,
    # delete the pupil: 8 + files (one more if the admin form token must be fetched first).
    assert requests <= 8 + len(wanted) + 1, requests
    created = next(e for e in events if e.step is FolderStep.PROVISIONAL_CREATED)
    assert created.data["login"] == result.provisional_login
    assert all(str(created.data["password"]) not in e.message for e in events)

    deleted = client.delete_classes([cm2.id]).for_subject("CM2")
    assert deleted is not None
    assert deleted.ok
    assert store.class_named("CM2") is None


def test_a_file_gone_before_its_download_aborts_before_any_deletion(sandbox, client, tmp_path):
    store = sandbox.store
    ce1 = client.read_state().class_by_name("CE1")
    assert ce1 is not None
    wanted = folder_contents(store, "CE1")
    a_pupil = store.pupils_of("CE1")[0]

    def pupil_deletes_a_file_meanwhile(event):
        if event.step is FolderStep.FILES_LISTED:
            first = store.files_of("CE1")[0]
            store.delete_files(a_pupil.login, [first.id])

    with pytest.raises(FolderArchiveError) as caught:
        archive_class_folder(client, ce1, tmp_path, on_event=pupil_deletes_a_file_meanwhile, today=DAY)
    assert not caught.value.files_deleted
    assert "n'a pas pu être téléchargé" in str(caught.value)
    assert len(folder_contents(store, "CE1")) == len(wanted) - 1
    assert list(tmp_path.iterdir()) == []
    assert find_provisional_pupils(client.read_state()) == ()


def test_a_file_added_during_the_archive_stays_and_the_class_is_not_deleted(sandbox, client, tmp_path):
    store = sandbox.store
    ce1 = client.read_state().class_by_name("CE1")
    assert ce1 is not None

    def teacher_adds_a_file(event):
        if event.step is FolderStep.ARCHIVE_VERIFIED:
            store.add_file("CE1", "Dessins/lune.png", b"\x89PNG nouveau")

    with pytest.raises(FolderArchiveError) as caught:
        archive_class_folder(client, ce1, tmp_path, on_event=teacher_adds_a_file, today=DAY)
    assert caught.value.files_deleted
    assert "Dessins/lune.png" in str(caught.value)
    assert folder_contents(store, "CE1") == {"Dessins/lune.png": b"\x89PNG nouveau"}
    (archive,) = tmp_path.iterdir()
    assert set(zip_contents(archive)) == {"CE1/Dessins/soleil.png", "CE1/Poésies/Le Corbeau et le Renard.txt"}
    assert find_provisional_pupils(client.read_state()) == ()
