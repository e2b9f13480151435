"""The wheel `make dist` builds holds everything the tool needs: installed (not editable) in a fresh
virtual environment, `reconcile demo` runs from it, far from the source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import reconcile

SOURCE = Path(reconcile.__file__).resolve().parent.parent
BUILD_TIMEOUT = 600  # the build's own setuptools may come from the package index


def run(*command: str | Path, cwd: Path | None = None, timeout: float = BUILD_TIMEOUT) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**environment, "COLUMNS": "200", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_wheel(folder: Path) -> Path:
    """What `make dist` does, on a copy of the project's sources (the tree is left clean)."""
    source = folder / "source"
    shutil.copytree(
        SOURCE / "reconcile", source / "reconcile", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(SOURCE / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", folder / "dist", source)
    [wheel] = (folder / "dist").glob("reconcile-*.whl")
    return wheel


def fresh_environment(folder: Path) -> Path:
    """A new virtual environment that sees this one's packages (the dependencies) but not reconcile.

    A `.pth` file adds this environment's site-packages after the new one's: the dependencies
    are found without a download, and the `.pth` files there (the editable install of reconcile)
    are not read.
    """
    venv = folder / "venv"
    run(sys.executable, "-m", "venv", venv, timeout=300)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site_packages = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "dependances-du-test.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return python


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_environment_runs_the_demo(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as built:
        names = set(built.namelist())
    for data in (
        "reconcile/adapters/templates/rentree_template.xlsx",
        "reconcile/sandbox/templates/base.html",
    ):
        assert data in names, data

    python = fresh_environment(tmp_path)
    work = tmp_path / "ailleurs"
    work.mkdir()
    absent = subprocess.run([python, "-c", "import reconcile"], cwd=work, capture_output=True, timeout=120)
    assert absent.returncode != 0  # nothing of the source tree or of the editable install is seen
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed", wheel)
    where = run(python, "-c", "import reconcile; print(reconcile.__file__)", cwd=work).strip()
    assert Path(where).resolve().is_relative_to(python.parent.parent.resolve()), where  # the wheel's copy

    script = python.parent / ("reconcile.exe" if os.name == "nt" else "reconcile")
    shown = run(script, "demo", cwd=work, timeout=300)
    assert "Vérification : le serveur relu est dans l'état demandé." in shown
    for name in ("rentree.xlsx", "rapport-plan.html", "rapport-application.html", "listes-classes.html"):
        assert (work / "demo-rentree" / name).is_file(), name
