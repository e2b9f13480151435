"""The client and `reconcile apply` against a second, different implementation of `INTERFACE.md`.

`tests/alt_server.py` keeps to the contract but chooses otherwise than the sandbox
wherever the contract leaves a choice (see its docstring): whatever passes on the
sandbox and fails here relies on something the contract does not promise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.adapters.workbook import write_workbook
from reconcile.app.apply import apply_workbook
from reconcile.app.demo import fill_workbook, rentree
from reconcile.core.errors import AuthenticationFailed
from reconcile.core.model import ServerState, UserType
from reconcile.core.ports import Refusal
from tests.alt_server import ADMIN_LOGIN, DOUBLE_LEVEL, AltServer, alt_school
from tests.test_apply_sandbox import assert_in_wanted_state


@pytest.fixture
def alt() -> Iterator[AltServer]:
    with AltServer(alt_school()) as server:
        yield server


def client_of(server: AltServer, password: str | None = None) -> IntraScolClient:
    return IntraScolClient(
        server.url, server.admin_login, password or server.admin_password, timeout=5, backoff=0.01
    )


def read(server: AltServer) -> ServerState:
    with client_of(server) as client:
        client.info()
        return client.read_state()


def test_admin_login_refused_by_a_page_without_form_is_an_authentication_failure(alt: AltServer) -> None:
    with client_of(alt, "mauvais") as client, pytest.raises(AuthenticationFailed):
        client.log_in()
    with client_of(alt) as client:
        client.log_in()  # a redirection to a full URL is a success


def test_state_is_read_whole_although_the_order_changes_at_every_page(alt: AltServer) -> None:
    expected = alt.state.users
    assert len(expected) > 50  # two pages
    for _ in range(3):
        state = read(alt)
        assert sorted(u.login for u in state.users) == sorted(expected)
        for user in state.users:
            stored = expected[user.login]
            assert (user.first_name, user.last_name) == (stored.first_name, stored.last_name)
            assert user.type is (UserType.PUPIL if stored.type == "eleve" else UserType.ADULT)
            assert user.class_id == stored.class_id
            assert user.password == (stored.password if stored.type == "eleve" else None)
    assert (state.version, state.school) == ("0.1.6", "École élémentaire Louise Michel")
    assert {c.name: c.size for c in state.classes} == {
        c.name: alt.state.size_of(c.id) for c in alt.state.classes.values()
    }
    names = {u.display_name for u in state.users}
    assert {"Œdipe BŒUF", "Łucja KOWALSKA", "Văn An NGUYỄN"} <= names


def test_user_operations_report_each_login_whatever_the_wording(alt: AltServer) -> None:
    with client_of(alt) as client:
        created = client.create_user("Łukasz", "Nguyễn-Lebœuf", UserType.PUPIL)
        stored = alt.state.users[created.login]
        assert (stored.first_name, stored.last_name, stored.password) == (
            "Łukasz",
            "Nguyễn-Lebœuf",
            created.password,
        )
        cp = alt.state.class_named("CP")
        assert client.assign(created.login, cp.id).ok
        teacher = cp.responsible
        moved = client.transfer([created.login, teacher, "inconnu"], alt.state.class_named("CE1").id)
        assert moved.succeeded == (created.login,)
        refused = moved.for_subject(teacher)
        assert refused is not None
        assert refused.refusal is Refusal.NOT_A_PUPIL
        unknown = moved.for_subject("inconnu")
        assert unknown is not None
        assert unknown.refusal is Refusal.UNKNOWN_USER
        single = client.assign(teacher, cp.id)
        assert (single.ok, single.subject, single.refusal) == (False, teacher, Refusal.NOT_A_PUPIL)
        deleted = client.delete_users([created.login, teacher])
        assert deleted.succeeded == (created.login,)
        responsible = deleted.for_subject(teacher)
        assert responsible is not None
        assert responsible.refusal is Refusal.RESPONSIBLE_OF_CLASS
    assert created.login not in alt.state.users


def test_the_administrator_listed_among_the_users_is_never_deleted(alt: AltServer) -> None:
    with client_of(alt) as client:
        assert client.read_state().user(ADMIN_LOGIN) is not None  # this server lists it
        sent = client.request_count
        answer = client.delete_users([ADMIN_LOGIN])
        assert client.request_count == sent  # not even asked
        refused = answer.for_subject(ADMIN_LOGIN)
        assert refused is not None
        assert not refused.ok
    assert ADMIN_LOGIN in alt.state.users


def test_class_operations_and_a_folder_emptied_on_the_users_side(alt: AltServer) -> None:
    with client_of(alt) as client:
        adult = next(u.login for u in alt.state.users.values() if u.last_name == "Martin")
        created = client.create_class("PS-MS", adult)
        assert (created.ok, created.subject) == (True, "PS-MS")
        [new] = [c for c in client.read_classes() if c.name == "PS-MS"]
        assert client.modify_class(new.id, ADMIN_LOGIN).ok
        unknown = client.modify_class(new.id + 1000, ADMIN_LOGIN)  # worded `Classe introuvable.` here
        assert (unknown.ok, unknown.message) == (False, "Classe introuvable.")
        full = alt.state.class_named(DOUBLE_LEVEL)
        answer = client.delete_classes([new.id, full.id])
        assert answer.succeeded == ("PS-MS",)
        refused = answer.for_subject(DOUBLE_LEVEL)
        assert refused is not None
        assert refused.refusal is Refusal.FOLDER_NOT_EMPTY

        pupil = next(u for u in alt.state.users.values() if u.class_id == full.id and u.type == "eleve")
        with pytest.raises(AuthenticationFailed):
            client.user_session(pupil.login, "mauvais")
        session = client.user_session(pupil.login, pupil.password)
        [folder] = [f for f in session.folders() if f.name == "CE2-CM1 ECUREUILS"]
        files = session.files(folder.id)
        assert {f.path: f.size for f in files} == {
            f.path: len(f.data) for f in alt.state.files_of(DOUBLE_LEVEL)
        }
        assert {b"".join(session.download(f.id)) for f in files} == {
            f.data for f in alt.state.files_of(DOUBLE_LEVEL)
        }
        assert session.delete_files(folder.id, [f.id for f in files]).succeeded == tuple(
            f.path for f in files
        )
        session.close()
    assert alt.state.files_of(DOUBLE_LEVEL) == []


def test_an_ended_session_is_opened_again_on_both_sides(alt: AltServer) -> None:
    full = alt.state.class_named(DOUBLE_LEVEL)
    pupil = next(u for u in alt.state.users.values() if u.class_id == full.id)
    with client_of(alt) as client:
        session = client.user_session(pupil.login, pupil.password)
        [folder] = [f for f in session.folders() if f.name == "CE2-CM1 ECUREUILS"]
        client.read_classes()
        alt.app.sessions.clear()  # both sessions end (a full-URL redirection to each login page)
        assert client.delete_users(["inconnu"]).for_subject("inconnu") is not None
        alt.app.sessions.clear()
        assert len(session.files(folder.id)) == 2
        session.close()


def test_reconcile_apply_of_a_rentree_is_verified_then_sends_no_post(alt: AltServer, tmp_path: Path) -> None:
    before = read(alt)
    wanted = rentree(before)
    workbook = tmp_path / "rentree.xlsx"
    write_workbook(before, workbook, server_url=alt.url, exported_at=datetime(2026, 6, 30, 18, 0))
    fill_workbook(workbook, wanted, before)
    command = [sys.executable, "-m", "reconcile", "apply", str(workbook), "--adresse", alt.url,
               "--identifiant", alt.admin_login, "--oui"]  # fmt: skip
    environment = {**os.environ, "INTRASCOL_PASSWORD": alt.admin_password, "COLUMNS": "200"}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    after = read(alt)
    assert_in_wanted_state(after, wanted, before)
    assert alt.state.files == {}  # the double-level class's folder was archived, then the class deleted
    [archive] = tmp_path.glob("*.zip")
    top = "CE2-CM1 ECUREUILS"  # the folder's name on the server
    with zipfile.ZipFile(archive) as saved:
        assert sorted(saved.namelist()) == [f"{top}/Exposés/les volcans.odt", f"{top}/photo classe.jpg"]
    assert not [u for u in alt.state.users.values() if u.first_name == "Provisoire"]

    posts_before = alt.app.form_posts
    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert alt.app.form_posts == posts_before  # logging in and reading only
    assert read(alt).fingerprint() == after.fingerprint()


def test_apply_after_lost_answers_adopts_and_rereads_then_is_verified(alt: AltServer, tmp_path: Path) -> None:
    before = read(alt)
    wanted = rentree(before)
    alt.app.lost_answers.update(
        {"admin/ajout_utilisateur.php": 1, "admin/utilisateurs.php": 2, "admin/classes.php": 1}
    )
    with client_of(alt) as client:
        run = apply_workbook(client, wanted, workbook=tmp_path / "rentree.xlsx", output_dir=tmp_path,
                             confirm=lambda _preparation: True, retry_delay=0.001)  # fmt: skip
    assert run.outcome.complete, run.outcome.reason
    assert run.verification is not None
    assert run.verification.ok, run.verification.differences
    assert not any(alt.app.lost_answers.values())  # every fault happened
    assert_in_wanted_state(read(alt), wanted, before)  # each new person created once
