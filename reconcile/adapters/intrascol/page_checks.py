"""The elements of IntraScol's pages that reconcile relies on, checked one by one.

Each function looks at one page (already fetched, never posted) and says, for one
element of `docs/intrascol.md`, whether it is there as the client expects: found,
missing, different, or not checkable without changing the server. What each element
is for at the rentrée is said with it, in French. No I/O happens here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urljoin, urlparse

from reconcile.adapters.intrascol.pages import WESTERN_CHARSETS, Page, charset_of
from reconcile.adapters.intrascol.tree import Element, by_id, classes_of, elements, first, name_of, text_of
from reconcile.core.errors import PageNotRecognised
from reconcile.core.model import clean_text


class Status(Enum):
    FOUND = "trouvé"
    MISSING = "absent"
    DIFFERENT = "différent"
    UNCHECKED = "non vérifié"


@dataclass(frozen=True, slots=True)
class Check:
    """One element the client relies on, on one page, and what was seen of it.

    `consequence` says what the rentrée loses when the element is not as expected;
    a check that is not `blocking` (an unknown version, an element that cannot be
    seen without posting a form) never makes the server incompatible.
    """

    page: str
    element: str
    status: Status
    detail: str = ""
    consequence: str = ""
    blocking: bool = True

    @property
    def fails(self) -> bool:
        return self.blocking and self.status in (Status.MISSING, Status.DIFFERENT)


class Means:
    """What the rentrée loses when an element is missing (the table's last column)."""

    LOGIN = "reconcile ne pourra pas se connecter à ce serveur."
    SESSION = "une session expirée pendant la rentrée ne serait pas reconnue : pas de reconnexion possible."
    SCHOOL = "reconcile ne pourra pas vérifier que le classeur est bien celui de cette école."
    VERSION = "la version du serveur ne pourra pas être notée dans le classeur ni vérifiée."
    CLASSES = "l'export et le plan seront impossibles : la liste des classes ne peut pas être lue."
    USERS = "l'export et le plan seront impossibles : la liste des comptes ne peut pas être lue."
    PAGINATION = "seuls les comptes de la première page seraient lus : l'export serait incomplet."
    FILTERS = "si l'ordre de la liste change d'une page à l'autre, des comptes pourraient manquer à l'export."
    PASSWORDS = "les listes de classes n'auront pas les mots de passe des élèves."
    DELETE_CLASSES = "la suppression des classes ne pourra pas se faire automatiquement."
    CREATE_CLASS = "les nouvelles classes ne pourront pas être créées automatiquement."
    MODIFY_CLASS = "le changement d'enseignant responsable ne pourra pas se faire automatiquement."
    USERS_FORM = "les départs et la répartition des élèves ne pourront pas se faire automatiquement."
    CREATE_USER = "les nouveaux comptes ne pourront pas être créés automatiquement."
    JETON = "aucune modification ne pourra être envoyée : le serveur refuserait chaque formulaire."
    MESSAGES = "reconcile ne saurait pas si une opération a réussi : apply s'arrêterait dès la première."
    ENCODING = "les noms accentués (é, ç, Œ…) seraient mal lus ou mal enregistrés."
    FOLDERS = (
        "une classe dont le dossier de travail contient des fichiers ne pourra pas être supprimée "
        "automatiquement (sauvegarde et vidage du dossier à faire à la main)."
    )
    AFTER_POST = "visible seulement après une modification : vérifié à la première que fera apply."


@dataclass(frozen=True, slots=True)
class Field:
    """A form field the client posts: its `name`, and the values it needs among the choices."""

    name: str
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        wanted = "".join(f"={v}" for v in self.values[:1]) if len(self.values) == 1 else ""
        if len(self.values) > 1:
            wanted = " (" + ", ".join(self.values) + ")"
        return f"« {self.name}{wanted} »"


def form_fields(page: Page, form: Element) -> dict[str, set[str]]:
    """The fields of a form, by name, with the values they can send (options, buttons, inputs)."""
    form_id = form.get("id")
    # Fields outside the form that name it (`<input form="ID">`) are posted with it too.
    # Compared here, not in XPath: lxml refuses a control character the page may put in an id.
    outside = [e for e in elements(page.tree, "//*[@form]") if form_id and e.get("form") == form_id]
    fields: dict[str, set[str]] = {}
    for element in [*form.iterdescendants("input", "select", "textarea", "button"), *outside]:
        name = element.get("name")
        if not name:
            continue
        values = fields.setdefault(name, set())
        if element.tag == "select":
            for option in element.iterdescendants("option"):
                value = option.get("value")
                values.add(value if value is not None else clean_text(text_of(option)))
        else:
            value = element.get("value")
            if value is not None:
                values.add(value)
    return fields


def form_check(page: Page, where: str, form_id: str, fields: Sequence[Field], means: str) -> Check:
    """The form `<form id=form_id>` and the fields the client posts with it (the `jeton` apart)."""
    element = f'<form id="{form_id}"> : ' + ", ".join(f.describe() for f in fields)
    form = first(page.tree, "//form[@id = $value]", form_id)
    if form is None:
        others = [f.get("id") or f.get("name") or "sans id" for f in page.tree.iter("form")]
        seen = f"formulaires de la page : {', '.join(map(str, others))}" if others else "aucun formulaire"
        return Check(where, element, Status.MISSING, seen, means)
    present = form_fields(page, form)
    problems = []
    for field in fields:
        if field.name not in present:
            problems.append(f"champ « {field.name} » absent")
        elif field.values and present[field.name] and not set(field.values) <= present[field.name]:
            lacking = ", ".join(sorted(set(field.values) - present[field.name]))
            problems.append(f"« {field.name} » sans la valeur {lacking}")
    if not problems:
        return Check(where, element, Status.FOUND)
    names = ", ".join(sorted(n for n in present if n != "jeton")) or "aucun"
    return Check(
        where, element, Status.DIFFERENT, f"{' ; '.join(problems)} (champs trouvés : {names})", means
    )


def login_form_check(page: Page, where: str, means: str) -> Check:
    return form_check(page, where, "connexion", (Field("login"), Field("motdepasse")), means)


def redirect_check(where: str, element: str, status: int, location: str, url: str, means: str) -> Check:
    """A page asked without a session must send to a login page (`302`, `Location: …login.php`)."""
    target = urlparse(urljoin(url, location)).path
    if 300 <= status < 400 and target.endswith("login.php"):
        return Check(where, element, Status.FOUND)
    seen = f"réponse {status}" + (f" vers {target}" if location else "")
    return Check(where, element, Status.DIFFERENT, seen, means)


def reader_check(page: Page, where: str, element: str, read: object, container: str, means: str) -> Check:
    """Whether a reader of `pages.py` reads the page: `read` is its result or its exception.

    `container` is the id of the element holding the data: without it, the data is missing;
    with it, some row is not as the reader expects.
    """
    if not isinstance(read, PageNotRecognised):
        return Check(where, element, Status.FOUND)
    status = Status.MISSING if by_id(page.tree, container) is None else Status.DIFFERENT
    return Check(where, element, status, f"non trouvé : {read.missing}", means)


def id_check(
    page: Page, where: str, tag: str, element_id: str, means: str, *, blocking: bool = True
) -> Check:
    element = f'<{tag} id="{element_id}">'
    found = by_id(page.tree, element_id)
    if found is None:
        return Check(where, element, Status.MISSING, "", means, blocking)
    if name_of(found) != tag:
        return Check(where, element, Status.DIFFERENT, f"un <{name_of(found)}> porte cet id", means)
    return Check(where, element, Status.FOUND)


def jeton_check(pages: Iterable[tuple[str, Page]]) -> Check:
    """The hidden `jeton` on every page holding a form the client posts."""
    element = '<input type="hidden" name="jeton" value="…">'
    seen = list(pages)
    without = [where for where, page in seen if page.jeton() is None]
    if not seen:
        return Check("toutes", element, Status.UNCHECKED, "aucune page de formulaire lue", Means.JETON, False)
    if without:
        return Check("toutes", element, Status.MISSING, "absent de : " + ", ".join(without), Means.JETON)
    return Check("toutes", element, Status.FOUND, f"sur les {len(seen)} pages de formulaire")


_ERROR_WORDS = re.compile(r"n'existe pas|inconnue?|introuvable|erreur|invalide|impossible", re.IGNORECASE)


def message_check(page: Page, where: str) -> Check:
    """The error message area, on a page that shows an error without any form posted."""
    element = '<p class="erreur">…</p> (et class="succes")'
    refused = [o.message for o in page.outcomes() if not o.ok]
    if refused:
        return Check(where, element, Status.FOUND, f"« {refused[0]} »")
    candidates = []
    for tag in elements(page.tree, "//*[@class]"):
        text = clean_text(text_of(tag, " ")).replace("’", "'")
        if (
            name_of(tag) in ("p", "div", "span", "li", "strong")
            and 0 < len(text) <= 200
            and _ERROR_WORDS.search(text)
        ):
            candidates.append((len(text), tag, text))
    if candidates:
        _, tag, text = min(candidates, key=lambda c: c[0])
        classes = " ".join(classes_of(tag))
        detail = f'le message « {text} » est dans <{name_of(tag)} class="{classes}">, pas dans class="erreur"'
        return Check(where, element, Status.DIFFERENT, detail, Means.MESSAGES)
    detail = "aucun message affiché par cette page : visible seulement après une modification"
    return Check(where, element, Status.UNCHECKED, detail, Means.AFTER_POST, blocking=False)


def encoding_check(pages: Iterable[tuple[str, str | None, bytes]]) -> Check:
    """Pages in ISO-8859-1, as the client posts its forms (`where`, `Content-Type`, bytes)."""
    element = "l'encodage des pages (text/html; charset=ISO-8859-1)"
    others = []
    count = 0
    for where, content_type, content in pages:
        count += 1
        charset = charset_of(content_type)
        if charset is not None and charset not in WESTERN_CHARSETS:
            others.append(f"{where} : {charset}")
        elif charset is None and _is_utf8_text(content):
            others.append(f"{where} : sans charset, octets UTF-8")
    if others:
        return Check("toutes", element, Status.DIFFERENT, " ; ".join(others[:4]), Means.ENCODING)
    return Check("toutes", element, Status.FOUND, f"{count} pages lues")


def _is_utf8_text(content: bytes) -> bool:
    if content.isascii():
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def pagination_check(where: str, pages: Sequence[Page], rows: Sequence[int]) -> Check:
    """The `Suivante` link of `<div id="pagination">`, followed until the last page.

    A full first page (50 users) with no such link means the client would stop there.
    """
    element = '<div id="pagination"> <a class="suivante" href="…page=N…">'
    if len(pages) > 1:
        return Check(where, element, Status.FOUND, f"{len(pages)} pages lues, {sum(rows)} lignes")
    if not pages or rows[0] < 50:
        detail = "une seule page de comptes : le lien « Suivante » n'a pas pu être vu"
        return Check(where, element, Status.UNCHECKED, detail, Means.PAGINATION, blocking=False)
    page = pages[0]
    links = []
    for link in elements(page.tree, "//a[@href]"):
        href = link.get("href") or ""
        if "page=" in href or "suivant" in clean_text(text_of(link)).casefold():
            classes = " ".join(classes_of(link)) or "sans classe"
            links.append(f'<a class="{classes}" href="{href}">')
    if links:
        detail = 'lien vers la page suivante sans class="suivante" : ' + ", ".join(links[:3])
        return Check(where, element, Status.DIFFERENT, detail, Means.PAGINATION)
    detail = "50 comptes sur la première page et aucun lien vers la suivante"
    return Check(where, element, Status.MISSING, detail, Means.PAGINATION)


def known_version_check(where: str, version: str, known: Sequence[str]) -> Check:
    element = f'<span id="version"> : une version connue ({known[0]} à {known[-1]})'
    if version in known:
        return Check(where, element, Status.FOUND, version)
    detail = f"version « {version} » inconnue : les éléments ci-dessous disent si reconcile la comprend"
    return Check(where, element, Status.DIFFERENT, detail, Means.VERSION, blocking=False)
