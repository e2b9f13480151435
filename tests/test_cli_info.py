"""`reconcile info` against the sandbox: what a person sees, and the exit codes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from reconcile.cli import app


def environment(sandbox, password: str | None = None) -> dict[str, str]:
    return {
        "INTRASCOL_URL": sandbox.url,
        "INTRASCOL_LOGIN": sandbox.admin_login,
        "INTRASCOL_PASSWORD": password or sandbox.admin_password,
    }


def test_info_prints_server_version_school_and_counts(sandbox) -> None:
    store = sandbox.store
    result = CliRunner().invoke(app, ["info"], env=environment(sandbox))
    assert result.exit_code == 0, result.output
    pupils = [u for u in store.users() if u.is_pupil]
    for label, value in [
        ("Serveur", sandbox.url),
        ("Version d'IntraScol", store.version),
        ("École", store.school_name),
        ("Classes", str(len(store.classes()))),
        ("Adultes", str(len(store.adults()))),
        ("Élèves", str(len(pupils))),
    ]:
        line = next(line for line in result.output.splitlines() if line.strip().startswith(label))
        assert value in line, line
    assert sandbox.admin_password not in result.output


def test_info_takes_the_url_from_the_option(sandbox) -> None:
    env = environment(sandbox)
    url = env.pop("INTRASCOL_URL")
    result = CliRunner().invoke(app, ["info", "--adresse", url], env={**env, "INTRASCOL_URL": ""})
    assert result.exit_code == 0, result.output


def run_cli(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reconcile", "info"],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_info_with_a_wrong_password_exits_3_in_french(sandbox) -> None:
    result = run_cli(environment(sandbox, password="mauvais-mot-de-passe"))
    assert result.returncode == 3
    assert "identifiant ou mot de passe incorrect" in result.stderr
    assert "mauvais-mot-de-passe" not in result.stdout + result.stderr


def test_info_without_a_server_exits_3(sandbox) -> None:
    env = environment(sandbox)
    sandbox.stop()
    result = run_cli(env)
    assert result.returncode == 3
    assert "ne répond pas" in result.stderr


def test_info_accepts_the_address_of_the_admin_login_page(sandbox) -> None:
    # What the browser shows on the login page (and `reconcile sandbox` prints), pasted as is.
    for pasted in (f"{sandbox.url}admin/login.php", f"{sandbox.url}admin/", sandbox.url.rstrip("/")):
        result = run_cli({**environment(sandbox), "INTRASCOL_URL": pasted})
        assert result.returncode == 0, (pasted, result.stderr)
        assert sandbox.url in result.stdout


def test_info_with_an_address_without_http_exits_3_in_french(sandbox) -> None:
    without_scheme = sandbox.url.removeprefix("http://")
    result = run_cli({**environment(sandbox), "INTRASCOL_URL": without_scheme})
    assert result.returncode == 3
    message = " ".join(result.stderr.split())
    assert f"« {without_scheme} » n'est pas une adresse web" in message
    assert f"http://{without_scheme}" in message
    assert "Traceback" not in result.stderr
    assert "adapters" not in result.stderr  # requests' own English message


def run_without_terminal(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`reconcile info` from a script: stdin from /dev/null and no controlling terminal."""
    return subprocess.run(
        [sys.executable, "-m", "reconcile", "info"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("INTRASCOL_")}, **env},
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_a_login_and_without_a_terminal_the_error_says_what_to_set(sandbox) -> None:
    env = environment(sandbox)
    del env["INTRASCOL_LOGIN"]
    result = run_without_terminal(env)
    assert result.returncode == 1
    assert "donnez --identifiant ou la variable d'environnement INTRASCOL_LOGIN" in " ".join(
        result.stderr.split()
    )


def test_without_a_password_and_without_a_terminal_the_error_says_what_to_set(sandbox) -> None:
    env = environment(sandbox)
    del env["INTRASCOL_PASSWORD"]
    result = run_without_terminal(env)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "mettez-le dans la variable d'environnement INTRASCOL_PASSWORD" in message
    assert "Warning" not in result.stderr  # getpass's English warning about an echoed password


@pytest.mark.posix_only
def test_ctrl_c_during_export_writes_nothing_and_exits_1(sandbox, tmp_path) -> None:
    sandbox.configure(latency=0.5)  # reading the accounts takes a few seconds
    workbook = tmp_path / "rentree.xlsx"
    process = subprocess.Popen(
        [sys.executable, "-m", "reconcile", "export", "-o", str(workbook)],
        env={**os.environ, **environment(sandbox)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupted once it is reading the accounts (its first request for the class list).
    assert sandbox.wait_for_request("admin/classes.php", timeout=60), "export never read the server"
    assert process.poll() is None, "export ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "Export interrompu (Ctrl-C) : aucun classeur n'a été écrit" in " ".join(stderr.split())
    assert "Traceback" not in stderr
    assert not workbook.exists()


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["plan"], "Argument manquant : CLASSEUR."),
        (["plan", "a.xlsx", "b.xlsx"], "Argument(s) en trop : b.xlsx"),
        (
            ["apply", "rentree.xlsx", "--yess"],
            "Option inconnue : --yess (options possibles : --adresse, --oui)",
        ),
        (["info", "--adresse"], "L'option --adresse attend une valeur."),
        (["sandbox", "--port", "abc"], "Valeur invalide pour --port : « abc » n'est pas un nombre entier."),
        (["export", "-o", "/"], "Valeur invalide pour --sortie / -o : « / » est un dossier, pas un fichier."),
        (["exporte"], "Commande inconnue : « exporte »."),
    ],
)
def test_a_mistyped_command_line_is_explained_in_french_and_exits_1(
    arguments: list[str], expected: str
) -> None:
    # Exit 2 means « inachevé, relancez » for reconcile: a typo must not say that.
    result = subprocess.run(
        [sys.executable, "-m", "reconcile", *arguments],
        env={**os.environ, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
