"""`reconcile listes` as a person runs it: a subprocess, the password in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest

from reconcile.adapters.reports.class_lists import ClassList, ClassLists, lists_file_stem
from tests.conftest import is_private


def run_listes(sandbox, *arguments: str, cwd=None) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "INTRASCOL_URL": sandbox.url,
        "INTRASCOL_LOGIN": sandbox.admin_login,
        "INTRASCOL_PASSWORD": sandbox.admin_password,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "reconcile", "listes", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def secrets(sandbox) -> list[str]:
    return [sandbox.admin_password, *(u.password for u in sandbox.store.users() if u.is_pupil)]


def test_listes_writes_every_pupil_and_never_prints_a_password(sandbox, tmp_path):
    out = tmp_path / "listes"
    result = run_listes(sandbox, "--dossier-sortie", str(out))
    assert result.returncode == 0, result.stderr
    html_path = out / "listes-classes.html"
    assert str(html_path) in result.stdout
    terminal = result.stdout + result.stderr
    for secret in secrets(sandbox):
        assert secret not in terminal
    assert is_private(html_path)
    html = html_path.read_text(encoding="utf-8")
    for pupil in (u for u in sandbox.store.users() if u.is_pupil):
        assert f'<td class="login">{pupil.login}</td>' in html
        assert f'<td class="motdepasse">{pupil.password}</td>' in html
    assert sandbox.store.school_name in html
    assert html.count('<section class="page classe') == len(sandbox.store.classes())
    pdf_path = out / "listes-classes.pdf"
    if pdf_path.exists():
        assert is_private(pdf_path)
        assert str(pdf_path) in result.stdout


def test_listes_of_one_class_written_in_the_current_folder(sandbox, tmp_path):
    result = run_listes(sandbox, "--classe", "ce2-cm1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "listes-classes-CE2-CM1.html" in result.stdout
    assert not (tmp_path / "listes-classes.html").exists()
    html = (tmp_path / "listes-classes-CE2-CM1.html").read_text(encoding="utf-8")
    assert html.count('<section class="page') == 1
    assert "CE2-CM1" in html
    assert "Élodie SAINT-MARTIN" in html
    for pupil in sandbox.store.pupils_of("CE2-CM1"):
        assert pupil.password in html
    for pupil in sandbox.store.pupils_of("CM2"):
        assert f">{pupil.login}<" not in html


def test_an_unknown_class_is_a_french_error_and_no_file(sandbox, tmp_path):
    result = run_listes(sandbox, "--classe", "CM3", "--dossier-sortie", str(tmp_path / "rien"))
    assert result.returncode == 1
    assert "La classe « CM3 » n'existe pas sur le serveur" in result.stderr
    assert "« CE2-CM1 »" in result.stderr
    assert not (tmp_path / "rien").exists()


def test_a_wrong_password_exits_3_and_writes_nothing(sandbox, tmp_path):
    environment = {**os.environ, "INTRASCOL_URL": sandbox.url, "INTRASCOL_LOGIN": sandbox.admin_login}
    environment["INTRASCOL_PASSWORD"] = "pas-le-bon"
    result = subprocess.run(
        [sys.executable, "-m", "reconcile", "listes", "--dossier-sortie", str(tmp_path / "rien")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 3
    assert "identifiant ou mot de passe incorrect" in result.stderr
    assert "pas-le-bon" not in result.stdout + result.stderr
    assert not (tmp_path / "rien").exists()


def test_listes_into_a_folder_it_cannot_write_is_a_french_error(sandbox, tmp_path):
    # --dossier-sortie naming a file (the workbook, typed by mistake): the folder cannot be made.
    workbook = tmp_path / "rentree.xlsx"
    workbook.write_bytes(b"")
    result = run_listes(sandbox, "--dossier-sortie", str(workbook))
    assert result.returncode == 1
    assert f"Impossible d'écrire dans le dossier {workbook}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_the_lists_of_some_classes_never_replace_the_whole_schools(sandbox, tmp_path):
    whole = run_listes(sandbox, cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    school_lists = {p.name: p.read_bytes() for p in tmp_path.glob("listes-classes.*")}
    assert "listes-classes.html" in school_lists

    one = run_listes(sandbox, "--classe", "cm1", cwd=tmp_path)
    two = run_listes(sandbox, "--classe", "CM2", "--classe", "ce2-cm1", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert {p.name: p.read_bytes() for p in tmp_path.glob("listes-classes.*")} == school_lists
    assert "listes-classes-CM1.html" in one.stdout
    assert "listes-classes-CM2+CE2-CM1.html" in two.stdout
    one_class = (tmp_path / "listes-classes-CM1.html").read_text(encoding="utf-8")
    assert one_class.count('<section class="page') == 1
    if (tmp_path / "listes-classes.pdf").exists():  # the PDF when DejaVu is installed
        assert (tmp_path / "listes-classes-CM1.pdf").exists()


@pytest.mark.parametrize(
    ("names", "stem"),
    [
        (["CM1"], "listes-classes-CM1"),
        (["CE2 / CM1"], "listes-classes-CE2-CM1"),
        (["Petite section", "ULIS"], "listes-classes-Petite-section+ULIS"),
        (["../..\\C:"], "listes-classes-C"),
        (["???"], "listes-classes-classe"),
        ([f"Classe numéro {n} de l'école" for n in range(5)], "listes-classes-5-classes"),
    ],
)
def test_the_file_name_of_chosen_classes_is_a_plain_name_on_every_system(names, stem):
    lists = ClassLists(
        school="École",
        generated_at=datetime(2026, 9, 1),
        classes=tuple(ClassList(name, "", ()) for name in names),
        without_class=(),
    )
    assert lists_file_stem(lists) == stem
