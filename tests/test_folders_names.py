"""Entry names of a class folder's archive that Windows can extract, the originals listed in the zip."""

from __future__ import annotations

import zipfile
from datetime import date

import pytest

from reconcile.adapters.archive_names import ORIGINAL_NAMES_FILE, safe_entry_names
from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.app.folders import archive_class_folder

DAY = date(2026, 8, 31)


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("Aux.tar.gz", "_Aux.tar.gz"),
        ("nul", "_nul"),
        ("COM1.doc", "_COM1.doc"),
        ("lpt9", "_lpt9"),
        ("Photos/PRN.jpg", "Photos/_PRN.jpg"),
        ("COM10.txt", "COM10.txt"),  # not a device
        ("CONSEIL.txt", "CONSEIL.txt"),
        ("a:b.txt", "a_b.txt"),
        ('devoir "final" ?.odt', "devoir _final_ _.odt"),
        ("x<y>|z*.txt", "x_y__z_.txt"),
        ("bip\x07\x1b[31m.txt", "bip__[31m.txt"),
        ("notes.", "notes_"),
        ("photo  ", "photo__"),
        ("dossier./a.txt", "dossier_/a.txt"),
        ("Élève/récit.odt", "Élève/récit.odt"),
    ],
)
def test_a_name_windows_refuses_is_changed(path, safe):
    assert safe_entry_names([path]) == {path: safe}


def test_names_differing_only_by_case_are_numbered_the_same_way_every_time():
    paths = ["rapport.txt", "Rapport.txt", "RAPPORT.TXT", "Photos/a.jpg", "photos/b.jpg", "LISEZ", "lisez/c"]
    names = safe_entry_names(paths)
    assert names == {
        "RAPPORT.TXT": "RAPPORT.TXT",
        "Rapport.txt": "Rapport (2).txt",
        "rapport.txt": "rapport (3).txt",
        "Photos/a.jpg": "Photos/a.jpg",
        "photos/b.jpg": "photos (2)/b.jpg",
        "lisez/c": "lisez/c",  # folders are named first
        "LISEZ": "LISEZ (2)",
    }
    assert safe_entry_names(reversed(paths)) == names
    assert len({name.casefold() for name in names.values()}) == len(paths)


@pytest.fixture
def client(sandbox):
    with IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password) as connected:
        yield connected


def test_an_archive_of_names_windows_refuses_extracts_on_windows_and_lists_the_originals(
    sandbox, client, tmp_path
):
    store = sandbox.store
    for path in (
        "CON",
        "aux.txt",
        "Devoirs/a:b.txt",
        "Devoirs/devoir?.odt",
        "notes.",
        "Rapport.txt",
        "rapport.txt",
    ):
        store.add_file("CM2", path, path.encode() * 10)
    wanted = {f.path: f.data for f in store.files_of("CM2")}
    cm2 = client.read_state().class_by_name("CM2")

    result = archive_class_folder(client, cm2, tmp_path, today=DAY)

    assert store.files_of("CM2") == []  # checked, then deleted
    renamed = {
        "CON": "_CON",
        "aux.txt": "_aux.txt",
        "Devoirs/a:b.txt": "Devoirs/a_b.txt",
        "Devoirs/devoir?.odt": "Devoirs/devoir_.odt",
        "notes.": "notes_",
        "rapport.txt": "rapport (2).txt",
    }
    with zipfile.ZipFile(result.path) as saved:
        contents = {info.filename: saved.read(info) for info in saved.infolist()}
    listing = contents.pop(ORIGINAL_NAMES_FILE).decode("utf-8")
    assert contents == {f"CM2/{renamed.get(path, path)}": data for path, data in wanted.items()}
    assert listing.startswith("Noms d'origine des fichiers renommés dans cette archive\r\n")
    for path, safe in renamed.items():
        assert f"CM2/{safe}\tCM2/{path}\r\n" in listing
    assert "Rapport.txt\t" not in listing  # the first of the two keeps its name
