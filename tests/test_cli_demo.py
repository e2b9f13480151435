"""`reconcile demo` (what `make demo` runs): the whole cycle on the embedded sandbox."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconcile.app.demo import DEMO_FILES
from reconcile.cli import app


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
    assert stat.S_IMODE((output / "rapport-application.html").stat().st_mode) == 0o600
    [archive] = output.glob("*.zip")
    with zipfile.ZipFile(archive) as saved:
        assert {name.split("/", 1)[1]: saved.read(name) for name in saved.namelist()} == DEMO_FILES
    again = subprocess.run(
        [sys.executable, "-m", "reconcile", "demo", "--dossier-sortie", str(output)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr  # `make demo` twice: the demo starts over
    assert len(list(output.glob("*.zip"))) == 1


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
