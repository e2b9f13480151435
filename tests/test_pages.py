"""The page parsers on saved IntraScol pages written from INTERFACE.md.

Each `*_variant.html` holds the same data as its sibling laid out differently
(other column order, extra whitespace and wrappers, attributes in another order,
extra classes): the parsers must read the same thing, since a client may rely on
the contract's ids, names and classes only. The files are ISO-8859-1 bytes, with
characters outside Latin-1 as numeric character references, like IntraScol's.
"""

from pathlib import Path

import pytest

from reconcile.adapters.intrascol.pages import Page, ServerInfo, attributed, decode, outcome_of
from reconcile.core.errors import PageNotRecognised, ServerRefused
from reconcile.core.model import SchoolClass, User, UserType
from reconcile.core.ports import CreatedUser, Folder, Refusal, SharedFile

HTML = Path(__file__).parent / "data" / "html"
LATIN_1 = "text/html; charset=ISO-8859-1"
BASE = "http://ecole.example/intrascol/"


def page(name: str, path: str = "admin/page.php", *, replace: tuple[str, str] | None = None) -> Page:
    text = decode((HTML / name).read_bytes(), LATIN_1)
    if replace is not None:
        assert replace[0] in text, f"the fixture {name} should contain {replace[0]!r}"
        text = text.replace(replace[0], replace[1], 1)
    return Page(BASE + path, text)


# --- Decoding --------------------------------------------------------------------------


def test_fixtures_are_latin_1_bytes_and_decode_to_unicode() -> None:
    raw = (HTML / "index.html").read_bytes()
    assert b"\xc9cole \xe9l\xe9mentaire" in raw  # "École élémentaire" in ISO-8859-1
    assert page("index.html").server_info().school == "École élémentaire Jean-de-La-Fontaine"


def test_decode_reads_latin_1_c1_bytes_as_a_browser_does() -> None:
    assert decode(b"C\x9cur \x80", "text/html; charset=iso-8859-1") == "Cœur €"
    assert decode(b"Zo\xe9", None) == "Zoé"  # no charset: the contract's ISO-8859-1


def test_decode_honours_another_declared_charset() -> None:
    assert decode("Zoé".encode(), "text/html; charset=UTF-8") == "Zoé"


# --- Login and index -------------------------------------------------------------------


def test_login_pages_are_recognised_with_their_error() -> None:
    assert page("login.html").is_login_form()
    refused = page("login_refused.html")
    assert refused.is_login_form()
    assert [e.message for e in refused.errors()] == ["Identifiant ou mot de passe incorrect."]
    assert not page("index.html").is_login_form()


def test_index_gives_version_and_school() -> None:
    assert page("index.html").server_info() == ServerInfo("0.1.7a", "École élémentaire Jean-de-La-Fontaine")


def test_index_variant_with_wrappers_and_references() -> None:
    assert page("index_variant.html").server_info() == ServerInfo(
        "0.1.4", "École primaire d’Œuvre-Saint-Jean"
    )


# --- Classes ---------------------------------------------------------------------------


def test_classes_list() -> None:
    classes = page("classes.html").classes()
    assert classes == (
        SchoolClass(3, "CP", "cmartin", "Claire MARTIN", 24),
        SchoolClass(7, "CE2-CM1", "endiaye", "Éric N'DIAYE", 27),
        SchoolClass(12, "CM2 Zoé & Œuvres", "lkowalski", "Łukasz KOWALSKI", 0),
    )


def test_classes_variant_reads_the_same_class_whatever_the_layout() -> None:
    standard = page("classes.html").classes()
    variant = page("classes_variant.html").classes()
    assert variant[0] == standard[1]
    assert variant[1] == SchoolClass(40, "GS", "xễn", "Thi NGUYỄN", 0)


def test_jeton_is_read_wherever_the_form_puts_it() -> None:
    assert page("classes.html").jeton() == "a1b2c3d4"
    assert page("classes_variant.html").jeton() == "zz99"
    assert page("index.html").jeton() is None


# --- Users -----------------------------------------------------------------------------


def test_users_page_with_references_hidden_passwords_and_next_page() -> None:
    users_page = page("utilisateurs_page1.html", "admin/utilisateurs.php").users_page()
    assert users_page.users == (
        User("zoe.lefevre", "LEFÈVRE", "Zoé", UserType.PUPIL, 3, "kiwi42"),
        User("lukasz.kowalski", "Kowalski", "Łukasz", UserType.PUPIL, 7, "pomme7"),
        User("cmartin", "MARTIN", "Claire", UserType.ADULT, None, None),
        User("thi.nguyen", "Nguyễn", "Thi", UserType.PUPIL, None, "lune3"),
    )
    assert users_page.next_url == BASE + "admin/utilisateurs.php?page=2"


def test_users_variant_in_another_column_order_on_the_last_page() -> None:
    users_page = page("utilisateurs_variant.html", "admin/utilisateurs.php?page=2").users_page()
    assert users_page.users == (
        User("asdlf", "De La Fontaine", "Anne-Sophie", UserType.PUPIL, 12, "soleil9"),
        User("mndiaye", "N’Diaye", "Marie", UserType.ADULT, None, None),
    )
    assert users_page.next_url is None  # only a `precedente` link


# --- Creation and messages -------------------------------------------------------------


def test_creation_gives_the_server_made_login_and_password() -> None:
    created = page("creation.html")
    assert created.created_user() == CreatedUser("lukasz.kowalski2", "fraise58")
    assert created.jeton() == "tok-after-creation"


def test_refused_creation_raises_with_the_server_message() -> None:
    with pytest.raises(ServerRefused, match=r"Le prénom est vide\."):
        page("creation_refused.html").created_user()


def test_users_form_messages_become_outcomes() -> None:
    outcomes = page("messages_utilisateurs.html").outcomes()
    assert [(o.subject, o.ok, o.refusal) for o in outcomes] == [
        ("zoe.lefevre", True, None),
        ("cmartin", False, Refusal.RESPONSIBLE_OF_CLASS),
        ("fantome", False, Refusal.UNKNOWN_USER),
        ("lukasz.kowalski", True, None),
        ("", False, Refusal.UNKNOWN_DESTINATION),  # nested wrapper counted once
        ("", False, Refusal.INVALID_TOKEN),
    ]
    assert (
        outcomes[3].message
        == "L'utilisateur lukasz.kowalski a été transféré dans la classe CM2 Zoé & Œuvres."
    )


def test_class_and_file_messages_become_outcomes() -> None:
    outcomes = page("messages_classes.html").outcomes()
    assert [(o.subject, o.ok, o.refusal) for o in outcomes] == [
        ("CP", True, None),
        ("CE2-CM1", False, Refusal.FOLDER_NOT_EMPTY),
        ("Classe d'Œuvre", True, None),
        ("CM1", True, None),
        ("", False, Refusal.CLASS_EXISTS),
        ("", False, Refusal.EMPTY_NAME),
        ("", False, Refusal.UNKNOWN_RESPONSIBLE),
        ("zoe.lefevre", True, None),
        ("Projets/Mon exposé.odt", True, None),
    ]


@pytest.mark.parametrize(
    ("text", "subject", "refusal"),
    [
        (
            "L'utilisateur cmartin est un adulte : il ne peut pas être dans une classe.",
            "cmartin",
            Refusal.NOT_A_PUPIL,
        ),
        ("L'utilisateur cmartin n'est pas un élève.", "cmartin", Refusal.NOT_A_PUPIL),
        ("L’utilisateur zoe.l n’existe pas.", "zoe.l", Refusal.UNKNOWN_USER),
        (
            "La classe CE1 B ne peut pas être supprimée : son dossier n'est pas vide.",
            "CE1 B",
            Refusal.FOLDER_NOT_EMPTY,
        ),
        ("Le nom est vide.", "", Refusal.EMPTY_NAME),
        ("Le type d'utilisateur est inconnu.", "", Refusal.OTHER),
        ("Une erreur inattendue.", "", Refusal.OTHER),
    ],
)
def test_refusal_kinds_and_subjects(text: str, subject: str, refusal: Refusal) -> None:
    outcome = outcome_of(text, ok=False)
    assert (outcome.subject, outcome.refusal) == (subject, refusal)


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("La classe Ce qui a été fait a été créée.", "Ce qui a été fait"),
        ("La classe CM1 a été supprimée.", "CM1"),
        ("La classe CM1 ne peut pas être supprimée a été modifiée.", "CM1 ne peut pas être supprimée"),
        ("Le fichier Ce qui a été supprimé.txt a été supprimé.", "Ce qui a été supprimé.txt"),
        ("L'utilisateur lea.martin a été transféré dans la classe CE1 a été.", "lea.martin"),
    ],
)
def test_subjects_holding_the_message_words(text: str, subject: str) -> None:
    assert outcome_of(text, ok=True).subject == subject


def test_markup_inside_a_message_adds_no_space_but_a_line_break_does() -> None:
    text = (
        '<p class="succes">\n   La classe <a href="classes.php">CE1</a><b>-</b>B\n  a été <em>créée</em>.</p>'
        "<p class=\"erreur\">L'utilisateur <b>lea.m</b><br>n'existe pas.</p>"
    )
    outcomes = Page(BASE + "admin/ajout_classe.php", text).outcomes()
    assert [(o.subject, o.message) for o in outcomes] == [
        ("CE1-B", "La classe CE1-B a été créée."),
        ("lea.m", "L'utilisateur lea.m n'existe pas."),
    ]


def test_a_subject_keeps_its_typographic_apostrophes() -> None:
    refused = outcome_of(
        "La classe Classe d’Anne ne peut pas être supprimée : son dossier de travail n’est pas vide.",
        ok=False,
    )
    assert (refused.subject, refused.refusal) == ("Classe d’Anne", Refusal.FOLDER_NOT_EMPTY)
    assert outcome_of("Le fichier l’exposé.odt a été supprimé.", ok=True).subject == "l’exposé.odt"


def test_an_empty_message_placeholder_is_no_message() -> None:
    text = '<div class="erreur" id="js-erreur"></div><p class="succes">\n La classe CP a été créée.\n</p>'
    outcomes = Page(BASE + "admin/ajout_classe.php", text).outcomes()
    assert [(o.subject, o.ok) for o in outcomes] == [("CP", True)]


def test_a_login_is_the_subject_of_the_contract_wordings_even_with_spaces() -> None:
    assert outcome_of("L'utilisateur jean dupont a été supprimé.", ok=True).subject == "jean dupont"
    refused = outcome_of("L'utilisateur de la tour est responsable de la classe CP.", ok=False)
    assert (refused.subject, refused.refusal) == ("de la tour", Refusal.RESPONSIBLE_OF_CLASS)


def test_messages_worded_otherwise_are_given_the_posted_login_they_name() -> None:
    posted = ["dupont", "dupont2", "martin", "destination"]
    outcomes = [
        outcome_of("Impossible : dupont2 n'est pas un élève.", ok=False),
        outcome_of("L'utilisateur « dupont » (Jean DUPONT) a été supprimé.", ok=True),
        outcome_of("L'utilisateur martin a été supprimé.", ok=True),
        outcome_of("Opération terminée pour 2 comptes.", ok=True),
        outcome_of("La classe de destination n'existe pas.", ok=False),
    ]
    assert [(o.subject, o.refusal) for o in attributed(outcomes, posted)] == [
        ("dupont2", Refusal.NOT_A_PUPIL),
        ("dupont", None),
        ("martin", None),
        ("", None),
        ("", Refusal.UNKNOWN_DESTINATION),
    ]


def test_creation_success_message_names_no_login() -> None:
    assert outcome_of("L'utilisateur a été créé.", ok=True).subject == ""


# --- Users' side -----------------------------------------------------------------------


def test_folders_of_mes_partages() -> None:
    assert page("partages.html", "partages.php").folders() == (
        Folder("15", "CE2-CM1"),
        Folder("2", "Commun"),
        Folder("31", "Écrits d'Œuvre"),
    )


def test_files_of_a_folder_in_any_column_order() -> None:
    assert page("fichiers.html", "partages.php?dossier=15").files() == (
        SharedFile("101", "Projets/Mon exposé.odt", 20480),
        SharedFile("102", "Łukasz/poème.txt", 7),
    )


# --- Pages lacking what the contract promises ------------------------------------------


@pytest.mark.parametrize(
    ("name", "replace", "read", "missing"),
    [
        ("index.html", ('id="ecole"', 'id="nom-ecole"'), Page.server_info, '<span id="ecole">'),
        ("classes.html", ('id="classes"', 'id="liste"'), Page.classes, '<table id="classes">'),
        ("classes.html", ('data-login="endiaye"', ""), Page.classes, "classe n° 2"),
        ("classes.html", ('class="effectif">27', 'class="eff">27'), Page.classes, "effectif"),
        ("classes.html", ('name="classes[]" value="3"', 'name="classes[]"'), Page.classes, "classes[]"),
        ("utilisateurs_page1.html", ('id="utilisateurs"', ""), Page.users_page, '<table id="utilisateurs">'),
        (
            "utilisateurs_page1.html",
            ('<td class="type">Adulte', '<td class="type">Parent'),
            Page.users_page,
            "n° 3",
        ),
        ("utilisateurs_page1.html", ('class="login"', 'class="identifiant"'), Page.users_page, "login"),
        ("utilisateurs_page1.html", ('data-id="7"', 'data-id="CE2"'), Page.users_page, "data-id"),
        (
            "creation.html",
            ('id="motdepasse"', 'class="motdepasse"'),
            Page.created_user,
            '<span id="motdepasse">',
        ),
        ("partages.html", ('id="partages"', 'class="partages"'), Page.folders, '<ul id="partages">'),
        ("partages.html", ("partages.php?dossier=2", "partages.php"), Page.folders, "dossier n° 2"),
        ("fichiers.html", ('class="taille">20480', 'class="taille">vingt'), Page.files, "taille"),
    ],
)
def test_a_page_missing_an_element_is_not_recognised(name, replace, read, missing) -> None:
    broken = page(name, "admin/x.php", replace=replace)
    with pytest.raises(PageNotRecognised) as raised:
        read(broken)
    assert missing in raised.value.missing
    assert raised.value.url == BASE + "admin/x.php"
    assert str(raised.value).startswith(f"Page non reconnue : {BASE}admin/x.php ne contient pas ")


# --- The jeton and the messages, as a browser shows them --------------------------------


FORM = '<form method="post"><input type="hidden" name="jeton" value="{}"></form>'


@pytest.mark.parametrize(
    ("body", "jeton", "messages"),
    [
        # Comments, scripts and text areas hold no element a browser would show.
        (
            '<!-- <p class="erreur">Vieux message</p> <input name="jeton" value="faux"> -->'
            "<script>var s = '<p class=\"succes\">non</p>';</script>"
            '<textarea><p class="erreur">texte</p></textarea>'
            + FORM.format("vrai")
            + '<p class="succes">Oui.</p>',
            "vrai",
            [(True, "Oui.")],
        ),
        # A `>` in an attribute value does not end the tag.
        (
            '<input title="a > b" name="jeton" value="j1"><p class="erreur" title="x>y">Non.</p>',
            "j1",
            [(False, "Non.")],
        ),
        # Elements closed implicitly (`<p>` without `</p>`): the messages are still all read.
        (
            '<p class="erreur">Un.<p class="succes">Deux.<div>' + FORM.format("j2") + "</div>",
            "j2",
            [(False, "Un."), (True, "Deux.")],
        ),
        # A message wrapper holding a message: one message.
        ('<div class="erreur"><p class="erreur">Une fois.</p></div>', None, [(False, "Une fois.")]),
        # No message at all, and a word « succes » elsewhere.
        ('<a href="succes.php">lien</a><span data-x="erreur">rien</span>', None, []),
    ],
)
def test_messages_and_jeton_are_read_as_a_browser_shows_them(body, jeton, messages) -> None:
    answer = Page(BASE + "admin/x.php", f"<html><body>{body}</body></html>")
    assert answer.jeton() == jeton
    assert [(o.ok, o.message) for o in answer.outcomes()] == messages
    assert not answer.is_login_form()
