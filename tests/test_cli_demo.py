"""`reconcile demo` (what `make demo` runs): the whole cycle on the embedded sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconcile.app.demo import DEMO_FILES, DEMO_MARKER, prepare_demo_folder, record_demo_files
from reconcile.cli import app
from reconcile.core.errors import ReconcileError
from tests.conftest import is_private


def test_the_demo_runs_the_whole_cycle_and_says_where_everything_is(tmp_path: Path) -> None:
    output = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "reconcile", "demo", "--dossier-sortie", str(output)],
        env={**os.environ, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Vérification : le serveur relu est dans l'état demandé." in result.stdout
    for name in ("rentree.xlsx", "rapport-plan.html", "rapport-application.html", "listes-classes.html"):
        assert (output / name).is_file(), name
    assert str(output / "rapport-application.html") in result.stdout
    assert is_private(output / "rapport-application.html")
    [archive] = output.glob("*.zip")
    with zipfile.ZipFile(archive) as saved:
        assert {name.split("/", 1)[1]: saved.read(name) for name in saved.namelist()} == DEMO_FILES
    (output / "mes-notes.txt").write_text("à garder", encoding="utf-8")  # the user's, among the demo's
    (output / "copie").mkdir()
    (output / "copie" / "rentree.xlsx").write_bytes(b"ma copie")
    again = subprocess.run(
        [sys.executable, "-m", "reconcile", "demo", "--dossier-sortie", str(output)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr  # `make demo` twice: the demo starts over
    assert len(list(output.glob("*.zip"))) == 1
    assert (output / "mes-notes.txt").read_text(encoding="utf-8") == "à garder"
    assert (output / "copie" / "rentree.xlsx").read_bytes() == b"ma copie"


def test_the_demo_never_empties_a_folder_it_did_not_make(tmp_path: Path) -> None:
    mine = tmp_path / "mes-documents"
    mine.mkdir()
    (mine / "rentree.xlsx").write_bytes(b"le vrai classeur")
    result = subprocess.run(
        [sys.executable, "-m", "reconcile", "demo", "--dossier-sortie", str(mine)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "ne viennent pas de la démonstration" in result.stderr
    assert (mine / "rentree.xlsx").read_bytes() == b"le vrai classeur"


def test_the_demo_in_a_folder_it_cannot_make_is_a_french_error(tmp_path: Path) -> None:
    # --dossier-sortie naming a file: the demo folder cannot be made there.
    a_file = tmp_path / "rentree.xlsx"
    a_file.write_bytes(b"le vrai classeur")
    result = subprocess.run(
        [sys.executable, "-m", "reconcile", "demo", "--dossier-sortie", str(a_file)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"Impossible d'écrire dans le dossier {a_file}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert a_file.read_bytes() == b"le vrai classeur"


def test_the_demo_hands_the_password_to_its_steps_not_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INTRASCOL_PASSWORD", raising=False)
    result = CliRunner().invoke(app, ["demo", "--dossier-sortie", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert "Vérification : le serveur relu est dans l'état demandé." in result.output
    assert "INTRASCOL_PASSWORD" not in os.environ


def a_demo_folder(folder: Path) -> None:
    """What a finished demo leaves, without running one: its files and their list."""
    demo = prepare_demo_folder(folder)
    for name in ("rentree.xlsx", "rapport-plan.html", DATED_COPY):
        (folder / name).write_text(f"écrit par la démonstration : {name}", encoding="utf-8")
    record_demo_files(demo)


def test_a_second_demo_removes_only_the_files_the_first_one_wrote(tmp_path: Path) -> None:
    folder = tmp_path / "demo-rentree"
    a_demo_folder(folder)
    (folder / "notes de la directrice.odt").write_bytes(b"mes notes")
    demo = prepare_demo_folder(folder)
    assert sorted(p.name for p in folder.iterdir()) == [DEMO_MARKER, "notes de la directrice.odt"]
    assert demo.others == {"notes de la directrice.odt"}
    (folder / "rentree.xlsx").write_bytes(b"classeur de cette demo")
    record_demo_files(demo)
    marker = (folder / DEMO_MARKER).read_text(encoding="utf-8")
    assert "rentree.xlsx" in marker
    assert "notes" not in marker  # never the user's: never removed by a later demo


DATED_COPY = "rapport-application-2026-09-01-08h30.html"


@pytest.mark.parametrize(
    "change",
    [
        lambda folder: (folder / "rapport-plan.html").write_text("mes annotations", encoding="utf-8"),
        lambda folder: (folder / DATED_COPY).write_text("modifié", encoding="utf-8"),
        lambda folder: (folder / "listes-classes.pdf").write_bytes(b"mes listes"),  # the demo writes it
    ],
    ids=["fichier-de-la-demo-modifie", "copie-datee-modifiee", "fichier-que-la-demo-remplacerait"],
)
def test_a_demo_file_changed_or_one_the_demo_would_replace_is_refused_and_nothing_removed(
    tmp_path: Path, change
) -> None:
    folder = tmp_path / "demo-rentree"
    a_demo_folder(folder)
    change(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ReconcileError) as refused:
        prepare_demo_folder(folder)
    message = str(refused.value)
    assert "que la démonstration remplacerait mais qu'elle n'a pas écrits, ou qui ont été modifiés" in message
    assert "Rien n'a été effacé" in message
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
