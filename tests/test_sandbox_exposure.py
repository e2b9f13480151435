"""The sandbox stays on this computer unless told otherwise, and a new state has its own admin password."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests

from reconcile.sandbox import SandboxOptions, start_sandbox


def _logs_in(url: str, login: str, password: str) -> bool:
    answer = requests.post(
        url + "admin/login.php",
        data={"login": login, "motdepasse": password},
        allow_redirects=False,
        timeout=10,
    )
    return answer.status_code == 302 and "login.php" not in answer.headers.get("Location", "")


@pytest.mark.parametrize("demo", [True, False])
def test_every_new_state_gets_its_own_random_admin_password(demo: bool) -> None:
    with (
        start_sandbox(SandboxOptions(demo=demo, seed=1)) as first,
        start_sandbox(SandboxOptions(demo=demo, seed=1)) as second,
    ):
        assert first.admin_password != second.admin_password
        assert first.store.snapshot() == second.store.snapshot()  # the same school all the same
        for running in (first, second):
            assert len(running.admin_password) >= 16
            assert running.admin_password.isalnum()
            assert _logs_in(running.url, running.admin_login, running.admin_password)
        assert not _logs_in(first.url, first.admin_login, second.admin_password)


@pytest.mark.parametrize("host", ["0.0.0.0", ""])
def test_an_address_the_network_reaches_is_refused_unless_asked_for(host: str) -> None:
    with pytest.raises(ValueError, match="ajoutez --exposer-au-reseau"):
        start_sandbox(SandboxOptions(demo=False), host=host)
    with start_sandbox(SandboxOptions(demo=False, expose_to_network=True), host=host) as exposed:
        assert _logs_in(
            f"http://127.0.0.1:{exposed.port}/intrascol/", exposed.admin_login, exposed.admin_password
        )


def test_localhost_is_this_computer() -> None:
    with start_sandbox(SandboxOptions(demo=False), host="localhost") as running:
        assert _logs_in(running.url, running.admin_login, running.admin_password)


def _sandbox_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "reconcile", "sandbox", "--port", "0", "--empty", *arguments]


def test_the_command_refuses_a_network_address_in_french_and_listens_nowhere() -> None:
    finished = subprocess.run(
        _sandbox_command("--hote", "0.0.0.0"),
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "300"},
        check=False,
    )
    assert finished.returncode == 1
    assert finished.stdout == ""
    said = " ".join(finished.stderr.split())
    assert "Erreur : --hote 0.0.0.0 rendrait le bac à sable joignable depuis le réseau" in said
    assert "Pour le faire exprès, ajoutez --exposer-au-reseau." in said
    assert "Traceback" not in finished.stderr


@pytest.mark.posix_only
def test_the_command_listens_on_the_network_when_asked_and_says_so() -> None:
    process = subprocess.Popen(
        _sandbox_command("--hote", "0.0.0.0", "--exposer-au-reseau"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in range(11)]
        assert printed[0].startswith("Bac à sable IntraScol : http://0.0.0.0:")
        assert (
            printed[1]
            == "  Attention : joignable depuis le réseau (0.0.0.0), pages et mots de passe en clair.\n"
        )
        assert printed[-1] == "Arrêt : Ctrl-C.\n"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert process.returncode == 0
