"""The client end to end against the sandbox, over real HTTP on loopback.

Every page and every refusal of INTERFACE.md through `IntraScolClient`, Latin-1
round trips of names, pagination, expired sessions, the `jeton`, the fault modes
and the users' side. The sandbox's `store` is only used to set up a school and to
check what the server really holds.
"""

from __future__ import annotations

import math
import socket
import time

import pytest

from reconcile.adapters.intrascol.client import IntraScolClient, ServerInfo
from reconcile.core.errors import (
    AnswerLost,
    AuthenticationFailed,
    PageNotRecognised,
    ServerFailure,
    ServerRefused,
    ServerUnreachable,
)
from reconcile.core.model import UserType
from reconcile.core.ports import Refusal


def connect(sandbox, **settings) -> IntraScolClient:
    settings.setdefault("backoff", 0.01)
    return IntraScolClient(sandbox.url, sandbox.admin_login, sandbox.admin_password, **settings)


@pytest.fixture
def client(sandbox):
    with connect(sandbox) as connected:
        yield connected


@pytest.fixture
def empty_client(empty_sandbox):
    with connect(empty_sandbox) as connected:
        yield connected


@pytest.fixture
def school(empty_sandbox):
    """A small school: two teachers, classes CP (3 pupils) and CM2 (1 pupil, files)."""
    store = empty_sandbox.store
    store.add_user("Claire", "Martin", "adulte")
    store.add_user("Éric", "N'Diaye", "adulte")
    teachers = {u.last_name: u.login for u in store.adults()}
    store.add_class("CP", teachers["Martin"])
    store.add_class("CM2", teachers["N'Diaye"])
    for first, last in [("Zoé", "Lefèvre"), ("Hugo", "Petit"), ("Inès", "Roux")]:
        store.add_user(first, last, "eleve", "CP")
    store.add_user("Jules", "Blanc", "eleve", "CM2")
    store.add_file("CM2", "Projets/exposé.odt", b"\x00odt\xff" * 100)
    store.add_file("CM2", "poème.txt", b"Le Corbeau et le Renard\n")
    return empty_sandbox


def pupil(store, first_name: str) -> str:
    return next(u.login for u in store.users() if u.first_name == first_name)


def class_id(store, name: str) -> int:
    found = store.class_named(name)
    assert found is not None
    return int(found.id)


def logged_in(sandbox) -> IntraScolClient:
    connected = connect(sandbox)
    connected.log_in()
    return connected


# --- Connecting and reading -------------------------------------------------------------


def test_info_gives_version_and_school(client, sandbox) -> None:
    assert client.info() == ServerInfo(sandbox.store.version, sandbox.store.school_name)


def test_wrong_admin_password_is_refused_in_french(sandbox) -> None:
    wrong = IntraScolClient(sandbox.url, sandbox.admin_login, "pas-le-bon")
    with pytest.raises(AuthenticationFailed, match="identifiant ou mot de passe incorrect"):
        wrong.info()


def test_a_user_account_cannot_log_in_as_administrator(school) -> None:
    user = school.store.users()[0]
    with pytest.raises(AuthenticationFailed):
        IntraScolClient(school.url, user.login, user.password).log_in()


def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = IntraScolClient(
        f"http://127.0.0.1:{port}/intrascol/", "admin", "x", get_retries=1, backoff=0
    )
    with pytest.raises(ServerUnreachable, match="ne répond pas"):
        unreachable.info()
    assert unreachable.request_count == 2  # the first try and one retry


def test_a_url_that_is_not_intrascol_is_not_recognised(sandbox) -> None:
    elsewhere = IntraScolClient(sandbox.url.replace("/intrascol/", "/autre/"), "admin", "x")
    with pytest.raises(PageNotRecognised, match="Ce serveur est-il bien un serveur IntraScol"):
        elsewhere.log_in()


def test_read_state_shows_what_the_server_holds(client, sandbox) -> None:
    store = sandbox.store
    state = client.read_state()
    assert len(state.users) > 50  # the demo school needs several pages
    assert {(c.id, c.name, c.responsible_login, c.size) for c in state.classes} == {
        (c.id, c.name, c.responsible, c.size) for c in store.classes()
    }
    assert {(u.login, u.last_name, u.first_name, u.type.value, u.class_id) for u in state.users} == {
        (u.login, u.last_name, u.first_name, u.type, u.class_id) for u in store.users()
    }
    for stored in store.users():
        read = state.user(stored.login)
        assert read is not None
        assert read.password == (stored.password if stored.is_pupil else None)


def test_read_state_costs_one_request_per_page(client, sandbox) -> None:
    client.log_in()
    before = client.request_count
    pages: list[tuple[int, int]] = []
    state = client.read_state(progress=lambda page, users: pages.append((page, users)))
    user_pages = math.ceil(len(sandbox.store.users()) / 50)
    assert client.request_count - before == 1 + user_pages
    assert [page for page, _ in pages] == list(range(1, user_pages + 1))
    assert pages[-1][1] == len(state.users)


def test_read_state_follows_pagination_beyond_fifty(empty_sandbox, empty_client) -> None:
    store = empty_sandbox.store
    for number in range(120):
        store.add_user(f"Prénom{number}", f"Nom{number}", "eleve")
    state = empty_client.read_state()
    assert sorted(u.login for u in state.users) == sorted(u.login for u in store.users())
    assert len(state.users) == 120 + len(store.adults())


# --- Creating users, Latin-1 round trips -------------------------------------------------


@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        ("Łukasz", "Kowalski"),
        ("Thi", "Nguyễn"),
        ("Aïssata", "N'Diaye"),
        ("Zoé", "Lefèvre"),
        ("Œdipe", "Cœur"),
        ("Jean-Baptiste", "De La Fontaine"),
    ],
)
def test_names_round_trip_through_latin_1_forms(empty_sandbox, empty_client, first_name, last_name) -> None:
    created = empty_client.create_user(first_name, last_name, UserType.PUPIL)
    stored = empty_sandbox.store.user(created.login)
    assert (stored.first_name, stored.last_name) == (first_name, last_name)
    read = empty_client.read_state().user(created.login)
    assert (read.first_name, read.last_name, read.type) == (first_name, last_name, UserType.PUPIL)
    assert read.password == created.password == stored.password


def test_created_adult_gets_the_server_made_login_and_password(empty_sandbox, empty_client) -> None:
    created = empty_client.create_user("Claire", "Martin", UserType.ADULT)
    stored = empty_sandbox.store.user(created.login)
    assert stored.type == "adulte"
    assert stored.password == created.password
    assert empty_client.read_state().user(created.login).password is None  # shown as ********


def test_homonyms_get_two_logins(empty_client) -> None:
    first = empty_client.create_user("Léa", "Martin", UserType.PUPIL)
    second = empty_client.create_user("Léa", "Martin", UserType.PUPIL)
    assert first.login != second.login


@pytest.mark.parametrize(
    ("first_name", "last_name", "message"),
    [("", "Martin", "Le prénom est vide."), ("Léa", "  ", "Le nom est vide.")],
)
def test_creation_refusals_raise(empty_sandbox, empty_client, first_name, last_name, message) -> None:
    before = empty_sandbox.store.snapshot()
    with pytest.raises(ServerRefused) as refused:
        empty_client.create_user(first_name, last_name, UserType.PUPIL)
    assert refused.value.server_message == message
    assert empty_sandbox.store.snapshot() == before


# --- Assigning, transferring, deleting users ---------------------------------------------


def test_assign_a_new_pupil_to_a_class(school) -> None:
    client = logged_in(school)
    created = client.create_user("Nour", "Haddad", UserType.PUPIL)
    before = client.request_count
    outcome = client.assign(created.login, class_id(school.store, "CP"))
    assert client.request_count - before == 1
    assert (outcome.ok, outcome.subject) == (True, created.login)
    assert school.store.user(created.login).class_name == "CP"


def test_assign_refusals(school) -> None:
    client = logged_in(school)
    teacher = school.store.adults()[0].login
    adult = client.assign(teacher, class_id(school.store, "CP"))
    assert (adult.ok, adult.subject, adult.refusal) == (False, teacher, Refusal.NOT_A_PUPIL)
    unknown = client.assign(pupil(school.store, "Zoé"), 999)
    assert (unknown.ok, unknown.refusal) == (False, Refusal.UNKNOWN_DESTINATION)
    assert school.store.user(pupil(school.store, "Zoé")).class_name == "CP"


def test_transfer_a_batch_in_one_post(school) -> None:
    store = school.store
    client = logged_in(school)
    movers = [pupil(store, "Zoé"), pupil(store, "Hugo")]
    teacher = store.adults()[0].login
    client.read_state()  # the token is now known
    before = client.request_count
    batch = client.transfer([*movers, teacher, "fantome"], class_id(store, "CM2"))
    assert client.request_count - before == 1
    assert set(batch.succeeded) == set(movers)
    assert batch.for_subject(teacher).refusal is Refusal.NOT_A_PUPIL
    assert batch.for_subject("fantome").refusal is Refusal.UNKNOWN_USER
    assert [u.login for u in store.pupils_of("CM2")].count(movers[0]) == 1
    assert {u.class_name for u in map(store.user, movers)} == {"CM2"}


def test_transfer_to_an_unknown_class_moves_nobody(school) -> None:
    client = logged_in(school)
    before = school.store.snapshot()
    batch = client.transfer([pupil(school.store, "Zoé")], 999)
    assert [(i.ok, i.refusal) for i in batch.items] == [(False, Refusal.UNKNOWN_DESTINATION)]
    assert school.store.snapshot() == before


def test_delete_users_in_one_post_with_refusals(school) -> None:
    store = school.store
    client = logged_in(school)
    leaver = pupil(store, "Inès")
    responsible = store.class_named("CP").responsible
    client.read_state()
    before = client.request_count
    batch = client.delete_users([leaver, responsible, "fantome"])
    assert client.request_count - before == 1
    assert batch.succeeded == (leaver,)
    assert batch.for_subject(responsible).refusal is Refusal.RESPONSIBLE_OF_CLASS
    assert batch.for_subject("fantome").refusal is Refusal.UNKNOWN_USER
    assert store.user(leaver) is None
    assert store.user(responsible) is not None


def test_empty_batches_cost_nothing(school) -> None:
    client = logged_in(school)
    before = client.request_count
    assert client.delete_users([]).items == ()
    assert client.transfer([], 1).items == ()
    assert client.delete_classes([]).items == ()
    assert client.request_count == before


# --- Classes ------------------------------------------------------------------------------


def test_create_class_and_its_refusals(school) -> None:
    store = school.store
    client = logged_in(school)
    teacher = store.adults()[0].login
    created = client.create_class("CE1 Œuvre", teacher)
    assert (created.ok, created.subject) == (True, "CE1 Œuvre")
    assert store.class_named("CE1 Œuvre").responsible == teacher
    refusals = [
        client.create_class("cp", teacher),
        client.create_class("  ", teacher),
        client.create_class("CE2", "inconnu"),
        client.create_class("CE2", pupil(store, "Zoé")),
    ]
    assert [(r.ok, r.refusal) for r in refusals] == [
        (False, Refusal.CLASS_EXISTS),
        (False, Refusal.EMPTY_NAME),
        (False, Refusal.UNKNOWN_RESPONSIBLE),
        (False, Refusal.UNKNOWN_RESPONSIBLE),
    ]
    assert refusals[0].subject == "cp"  # the message names no class: the name posted
    assert store.class_named("CE2") is None


def test_modify_class_changes_the_teacher_and_keeps_the_name(school) -> None:
    store = school.store
    client = logged_in(school)
    cp = store.class_named("CP")
    other = next(a.login for a in store.adults() if a.login != cp.responsible)
    outcome = client.modify_class(cp.id, other)
    assert (outcome.ok, outcome.subject) == (True, "CP")
    assert store.class_named("CP").responsible == other
    refused = client.modify_class(cp.id, "inconnu")
    assert (refused.ok, refused.refusal) == (False, Refusal.UNKNOWN_RESPONSIBLE)
    assert store.class_named("CP").responsible == other


def test_delete_classes_per_class_result_by_name(school) -> None:
    store = school.store
    client = logged_in(school)
    cp_pupils = [u.login for u in store.pupils_of("CP")]
    batch = client.delete_classes([class_id(store, "CP"), class_id(store, "CM2")])
    assert batch.succeeded == ("CP",)
    assert batch.for_subject("CM2").refusal is Refusal.FOLDER_NOT_EMPTY
    assert store.class_named("CP") is None
    assert store.class_named("CM2") is not None
    state = client.read_state()
    assert all(state.user(login).class_id is None for login in cp_pupils)  # "classe : aucune"


# --- Sessions and the jeton ---------------------------------------------------------------


def test_session_expiry_in_the_middle_of_a_sequence(school) -> None:
    store = school.store
    school.configure(session_idle_seconds=60)
    client = logged_in(school)
    teacher = store.adults()[0].login
    assert client.create_class("CE1", teacher).ok
    school.let_time_pass(61)
    before = client.request_count
    assert client.create_class("CE2", teacher).ok  # a POST sent back to login: re-login, re-sent
    assert client.request_count - before == 4  # POST sent back, login, token page, POST
    school.let_time_pass(61)
    state = client.read_state()  # a GET sent back to login
    assert {c.name for c in state.classes} == {"CP", "CM2", "CE1", "CE2"}
    assert [c.name for c in store.classes()].count("CE2") == 1


def test_a_rejected_jeton_is_read_again_and_the_form_sent_once_more(school) -> None:
    client = logged_in(school)
    teacher = school.store.adults()[0].login
    client.read_state()
    client._admin._jeton = "jeton-perime"  # as if the server had renewed it
    before = client.request_count
    assert client.create_class("CE1", teacher).ok
    assert client.request_count - before == 3  # refused POST, token page, POST again
    assert [c.name for c in school.store.classes()].count("CE1") == 1


# --- Faults -------------------------------------------------------------------------------


def test_a_500_before_applying_is_an_answer_lost_and_nothing_changed(school) -> None:
    client = logged_in(school)
    client.read_state()
    before = school.store.snapshot()
    school.configure(fail_before_post=1.0)
    before_count = client.request_count
    with pytest.raises(AnswerLost, match="peut-être été appliquée"):
        client.create_class("CE1", school.store.adults()[0].login)
    assert client.request_count - before_count == 1  # never retried
    assert school.store.snapshot() == before


def test_an_applied_post_whose_answer_is_lost_is_an_answer_lost(school) -> None:
    client = logged_in(school)
    client.read_state()
    school.configure(lose_answer_after_post=1.0)
    leaver = pupil(school.store, "Inès")
    with pytest.raises(AnswerLost):
        client.delete_users([leaver])
    assert school.store.user(leaver) is None  # applied: the caller must re-read
    school.configure(lose_answer_after_post=0.0)
    assert client.read_state().user(leaver) is None


def test_a_post_timing_out_is_an_answer_lost_though_the_server_applies_it(school) -> None:
    client = connect(school, timeout=0.2)
    client.log_in()
    client.read_state()
    school.configure(latency=0.5)
    with pytest.raises(AnswerLost, match="délai"):
        client.create_class("CE1", school.store.adults()[0].login)
    # The server goes on after the client gave up: wait (bounded) for it to finish the request.
    deadline = time.monotonic() + 10
    while school.store.class_named("CE1") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert school.store.class_named("CE1") is not None  # why a lost answer is never re-sent blindly


def test_a_get_timing_out_is_retried_then_unreachable(school) -> None:
    client = connect(school, timeout=0.2, get_retries=1)
    client.log_in()
    school.configure(latency=0.5)
    before = client.request_count
    with pytest.raises(ServerUnreachable, match="délai"):
        client.info()
    assert client.request_count - before == 2


def test_gets_are_retried_through_server_errors(sandbox) -> None:
    sandbox.configure(fail_get=0.3)
    client = connect(sandbox, get_retries=8)
    state = client.read_state()
    assert len(state.users) == len(sandbox.store.users())
    assert client.request_count > 1 + 1 + math.ceil(len(state.users) / 50)  # some were retried


def test_gets_give_up_after_the_retries(school) -> None:
    client = logged_in(school)
    school.configure(fail_get=1.0)
    with pytest.raises(ServerFailure, match="500"):
        client.info()


# --- The users' side ------------------------------------------------------------------------


def test_users_side_list_download_and_delete_files(school) -> None:
    store = school.store
    client = logged_in(school)
    client.read_state()  # the admin's token is now known
    jules = store.user(pupil(store, "Jules"))
    stored_files = {f.path: f.data for f in store.files_of("CM2")}
    session = client.user_session(jules.login, jules.password)
    folder = next(f for f in session.folders() if f.name == "CM2")
    files = session.files(folder.id)
    assert {f.path: f.size for f in files} == {path: len(data) for path, data in stored_files.items()}
    for shared in files:
        assert b"".join(session.download(shared.id)) == stored_files[shared.path]
    batch = session.delete_files(folder.id, [f.id for f in files])
    assert set(batch.succeeded) == set(stored_files)
    assert store.files_of("CM2") == []
    assert session.files(folder.id) == ()
    session.close()
    # The admin session lived on in its own cookie jar (no new login): the class can now go.
    before = client.request_count
    assert client.delete_classes([class_id(store, "CM2")]).succeeded == ("CM2",)
    assert client.request_count - before == 1


def test_users_side_refuses_a_wrong_password_and_unreachable_files(school) -> None:
    store = school.store
    client = logged_in(school)
    zoe = store.user(pupil(store, "Zoé"))
    with pytest.raises(AuthenticationFailed):
        client.user_session(zoe.login, "faux")
    session = client.user_session(zoe.login, zoe.password)  # in CP: CM2's files are out of reach
    assert "CM2" not in {f.name for f in session.folders()}
    with pytest.raises(ServerFailure, match="404"):
        b"".join(session.download(str(store.files_of("CM2")[0].id)))


def test_users_side_logs_in_again_after_expiry(school) -> None:
    store = school.store
    school.configure(session_idle_seconds=60)
    jules = store.user(pupil(store, "Jules"))
    session = logged_in(school).user_session(jules.login, jules.password)
    folder = next(f for f in session.folders() if f.name == "CM2")
    school.let_time_pass(61)
    files = session.files(folder.id)
    school.let_time_pass(61)
    assert b"".join(session.download(files[0].id)) == store.file(int(files[0].id)).data
    school.let_time_pass(61)
    assert session.delete_files(folder.id, [files[0].id]).succeeded == (files[0].path,)
    assert len(store.files_of("CM2")) == len(files) - 1


def test_users_side_counts_its_requests_with_the_client(school) -> None:
    store = school.store
    client = logged_in(school)
    jules = store.user(pupil(store, "Jules"))
    before = client.request_count
    session = client.user_session(jules.login, jules.password)
    session.folders()
    assert client.request_count - before == 2  # login, folder list
