"""The sandbox seen from outside: raw HTTP with `requests`, as a browser or a client would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from bs4 import BeautifulSoup

from reconcile.sandbox import ADULT, PUPIL, RunningSandbox, SandboxOptions, start_sandbox


def browser_encode(fields: list[tuple[str, str]]) -> bytes:
    """A form body as a browser sends a Latin-1 form: other characters as `&#NNN;`."""
    return urlencode(
        [(name, value.encode("latin-1", errors="xmlcharrefreplace")) for name, value in fields]
    ).encode("ascii")


def parse(response: requests.Response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode("latin-1"), "html.parser")


def messages(response: requests.Response) -> list[tuple[str, str]]:
    page = parse(response)
    return [(p["class"][0], p.get_text()) for p in page.select("p.succes, p.erreur")]


def admin_session(sb: RunningSandbox) -> requests.Session:
    session = requests.Session()
    answer = session.post(
        sb.url + "admin/login.php",
        data={"login": sb.admin_login, "motdepasse": sb.admin_password},
        allow_redirects=False,
    )
    assert answer.status_code == 302
    return session


def jeton_of(session: requests.Session, url: str) -> str:
    page = parse(session.get(url))
    field = page.find("input", attrs={"name": "jeton"})
    assert field is not None
    return str(field["value"])


def post_form(
    session: requests.Session, url: str, fields: list[tuple[str, str]], *, jeton: str | None = None
) -> requests.Response:
    """Posts with the session's jeton (read from the page itself unless given)."""
    token = jeton if jeton is not None else jeton_of(session, url)
    return session.post(
        url,
        data=browser_encode([*fields, ("jeton", token)]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
    )


def test_admin_pages_redirect_to_login_until_logged_in(sandbox: RunningSandbox) -> None:
    anonymous = requests.Session()
    answer = anonymous.get(sandbox.url + "admin/classes.php", allow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/intrascol/admin/login.php")

    session = admin_session(sandbox)
    index = session.get(sandbox.url + "admin/index.php")
    assert index.headers["Content-Type"] == "text/html; charset=ISO-8859-1"
    page = parse(index)
    assert page.select_one("span#version").get_text() == "0.1.7a"
    assert page.select_one("span#ecole").get_text().startswith("École élémentaire")
    assert page.select_one("body > ul#menu") is not None


def user_session(sb: RunningSandbox, login: str, password: str) -> requests.Session:
    session = requests.Session()
    answer = session.post(
        sb.url + "login.php", data={"login": login, "motdepasse": password}, allow_redirects=False
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/intrascol/partages.php")
    return session


def test_wrong_credentials_are_refused_on_both_sides(sandbox: RunningSandbox) -> None:
    pupil = sandbox.store.pupils_of("CM2")[0]
    for url, login, password in [
        (sandbox.url + "admin/login.php", sandbox.admin_login, "pas le bon"),
        (sandbox.url + "admin/login.php", pupil.login, pupil.password),  # only the administrator
        (sandbox.url + "login.php", pupil.login, "pas le bon"),
        (sandbox.url + "login.php", sandbox.admin_login, sandbox.admin_password),  # not the administrator
    ]:
        answer = requests.post(url, data={"login": login, "motdepasse": password}, allow_redirects=False)
        assert answer.status_code == 200
        assert messages(answer) == [("erreur", "Identifiant ou mot de passe incorrect.")]
        assert "PHPSESSID" not in answer.cookies or not answer.is_redirect


@pytest.mark.parametrize(
    "page",
    [
        "admin/index.php",
        "admin/classes.php",
        "admin/ajout_classe.php",
        "admin/modifier_classe.php?id=1",
        "admin/utilisateurs.php",
        "admin/ajout_utilisateur.php",
        "admin/affecter.php",
    ],
)
def test_every_admin_page_starts_with_the_menu_and_carries_the_jeton(
    sandbox: RunningSandbox, page: str
) -> None:
    session = admin_session(sandbox)
    document = parse(session.get(sandbox.url + page))
    body = document.find("body")
    assert body is not None
    first = body.find(True)
    assert first is not None
    assert first.get("id") == "menu"
    links = {a["href"].rsplit("/", 1)[-1]: a.get_text() for a in first.find_all("a")}
    assert links == {
        "index.php": "Accueil",
        "utilisateurs.php": "Liste des utilisateurs",
        "classes.php": "Liste des classes",
        "ajout_utilisateur.php": "Ajouter un utilisateur",
        "ajout_classe.php": "Créer une classe",
        "logout.php": "Déconnexion",
    }
    tokens = {field["value"] for field in document.find_all("input", attrs={"name": "jeton"})}
    assert len(tokens) == 1


def test_logout_ends_the_admin_session(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    session.get(sandbox.url + "admin/logout.php")
    answer = session.get(sandbox.url + "admin/index.php", allow_redirects=False)
    assert answer.status_code == 302


@pytest.mark.parametrize(
    ("page", "fields"),
    [
        ("admin/classes.php", [("action", "supprimer"), ("classes[]", "1")]),
        ("admin/ajout_classe.php", [("nom", "CM2 bis"), ("responsable", "nathalie.vasseur")]),
        ("admin/modifier_classe.php?id=1", [("nom", "Grande section")]),
        ("admin/utilisateurs.php", [("action", "supprimer"), ("utilisateurs[]", "karima.benali")]),
        ("admin/ajout_utilisateur.php", [("prenom", "Paul"), ("nom", "Durand"), ("type", "eleve")]),
        ("admin/affecter.php", [("login", "karima.benali"), ("classe", "1")]),
    ],
)
@pytest.mark.parametrize("jeton", [None, "faux-jeton"])
def test_a_post_without_the_right_jeton_changes_nothing(
    sandbox: RunningSandbox, page: str, fields: list[tuple[str, str]], jeton: str | None
) -> None:
    session = admin_session(sandbox)
    session.get(sandbox.url + "admin/index.php")
    before = sandbox.store.snapshot()
    body = fields if jeton is None else [*fields, ("jeton", jeton)]
    answer = session.post(sandbox.url + page, data=body, allow_redirects=False)
    assert answer.status_code == 200
    assert messages(answer) == [("erreur", "Jeton de formulaire invalide.")]
    assert sandbox.store.snapshot() == before


def test_a_name_outside_latin1_round_trips_as_numeric_references(empty_sandbox: RunningSandbox) -> None:
    sb = empty_sandbox
    session = admin_session(sb)
    url = sb.url + "admin/ajout_utilisateur.php"
    answer = post_form(
        session, url, [("prenom", "Łukasz-Zoé"), ("nom", "N'Diaye De La Fontaine Œ & <b>"), ("type", "eleve")]
    )
    assert messages(answer) == [("succes", "L'utilisateur a été créé.")]
    login = parse(answer).select_one("span#login").get_text()
    stored = sb.store.user(login)
    assert stored is not None
    assert (stored.first_name, stored.last_name) == ("Łukasz-Zoé", "N'Diaye De La Fontaine Œ & <b>")

    listing = session.get(sb.url + "admin/utilisateurs.php?classe=aucune")
    raw = listing.content
    assert "&#321;ukasz-Zo\xe9".encode("latin-1") in raw  # é as one Latin-1 byte, Ł as a reference
    assert b"&#338; &amp; &lt;b&gt;" in raw  # other specials escaped, references not escaped twice
    assert b"&amp;#" not in raw
    row = next(
        r for r in parse(listing).select("tr.utilisateur") if r.select_one("td.login").get_text() == login
    )
    assert row.select_one("td.prenom").get_text() == "Łukasz-Zoé"
    assert row.select_one("td.nom").get_text() == "N'Diaye De La Fontaine Œ & <b>"
    assert row.select_one("td.classe").get("data-id") is None


def test_logins_are_made_by_the_server_homonyms_differ_and_freed_logins_return(
    empty_sandbox: RunningSandbox,
) -> None:
    sb = empty_sandbox
    session = admin_session(sb)
    url = sb.url + "admin/ajout_utilisateur.php"

    def create() -> tuple[str, str]:
        page = parse(post_form(session, url, [("prenom", "Zoé"), ("nom", "Martin"), ("type", "eleve")]))
        return page.select_one("span#login").get_text(), page.select_one("span#motdepasse").get_text()

    first_login, first_password = create()
    second_login, _ = create()
    assert first_login != second_login
    assert sb.store.user(first_login).password == first_password
    answer = post_form(
        session, sb.url + "admin/utilisateurs.php", [("action", "supprimer"), ("utilisateurs[]", first_login)]
    )
    assert messages(answer) == [("succes", f"L'utilisateur {first_login} a été supprimé.")]
    third_login, _ = create()
    assert third_login == first_login


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ([("prenom", " "), ("nom", "Durand"), ("type", "eleve")], ["Le prénom est vide."]),
        ([("prenom", "Paul"), ("nom", ""), ("type", "adulte")], ["Le nom est vide."]),
        ([("prenom", "Paul"), ("nom", "Durand"), ("type", "parent")], ["Le type d'utilisateur est inconnu."]),
    ],
)
def test_creating_a_user_with_missing_fields_is_refused(
    empty_sandbox: RunningSandbox, fields: list[tuple[str, str]], expected: list[str]
) -> None:
    session = admin_session(empty_sandbox)
    answer = post_form(session, empty_sandbox.url + "admin/ajout_utilisateur.php", fields)
    assert messages(answer) == [("erreur", text) for text in expected]
    assert empty_sandbox.store.users() == []


def test_a_new_pupil_is_put_in_a_class_with_the_form_below_its_login(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    created = post_form(
        session,
        sandbox.url + "admin/ajout_utilisateur.php",
        [("prenom", "Inès"), ("nom", "Benali"), ("type", "eleve")],
    )
    form = parse(created).select_one("form#form-affecter")
    assert form["action"] == "affecter.php"
    login = form.find("input", attrs={"name": "login"})["value"]
    cp = sandbox.store.class_named("CP")
    assert str(cp.id) in [o["value"] for o in form.select("select[name=classe] option")]
    jeton = form.find("input", attrs={"name": "jeton"})["value"]
    answer = post_form(
        session, sandbox.url + "admin/affecter.php", [("login", login), ("classe", str(cp.id))], jeton=jeton
    )
    assert messages(answer) == [("succes", f"L'utilisateur {login} a été affecté à la classe CP.")]
    assert sandbox.store.user(login).class_name == "CP"

    refused = post_form(
        session, sandbox.url + "admin/affecter.php", [("login", "karima.benali"), ("classe", str(cp.id))]
    )
    assert [kind for kind, _ in messages(refused)] == ["erreur"]
    assert sandbox.store.user("karima.benali").class_id is None


def listed_logins(session: requests.Session, url: str) -> list[list[str]]:
    """The logins of every page, following the `Suivante` links."""
    pages = []
    while True:
        page = parse(session.get(url))
        pages.append([td.get_text() for td in page.select("tr.utilisateur td.login")])
        following = page.select_one("div#pagination a.suivante")
        if following is None:
            return pages
        url = requests.compat.urljoin(url, following["href"])


def test_the_user_list_shows_fifty_a_page_with_a_link_to_the_next(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    pages = listed_logins(session, sandbox.url + "admin/utilisateurs.php")
    everyone = sandbox.store.users()
    assert len(everyone) > 150
    assert [len(p) for p in pages] == [50, 50, 50, len(everyone) - 150]
    assert sorted(login for p in pages for login in p) == sorted(u.login for u in everyone)

    pupils = listed_logins(session, sandbox.url + "admin/utilisateurs.php?type=eleve")
    assert sorted(login for p in pupils for login in p) == sorted(u.login for u in everyone if u.is_pupil)


def test_the_user_list_filters_by_class_no_class_and_type(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    cm2 = sandbox.store.class_named("CM2")
    page = parse(session.get(sandbox.url + f"admin/utilisateurs.php?classe={cm2.id}"))
    rows = page.select("tr.utilisateur")
    assert len(rows) == cm2.size
    assert {r.select_one("td.classe")["data-id"] for r in rows} == {str(cm2.id)}
    assert {r.select_one("td.type").get_text() for r in rows} == {"Élève"}
    passwords = {r.select_one("td.login").get_text(): r.select_one("td.motdepasse").get_text() for r in rows}
    assert passwords == {u.login: u.password for u in sandbox.store.pupils_of("CM2")}

    adults = parse(session.get(sandbox.url + "admin/utilisateurs.php?type=adulte")).select("tr.utilisateur")
    assert len(adults) == len(sandbox.store.adults())
    assert {r.select_one("td.motdepasse").get_text() for r in adults} == {"********"}
    no_class = parse(session.get(sandbox.url + "admin/utilisateurs.php?classe=aucune")).select(
        "tr.utilisateur"
    )
    assert {r.select_one("td.login").get_text() for r in no_class} == {
        u.login for u in sandbox.store.adults()
    }


def test_deleting_users_reports_each_one_and_spares_responsible_teachers(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    pupil = sandbox.store.pupils_of("CE1")[0].login
    answer = post_form(
        session,
        sandbox.url + "admin/utilisateurs.php?classe=aucune",
        [
            ("action", "supprimer"),
            ("utilisateurs[]", pupil),  # not on the page shown: any login may be posted
            ("utilisateurs[]", "francoise.dalmeida"),
            ("utilisateurs[]", "karima.benali"),
            ("utilisateurs[]", "personne.inconnue"),
        ],
    )
    assert messages(answer) == [
        ("succes", f"L'utilisateur {pupil} a été supprimé."),
        ("erreur", "L'utilisateur francoise.dalmeida est responsable de la classe CE1."),
        ("succes", "L'utilisateur karima.benali a été supprimé."),
        ("erreur", "L'utilisateur personne.inconnue n'existe pas."),
    ]
    assert sandbox.store.user(pupil) is None
    assert sandbox.store.user("francoise.dalmeida") is not None
    assert sandbox.store.user("karima.benali") is None


def test_transferring_moves_pupils_only(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    first, second = (u.login for u in sandbox.store.pupils_of("CM1")[:2])
    cm2 = sandbox.store.class_named("CM2")
    url = sandbox.url + "admin/utilisateurs.php"
    answer = post_form(
        session,
        url,
        [
            ("action", "transferer"),
            ("destination", str(cm2.id)),
            ("utilisateurs[]", first),
            ("utilisateurs[]", "martine.chateau"),
            ("utilisateurs[]", "personne.inconnue"),
            ("utilisateurs[]", second),
        ],
    )
    found = messages(answer)
    assert found[0] == ("succes", f"L'utilisateur {first} a été transféré dans la classe CM2.")
    assert found[1][0] == "erreur"
    assert "martine.chateau" in found[1][1]
    assert found[2] == ("erreur", "L'utilisateur personne.inconnue n'existe pas.")
    assert found[3] == ("succes", f"L'utilisateur {second} a été transféré dans la classe CM2.")
    assert {sandbox.store.user(login).class_name for login in (first, second)} == {"CM2"}
    assert sandbox.store.user("martine.chateau").class_id is None

    before = sandbox.store.snapshot()
    unknown = post_form(
        session, url, [("action", "transferer"), ("destination", "999"), ("utilisateurs[]", first)]
    )
    assert messages(unknown) == [("erreur", "La classe de destination n'existe pas.")]
    assert sandbox.store.snapshot() == before


def test_creating_a_class_checks_its_name_and_teacher(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    url = sandbox.url + "admin/ajout_classe.php"
    form = parse(session.get(url)).select_one("form#form-ajout-classe")
    offered = {o["value"] for o in form.select("select[name=responsable] option")}
    assert offered == {u.login for u in sandbox.store.adults()}

    for name, responsible, expected in [
        ("cm2", "karima.benali", ("erreur", "Une classe porte déjà ce nom.")),
        ("  ", "karima.benali", ("erreur", "Le nom de classe est vide.")),
        ("CM2 B", "personne.inconnue", ("erreur", "L'enseignant responsable est inconnu.")),
        (
            "CM2 B",
            sandbox.store.pupils_of("CM2")[0].login,
            ("erreur", "L'enseignant responsable est inconnu."),
        ),
        ("CM2 B", "karima.benali", ("succes", "La classe CM2 B a été créée.")),
    ]:
        answer = post_form(session, url, [("nom", name), ("responsable", responsible)])
        assert messages(answer) == [expected]
    created = sandbox.store.class_named("cm2 b")
    assert (created.name, created.responsible, created.size) == ("CM2 B", "karima.benali", 0)
    row = next(
        r
        for r in parse(session.get(sandbox.url + "admin/classes.php")).select("tr.classe")
        if r.select_one("a.nom").get_text() == "CM2 B"
    )
    assert row.select_one("td.responsable")["data-login"] == "karima.benali"
    assert row.select_one("td.responsable").get_text() == "Karima BENALI"
    assert row.select_one("td.effectif").get_text() == "0"
    assert row.select_one("a.modifier")["href"] == f"modifier_classe.php?id={created.id}"
    assert row.select_one("input[name='classes[]']")["value"] == str(created.id)


def test_modifying_a_class_keeps_the_fields_left_out(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    ce1 = sandbox.store.class_named("CE1")
    url = sandbox.url + f"admin/modifier_classe.php?id={ce1.id}"
    form = parse(session.get(url)).select_one("form#form-modifier-classe")
    assert form.find("input", attrs={"name": "nom"})["value"] == "CE1"

    assert messages(post_form(session, url, [("nom", "ce1-CE2")])) == [
        ("succes", "La classe ce1-CE2 a été modifiée.")
    ]
    assert messages(post_form(session, url, [("responsable", "karima.benali")])) == [
        ("succes", "La classe ce1-CE2 a été modifiée.")
    ]
    changed = sandbox.store.class_by_id(ce1.id)
    assert (changed.name, changed.responsible, changed.size) == ("ce1-CE2", "karima.benali", ce1.size)
    assert messages(post_form(session, url, [("nom", "Cm2")])) == [
        ("erreur", "Une classe porte déjà ce nom.")
    ]
    assert messages(post_form(session, url, [("responsable", "")])) == [
        ("erreur", "L'enseignant responsable est inconnu.")
    ]
    assert sandbox.store.class_by_id(ce1.id) == changed


def test_a_class_whose_folder_holds_files_cannot_be_deleted_and_pupils_outlive_their_class(
    sandbox: RunningSandbox,
) -> None:
    session = admin_session(sandbox)
    cm2, cp = sandbox.store.class_named("CM2"), sandbox.store.class_named("CP")
    cp_pupils = {u.login for u in sandbox.store.pupils_of("CP")}
    answer = post_form(
        session,
        sandbox.url + "admin/classes.php",
        [("action", "supprimer"), ("classes[]", str(cm2.id)), ("classes[]", str(cp.id))],
    )
    assert messages(answer) == [
        ("erreur", "La classe CM2 ne peut pas être supprimée : son dossier de travail n'est pas vide."),
        ("succes", "La classe CP a été supprimée."),
    ]
    assert sandbox.store.class_named("CP") is None
    assert sandbox.store.class_named("CM2") is not None
    no_class = {u.login for u in sandbox.store.users(no_class=True) if u.is_pupil}
    assert no_class == cp_pupils
    listed = parse(session.get(sandbox.url + "admin/utilisateurs.php?classe=aucune&type=eleve"))
    assert {td.get_text() for td in listed.select("tr.utilisateur td.login")} == cp_pupils


def test_a_session_expires_after_its_idle_time_counted_from_the_last_request(sandbox: RunningSandbox) -> None:
    sandbox.configure(session_idle_seconds=60)
    session = admin_session(sandbox)
    for _ in range(3):  # active for longer than the idle time: still logged in
        sandbox.let_time_pass(40)
        assert session.get(sandbox.url + "admin/index.php", allow_redirects=False).status_code == 200
    jeton = jeton_of(session, sandbox.url + "admin/classes.php")
    sandbox.let_time_pass(61)
    before = sandbox.store.snapshot()
    late = post_form(
        session, sandbox.url + "admin/classes.php", [("action", "supprimer"), ("classes[]", "1")], jeton=jeton
    )
    assert late.status_code == 302
    assert late.headers["Location"].endswith("/intrascol/admin/login.php")
    assert sandbox.store.snapshot() == before


def test_logging_in_on_the_users_side_ends_the_admin_session_of_that_jar(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    admin_cookie = session.cookies["PHPSESSID"]
    pupil = sandbox.store.pupils_of("CM2")[0]
    answer = session.post(
        sandbox.url + "login.php",
        data={"login": pupil.login, "motdepasse": pupil.password},
        allow_redirects=False,
    )
    assert answer.status_code == 302
    assert session.get(sandbox.url + "admin/index.php", allow_redirects=False).status_code == 302
    # Even the old cookie, replayed, is dead.
    replay = requests.get(
        sandbox.url + "admin/index.php", cookies={"PHPSESSID": admin_cookie}, allow_redirects=False
    )
    assert replay.status_code == 302


def test_users_side_needs_a_user_session(sandbox: RunningSandbox) -> None:
    for page in ("partages.php", "partages.php?dossier=101", "telecharger.php?fichier=1001"):
        answer = requests.get(sandbox.url + page, allow_redirects=False)
        assert answer.status_code == 302
        assert answer.headers["Location"].endswith("/intrascol/login.php")
    admin = admin_session(sandbox)  # the administrator's session is not a user's
    assert admin.get(sandbox.url + "partages.php", allow_redirects=False).status_code == 302


def test_a_pupil_backs_up_and_empties_its_class_folder_then_the_class_can_go(sandbox: RunningSandbox) -> None:
    store = sandbox.store
    cm2 = store.class_named("CM2")
    pupil = store.pupils_of("CM2")[0]
    session = user_session(sandbox, pupil.login, pupil.password)

    shares = parse(session.get(sandbox.url + "partages.php"))
    folders = {a.get_text(): a["href"] for a in shares.select("ul#partages li.dossier a")}
    assert folders == {
        "CM2": f"partages.php?dossier={cm2.folder_id}",
        "Commun": f"partages.php?dossier={store.folders()[0].id}",
    }
    assert cm2.folder_id != cm2.id

    folder_url = sandbox.url + folders["CM2"]
    listing = parse(session.get(folder_url))
    rows = listing.select("table#fichiers tr.fichier")
    expected = {f.path: f for f in store.files_of("CM2")}
    assert {r.select_one("td.chemin").get_text() for r in rows} == set(expected)
    assert any("/" in path for path in expected)
    for row in rows:
        stored = expected[row.select_one("td.chemin").get_text()]
        assert row.select_one("td.taille").get_text() == str(stored.size)
        assert row.select_one("input[name='fichiers[]']")["value"] == str(stored.id)
        download = session.get(sandbox.url + row.select_one("a.telecharger")["href"])
        assert download.status_code == 200
        assert download.headers["Content-Type"] == "application/octet-stream"
        assert download.content == stored.data

    jeton = listing.find("input", attrs={"name": "jeton"})["value"]
    chosen = [("fichiers[]", str(f.id)) for f in expected.values()]
    answer = post_form(session, folder_url, [("action", "supprimer"), *chosen], jeton=jeton)
    assert messages(answer) == [("succes", f"Le fichier {path} a été supprimé.") for path in expected]
    assert store.files_of("CM2") == []

    admin = admin_session(sandbox)
    answer = post_form(
        admin, sandbox.url + "admin/classes.php", [("action", "supprimer"), ("classes[]", str(cm2.id))]
    )
    assert messages(answer) == [("succes", "La classe CM2 a été supprimée.")]


def test_a_pupil_reaches_neither_another_class_folder_nor_its_files(sandbox: RunningSandbox) -> None:
    store = sandbox.store
    pupil = store.pupils_of("CP")[0]
    session = user_session(sandbox, pupil.login, pupil.password)
    ce1 = store.class_named("CE1")
    other_file = store.files_of("CE1")[0]
    assert session.get(sandbox.url + f"partages.php?dossier={ce1.folder_id}").status_code == 404
    assert session.get(sandbox.url + f"telecharger.php?fichier={other_file.id}").status_code == 404
    assert session.get(sandbox.url + "telecharger.php?fichier=999999").status_code == 404
    own = store.class_named("CP").folder_id
    jeton = jeton_of(session, sandbox.url + f"partages.php?dossier={own}")
    answer = post_form(
        session,
        sandbox.url + f"partages.php?dossier={own}",
        [("action", "supprimer"), ("fichiers[]", str(other_file.id))],
        jeton=jeton,
    )
    assert [kind for kind, _ in messages(answer)] == ["erreur"]
    assert store.file(other_file.id) == other_file


def test_a_500_before_a_post_changes_nothing(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    jeton = jeton_of(session, sandbox.url + "admin/ajout_classe.php")
    sandbox.configure(fail_before_post=1.0)
    before = sandbox.store.snapshot()
    answer = post_form(
        session,
        sandbox.url + "admin/ajout_classe.php",
        [("nom", "CM2 B"), ("responsable", "karima.benali")],
        jeton=jeton,
    )
    assert answer.status_code == 500
    assert sandbox.store.snapshot() == before
    assert session.get(sandbox.url + "admin/classes.php").status_code == 200  # GETs are spared
    # Logins are not logged-in POSTs: they still work.
    assert admin_session(sandbox).get(sandbox.url + "admin/index.php").status_code == 200


def test_a_lost_answer_is_a_connection_error_after_the_post_was_applied(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    jeton = jeton_of(session, sandbox.url + "admin/ajout_classe.php")
    sandbox.configure(lose_answer_after_post=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        post_form(
            session,
            sandbox.url + "admin/ajout_classe.php",
            [("nom", "CM2 B"), ("responsable", "karima.benali")],
            jeton=jeton,
        )
    assert sandbox.store.class_named("CM2 B") is not None
    sandbox.configure(lose_answer_after_post=0.0)
    assert session.get(sandbox.url + "admin/classes.php").status_code == 200  # the session survives


def post_outcomes(sb: RunningSandbox, session: requests.Session, count: int) -> list[str]:
    """What `count` logged-in POSTs (harmless ones: a wrong jeton) get: 200, 500 or lost."""
    outcomes = []
    for _ in range(count):
        try:
            answer = session.post(sb.url + "admin/classes.php", data={"jeton": "x"}, allow_redirects=False)
            outcomes.append(str(answer.status_code))
        except requests.exceptions.ConnectionError:
            outcomes.append("perdue")
    return outcomes


def test_the_faults_follow_the_seed(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    sandbox.configure(fail_before_post=0.3, lose_answer_after_post=0.3, seed=42)
    first = post_outcomes(sandbox, session, 20)
    assert set(first) == {"200", "500", "perdue"}
    sandbox.configure(seed=42)
    assert post_outcomes(sandbox, session, 20) == first

    options = SandboxOptions(seed=42, fail_before_post=0.3, lose_answer_after_post=0.3)
    with start_sandbox(options) as other:
        assert post_outcomes(other, admin_session(other), 20) == first


def test_latency_and_failed_gets(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    sandbox.configure(latency=0.3)
    started = time.perf_counter()
    session.get(sandbox.url + "admin/index.php")
    assert time.perf_counter() - started >= 0.3
    sandbox.configure(latency=0.0, fail_get=1.0)
    assert session.get(sandbox.url + "admin/index.php").status_code == 500


def test_the_demo_school_is_realistic_and_the_same_for_the_same_seed(sandbox: RunningSandbox) -> None:
    store = sandbox.store
    classes = {c.name: c for c in store.classes()}
    assert set(classes) == {"GS", "CP", "CE1", "CE2", "CE2-CM1", "CM1", "CM2", "ULIS"}
    pupils = store.users(PUPIL)
    assert 170 <= len(pupils) <= 190
    assert 8 <= len(store.adults()) <= 12
    assert all(p.class_id is not None for p in pupils)
    responsible = {c.responsible for c in classes.values()}
    assert responsible <= {a.login for a in store.adults()}
    homonyms = [p for p in pupils if (p.first_name, p.last_name) == ("Léa", "Martin")]
    assert len({p.login for p in homonyms}) == 2
    assert len({p.class_name for p in homonyms}) == 2
    names = {f"{u.first_name} {u.last_name}" for u in store.users()}
    assert any(not name.isascii() and name.encode("latin-1", errors="replace").count(b"?") for name in names)
    assert {"Jean-Baptiste De La Fontaine", "Awa N'Diaye", "Łukasz Kowalski"} <= names
    assert store.files_of("CM2")
    assert store.files_of("CE1")
    assert not store.files_of("CP")
    assert any(b"\x00" in f.data or not f.data.isascii() for f in store.files_of("CM2"))

    with start_sandbox(SandboxOptions(seed=1)) as same, start_sandbox(SandboxOptions(seed=2)) as other:
        assert same.store.snapshot() == store.snapshot()
        assert other.store.snapshot() != store.snapshot()


def test_the_empty_school_has_only_the_administrator_and_commun(empty_sandbox: RunningSandbox) -> None:
    assert empty_sandbox.store.users() == []
    assert empty_sandbox.store.classes() == []
    assert [f.name for f in empty_sandbox.store.folders()] == ["Commun"]
    assert admin_session(empty_sandbox).get(empty_sandbox.url + "admin/index.php").status_code == 200


def test_a_kept_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "ecole.sqlite"
    with start_sandbox(SandboxOptions(demo=False, state=state)) as first:
        teacher = first.store.add_user("Anne-Sophie", "Lévêque", ADULT)
        first.store.add_class("CP-CE1", teacher.login)
        password = first.admin_password
    with start_sandbox(SandboxOptions(demo=True, state=state)) as again:
        assert [c.name for c in again.store.classes()] == ["CP-CE1"]
        assert again.admin_password == password
    assert state.exists()

    not_a_state = tmp_path / "autre.sqlite"
    not_a_state.write_bytes(b"ceci n'est pas une base SQLite" * 10)
    with pytest.raises(ValueError, match="n'est pas un état de bac à sable"):
        start_sandbox(SandboxOptions(state=not_a_state))


@pytest.mark.posix_only
def test_the_sandbox_command_prints_how_to_connect_and_stops_on_ctrl_c() -> None:
    command = [
        sys.executable,
        "-m",
        "reconcile",
        "sandbox",
        "--port",
        "0",
        "--vide",
        "--session-secondes",
        "5",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        printed = [process.stdout.readline() for _ in range(10)]
        url = printed[0].split(" : ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/intrascol/")
        login = next(line for line in printed if "Identifiant administrateur" in line).split(" : ")[1].strip()
        password = (
            next(line for line in printed if "Mot de passe administrateur" in line).split(" : ")[1].strip()
        )
        assert f"  export INTRASCOL_URL={url} INTRASCOL_LOGIN={login}\n" in printed
        answer = requests.post(
            url + "admin/login.php", data={"login": login, "motdepasse": password}, allow_redirects=False
        )
        assert answer.status_code == 302
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "Bac à sable arrêté." in out


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ["--erreur-avant-envoi", "1.5"],
            "--erreur-avant-envoi attend une probabilité entre 0 et 1, pas 1.5.",
        ),
        (
            ["--reponse-perdue", "-0.1"],
            "--reponse-perdue attend une probabilité entre 0 et 1",
        ),
        (["--latence", "-1"], "--latence attend une durée positive"),
        (["--port", "99999"], "--port attend un numéro entre 0 et 65535, pas 99999."),
        (["--port", "-5"], "--port attend un numéro entre 0 et 65535, pas -5."),
    ],
)
def test_the_sandbox_command_refuses_impossible_settings(arguments: list[str], expected: str) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "reconcile", "sandbox", "--port", "0", *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert finished.returncode == 1  # like a mistyped option; 2 means « inachevé, relancez »
    assert expected in finished.stderr
    assert finished.stdout == ""


def test_a_port_in_use_is_an_os_error_for_the_library_and_a_french_error_for_the_command(
    sandbox: RunningSandbox,
) -> None:
    port = urlsplit(sandbox.url).port
    assert port is not None
    with pytest.raises(OSError, match="in use"):  # not werkzeug's print-then-exit
        start_sandbox(SandboxOptions(demo=False), port=port)
    finished = subprocess.run(
        [sys.executable, "-m", "reconcile", "sandbox", "--port", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert finished.returncode == 1
    assert f"impossible d'écouter sur 127.0.0.1:{port} : ce port est déjà utilisé" in finished.stderr
    assert "in use" not in finished.stderr


def test_an_unknown_class_cannot_be_modified(sandbox: RunningSandbox) -> None:
    session = admin_session(sandbox)
    page = parse(session.get(sandbox.url + "admin/modifier_classe.php?id=999"))
    assert page.select_one("form#form-modifier-classe") is None
    assert [p.get_text() for p in page.select("p.erreur")] == ["Cette classe n'existe pas."]
    before = sandbox.store.snapshot()
    jeton = jeton_of(session, sandbox.url + "admin/index.php")
    answer = post_form(session, sandbox.url + "admin/modifier_classe.php?id=999", [("nom", "X")], jeton=jeton)
    assert messages(answer) == [("erreur", "Cette classe n'existe pas.")]
    assert sandbox.store.snapshot() == before
