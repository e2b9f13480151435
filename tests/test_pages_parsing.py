"""What lxml makes of a page the server may send, whatever it holds.

The readers parse each page with lxml (`tree.py`); these pages are the ones its
plain use gets wrong: an XML declaration naming an encoding, control characters,
nothing at all, nesting past libxml2's depth limit, text that is code or a comment.
Each gives what the readers gave through BeautifulSoup, never a traceback.
"""

from pathlib import Path

import pytest

from reconcile.adapters.intrascol.page_checks import (
    Field,
    Status,
    form_check,
    form_fields,
    id_check,
    message_check,
)
from reconcile.adapters.intrascol.pages import Page, decode
from reconcile.core.errors import PageNotRecognised
from reconcile.core.model import User, UserType

HTML = Path(__file__).parent / "data" / "html"
URL = "http://ecole.example/intrascol/admin/utilisateurs.php"
USERS = decode((HTML / "utilisateurs_page1.html").read_bytes(), "text/html; charset=ISO-8859-1")
ZOE = User("zoe.lefevre", "LEFÈVRE", "Zoé", UserType.PUPIL, 3, "kiwi42")


def users(text: str) -> tuple[User, ...]:
    return Page(URL, text).users_page().users


@pytest.mark.parametrize(
    "declaration",
    [
        '<?xml version="1.0" encoding="iso-8859-1"?>\n',
        "<?xml version='1.0' encoding='UTF-16'?>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-16">',
        '<meta charset="windows-1251">',
    ],
)
def test_an_encoding_the_page_declares_does_not_change_its_decoded_text(declaration: str) -> None:
    read = users(declaration + USERS)
    assert read[0] == ZOE
    assert read[1].first_name == "Łukasz"


def test_nul_and_control_characters_read_as_before() -> None:
    text = USERS.replace("kiwi42", "ki\x00wi\x0142")
    text = text.replace("<h1>", '<p class="erreur">Non\x00 \x1bvalide.</p><h1>')
    page = Page(URL, text)
    assert page.users_page().users[0].password == "ki\ufffdwi\x0142"  # NUL as a browser shows it
    assert [o.message for o in page.outcomes()] == ["Non\ufffd \x1bvalide."]


def test_a_lone_surrogate_in_the_text_does_not_stop_the_reading() -> None:
    assert users(USERS.replace("Accueil", "Acc\ud800ueil"))[0] == ZOE


@pytest.mark.parametrize("text", ["", "   \n\t", "<!-- rien -->", "<?php ?>", "<!DOCTYPE html>", "\x00"])
def test_an_empty_page_is_not_recognised(text: str) -> None:
    page = Page(URL, text)
    assert page.jeton() is None
    assert page.outcomes() == ()
    assert not page.is_login_form()
    with pytest.raises(PageNotRecognised) as raised:
        page.users_page()
    assert '<table id="utilisateurs">' in raised.value.missing
    assert id_check(page, "w", "span", "ecole", "m").status is Status.MISSING
    assert message_check(page, "w").status is Status.UNCHECKED


@pytest.mark.parametrize("depth", [300, 2_100, 20_000])
def test_a_page_nested_past_libxml2s_limit_is_read_whole(depth: int) -> None:
    # libxml2 stops its own tree at 2,048 levels, dropping the rest of the page:
    # the users, the pagination, the messages after the nesting would be missed.
    text = USERS.replace(
        "<h1>", "<div>" * depth + '<p class="succes">Fait<!-- non -->.<?pi non?></p>'
    ).replace("</body>", '<p class="erreur">Après.</p>' + "</div>" * depth + "</body>")
    # What lxml refuses in a tree it builds (a control character, an attribute name) reads too.
    text = text.replace('<td class="nom">Kowalski', '<td cl<a="1" class="nom">Kowa\x01lski')
    page = Page(URL, text)
    listing = page.users_page()
    assert listing.users[0] == ZOE
    assert listing.users[1].last_name in ("Kowa\x01lski", "Kowa\ufffdlski")  # the latter past 2,048
    assert listing.next_url == "http://ecole.example/intrascol/admin/utilisateurs.php?page=2"
    assert [(o.ok, o.message) for o in page.outcomes()] == [(True, "Fait."), (False, "Après.")]
    assert page.jeton() == "a1b2c3d4"
    fields = (Field("utilisateurs[]"), Field("action", ("supprimer", "transferer")), Field("destination"))
    assert form_check(page, "w", "form-utilisateurs", fields, "m").status is Status.FOUND


def test_code_comments_and_instructions_are_not_text() -> None:
    text = USERS.replace(
        '<td class="nom">LEF\xc8VRE</td>',
        '<td class="nom">LEF<!-- x --><?php echo 1 ?>\xc8VRE<script>var a = "<b>";</script>'
        "<style>b{}</style><template>T</template><ruby>R<rt>r</rt><rp>(</rp></ruby></td>",
    )
    text = text.replace("<h1>", '<p class="succes">Ok<!-- pas ça -->.<script>"non"</script></p><h1>')
    page = Page(URL, text)
    assert page.users_page().users[0].last_name == "LEFÈVRER"  # the ruby's base only
    assert [o.message for o in page.outcomes()] == ["Ok."]


def test_class_tokens_are_split_on_any_whitespace() -> None:
    text = USERS.replace('class="utilisateur"', 'class="ligne\tutilisateur\x0cpaire"', 1)
    text = text.replace("<h1>", '<p class="alerte\nerreur">Refusé.</p><h1>')
    page = Page(URL, text)
    assert page.users_page().users[0] == ZOE
    assert [(o.ok, o.message) for o in page.outcomes()] == [(False, "Refusé.")]


def test_fields_of_a_form_whose_id_holds_a_control_character_are_read() -> None:
    page = Page(
        URL, '<form id="f\x01"><input name="a" value="1"></form><input form="f\x01" name="b" value="2">'
    )
    form = page.tree.find(".//form")
    assert form is not None
    assert form_fields(page, form) == {"a": {"1"}, "b": {"2"}}
