"""Pure parsers of IntraScol pages: HTML text in, typed data out.

Everything here follows `INTERFACE.md`: data is found by the contract's `id`
attributes, `name` attributes and classes only, never by column order, layout,
whitespace or styling, so that any implementation of the contract parses.
A page lacking what the contract promises raises `PageNotRecognised` with the
URL and a French description of what is missing. No I/O happens here.
Every page, field and message relied on, and where it is read: `docs/intrascol.md`.

Pages are read with lxml directly (`tree.py`), not through BeautifulSoup's API as
issue 12 wished: building BeautifulSoup's tree of a page cost several times lxml's
own parse and was most of `apply`'s CPU, so the issue's targets could not be met
with it. Text and class tokens are read as BeautifulSoup read them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urljoin, urlparse

from reconcile.adapters.intrascol.tree import (
    Element,
    by_id,
    classes_of,
    elements,
    first,
    first_with_class,
    parse,
    shown_text,
    text_of,
    with_class,
)
from reconcile.core.errors import PageNotRecognised, ServerRefused
from reconcile.core.model import SchoolClass, User, UserType, clean_text
from reconcile.core.ports import CreatedUser, Folder, ItemOutcome, Refusal, SharedFile

# --- Decoding ----------------------------------------------------------------------------

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_LATIN1_NAMES = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii"}
# Browsers read a page labelled ISO-8859-1 as windows-1252 (WHATWG encoding standard):
# bytes 0x80-0x9F are then letters such as Œ or €, not control characters.
_C1_AS_WINDOWS_1252 = {
    byte: bytes([byte]).decode("cp1252")
    for byte in range(0x80, 0xA0)
    if byte not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_C1_BYTES = re.compile(b"[\x80-\x9f]")


WESTERN_CHARSETS = frozenset({*_LATIN1_NAMES, "windows-1252", "cp1252"})
"""Charsets of pages read as windows-1252, which the client's ISO-8859-1 forms suit."""


def charset_of(content_type: str | None) -> str | None:
    """The charset a `Content-Type` declares, in lower case; None when it declares none."""
    match = _CHARSET.search(content_type or "")
    return match.group(1).lower() if match else None


def decode(content: bytes, content_type: str | None) -> str:
    """The text of a page: its declared charset, ISO-8859-1 when it declares none."""
    charset = charset_of(content_type) or "iso-8859-1"
    if charset not in _LATIN1_NAMES:
        try:
            return content.decode(charset, errors="replace")
        except LookupError:
            pass
    text = content.decode("latin-1")
    # Translating costs ~2 ms for a 40 KB page; most pages hold no such byte.
    return text.translate(_C1_AS_WINDOWS_1252) if _C1_BYTES.search(content) else text


# --- Typed results ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What `admin/index.php` tells about the server."""

    version: str
    school: str


@dataclass(frozen=True, slots=True)
class UsersPage:
    """One page of `admin/utilisateurs.php`: its users and the next page's URL."""

    users: tuple[User, ...]
    next_url: str | None


# --- Messages ----------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'"})
_QUOTES = '«»"“” '

# Error messages that name no item, matched on their whole (normalised) text.
_FIXED_REFUSALS = {
    "Jeton de formulaire invalide.": Refusal.INVALID_TOKEN,
    "La classe de destination n'existe pas.": Refusal.UNKNOWN_DESTINATION,
    "Une classe porte déjà ce nom.": Refusal.CLASS_EXISTS,
    "Le nom de classe est vide.": Refusal.EMPTY_NAME,
    "Le prénom est vide.": Refusal.EMPTY_NAME,
    "Le nom est vide.": Refusal.EMPTY_NAME,
    "L'enseignant responsable est inconnu.": Refusal.UNKNOWN_RESPONSIBLE,
    "Le type d'utilisateur est inconnu.": Refusal.OTHER,
}
# Greedy subjects anchored on the message's end: a class may be named `Ce qui a été fait`.
_CLASS_SUBJECT = re.compile(
    r"^La classe (?P<subject>.+) (?:a été (?:supprimée|créée|modifiée)\.?$|ne peut pas être supprimée\b)"
)
# The contract's wordings first (a login is not assumed to be one word), then any
# other message opening on `L'utilisateur LOGIN `.
_USER_SUBJECT = re.compile(
    r"^L'utilisateur (?P<subject>(?!a été )\S.*?) (?:a été supprimé|est responsable de la classe "
    r"|a été transféré dans la classe |a été affecté à la classe |n'existe pas\.?$)"
)
_USER_OTHER_SUBJECT = re.compile(r"^L'utilisateur (?P<subject>(?!a été )\S+) ")
_FILE_SUBJECT = re.compile(r"^Le fichier (?P<subject>.+) a été supprimé\.?$")
_NOT_A_PUPIL = re.compile(r"\b(adulte|élève|eleve)s?\b", re.IGNORECASE)


def outcome_of(text: str, ok: bool) -> ItemOutcome:
    """One `succes` / `erreur` message as an outcome: its subject and, if refused, why.

    The subject is the login, class name or file path the message names ("" when
    it names none, like `Une classe porte déjà ce nom.`).
    """
    shown = clean_text(text)
    # Wordings are matched with plain apostrophes; the subject keeps the server's
    # characters (a class `Classe d’Anne` is named so in the list of classes too).
    text = shown.translate(_APOSTROPHES)
    subject = ""
    for pattern in (_CLASS_SUBJECT, _USER_SUBJECT, _USER_OTHER_SUBJECT, _FILE_SUBJECT):
        match = pattern.match(text)
        if match:
            subject = shown[match.start("subject") : match.end("subject")].strip(_QUOTES)
            break
    if ok:
        return ItemOutcome(subject=subject, ok=True, message=text)
    return ItemOutcome(subject=subject, ok=False, message=text, refusal=_refusal(text, subject))


def _refusal(text: str, subject: str) -> Refusal:
    if text in _FIXED_REFUSALS:
        return _FIXED_REFUSALS[text]
    if text.startswith("La classe ") and "ne peut pas être supprimée" in text and "pas vide" in text:
        return Refusal.FOLDER_NOT_EMPTY
    if text.startswith("L'utilisateur ") and subject:
        if " est responsable de la classe " in text:
            return Refusal.RESPONSIBLE_OF_CLASS
        if text.endswith("n'existe pas."):
            return Refusal.UNKNOWN_USER
    # The contract does not word the refusal of an adult put in a class: any
    # refusal naming its user and speaking of pupils or adults is taken for it.
    if subject and not text.startswith("La classe ") and _NOT_A_PUPIL.search(text):
        return Refusal.NOT_A_PUPIL
    return Refusal.OTHER


def attributed(outcomes: Sequence[ItemOutcome], posted: Sequence[str]) -> tuple[ItemOutcome, ...]:
    """Outcomes of a form that posted the logins `posted`, each with the login it names.

    A message worded otherwise than the contract (a refusal the contract does not
    word, a login quoted or followed by a name) has no subject or a wrong one; it
    gets the one posted login its text names as a word, the longest when several do
    (`dupont2` rather than `dupont`). Others are left as they are.
    """
    wanted = set(posted)
    result = []
    for outcome in outcomes:
        if outcome.subject in wanted or outcome.message in _FIXED_REFUSALS:
            result.append(outcome)  # the contract's own messages naming no user stay so
            continue
        named = [login for login in wanted if login and _names(outcome.message, login)]
        if not named:
            result.append(outcome)
            continue
        subject = max(named, key=len)
        refusal = None if outcome.ok else _refusal(outcome.message, subject)
        result.append(replace(outcome, subject=subject, refusal=refusal))
    return tuple(result)


def _names(text: str, word: str) -> bool:
    """Whether `word` stands in `text` as a whole token (a final full stop ends it)."""
    return re.search(rf"(?<![\w.@-]){re.escape(word)}(?![\w@-]|\.\w)", text) is not None


# --- Pages -------------------------------------------------------------------------------

# Elements a browser shows on a line of their own: their text is not glued to the next.
_BLOCKS = frozenset({"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "dd", "dt", "hr"})
_MESSAGE_PATH = "//*[contains(@class, 'succes') or contains(@class, 'erreur')]"


def _message_text(element: Element) -> str:
    """A message as a browser shows it: inline markup adds no space (`<b>CM1</b>.`)."""
    return clean_text(shown_text(element, _BLOCKS))


def _int(text: str) -> int | None:
    digits = "".join(text.split())
    return int(digits) if digits.isdigit() else None


class Page:
    """One IntraScol page; each method reads one thing the contract promises.

    The page is parsed once, whole, on first use (`tree`), and every method reads that tree.
    """

    def __init__(self, url: str, text: str) -> None:
        self.url = url
        self.text = text
        self._tree: Element | None = None
        self._outcomes: tuple[ItemOutcome, ...] | None = None

    @property
    def tree(self) -> Element:
        """The whole page's tree (its root, `<html>`), built on first use."""
        if self._tree is None:
            self._tree = parse(self.text)
        return self._tree

    def _missing(self, what: str) -> PageNotRecognised:
        return PageNotRecognised(self.url, what)

    def _by_id(self, element_id: str, what: str) -> Element:
        element = by_id(self.tree, element_id)
        if element is None:
            raise self._missing(what)
        return element

    # Session and forms

    def is_login_form(self) -> bool:
        """Whether this is a login page (`<form id="connexion">`)."""
        return first(self.tree, "//form[@id = 'connexion']") is not None

    def jeton(self) -> str | None:
        """The session's anti-forgery token, from any form of the page."""
        field = first(self.tree, "//input[@name = 'jeton']")
        value = field.get("value") if field is not None else None
        return value or None

    def outcomes(self) -> tuple[ItemOutcome, ...]:
        """The page's `succes` and `erreur` messages, in page order.

        An empty one (a template's placeholder for messages) is no message.
        """
        if self._outcomes is not None:
            return self._outcomes
        found: list[tuple[Element, str]] = []
        seen: set[Element] = set()  # lxml gives the same proxy for a node while one is alive
        for element in elements(self.tree, _MESSAGE_PATH):
            classes = classes_of(element)
            if ("succes" not in classes and "erreur" not in classes) or any(
                parent in seen for parent in element.iterancestors()
            ):
                continue  # no message; or inside another message's wrapper: the same message
            text = _message_text(element)
            if text:
                found.append((element, text))
                seen.add(element)
        self._outcomes = tuple(
            outcome_of(text, ok="succes" in classes_of(element)) for element, text in found
        )
        return self._outcomes

    def errors(self) -> tuple[ItemOutcome, ...]:
        return tuple(o for o in self.outcomes() if not o.ok)

    # admin/index.php

    def server_info(self) -> ServerInfo:
        version = self._by_id("version", 'la version du serveur (<span id="version">)')
        school = self._by_id("ecole", 'le nom de l\'école (<span id="ecole">)')
        return ServerInfo(version=clean_text(text_of(version)), school=clean_text(text_of(school)))

    # admin/classes.php

    def classes(self) -> tuple[SchoolClass, ...]:
        table = self._by_id("classes", 'le tableau des classes (<table id="classes">)')
        return tuple(
            self._school_class(row, number)
            for number, row in enumerate(with_class(table, "classe", "tr"), start=1)
        )

    def _school_class(self, row: Element, number: int) -> SchoolClass:
        where = f"dans la classe n° {number} du tableau des classes"
        box = first(row, "descendant::input[@name = 'classes[]']")
        class_id = _int(box.get("value") or "") if box is not None else None
        if class_id is None:
            raise self._missing(f"la case à cocher « classes[] » avec l'identifiant numérique {where}")
        name = first_with_class(row, "nom")
        if name is None or not clean_text(text_of(name)):
            raise self._missing(f'le nom de la classe (class="nom") {where}')
        responsible = first_with_class(row, "responsable")
        login = responsible.get("data-login") if responsible is not None else None
        if responsible is None or login is None:
            raise self._missing(f'l\'enseignant responsable (class="responsable" data-login) {where}')
        size_cell = first_with_class(row, "effectif")
        size = _int(text_of(size_cell)) if size_cell is not None else None
        if size is None:
            raise self._missing(f'l\'effectif (class="effectif") {where}')
        return SchoolClass(
            id=class_id,
            name=clean_text(text_of(name)),
            responsible_login=login.strip(),
            responsible_name=clean_text(text_of(responsible)),
            size=size,
        )

    # admin/utilisateurs.php

    def users_page(self) -> UsersPage:
        table = self._by_id("utilisateurs", 'le tableau des utilisateurs (<table id="utilisateurs">)')
        users = tuple(
            self._user(row, number)
            for number, row in enumerate(with_class(table, "utilisateur", "tr"), start=1)
        )
        return UsersPage(users=users, next_url=self._next_page())

    def _cell(self, cells: dict[str, Element], name: str, where: str) -> Element:
        cell = cells.get(name)
        if cell is None:
            raise self._missing(f'la cellule class="{name}" {where}')
        return cell

    def _user(self, row: Element, number: int) -> User:
        where = f"dans l'utilisateur n° {number} du tableau des utilisateurs"
        cells = _by_class(row)
        login = text_of(self._cell(cells, "login", where)).strip()
        if not login:
            raise self._missing(f'l\'identifiant (class="login") {where}')
        type_text = text_of(self._cell(cells, "type", where))
        user_type = UserType.from_label(type_text)
        if user_type is None:
            raise self._missing(f'un type « Élève » ou « Adulte » (class="type") {where}')
        class_id_text = self._cell(cells, "classe", where).get("data-id")
        class_id = _int(class_id_text) if class_id_text is not None else None
        if class_id_text is not None and class_id_text.strip() and class_id is None:
            raise self._missing(f"un identifiant de classe numérique (data-id) {where}")
        password = text_of(self._cell(cells, "motdepasse", where)).strip()
        hidden = not password or set(password) == {"*"}
        return User(
            login=login,
            last_name=clean_text(text_of(self._cell(cells, "nom", where))),
            first_name=clean_text(text_of(self._cell(cells, "prenom", where))),
            type=user_type,
            class_id=class_id,
            password=None if hidden or user_type is UserType.ADULT else password,
        )

    def _next_page(self) -> str | None:
        scope = by_id(self.tree, "pagination")
        link = first_with_class(scope if scope is not None else self.tree, "suivante", "a")
        href = link.get("href") if link is not None else None
        return urljoin(self.url, href) if href is not None and href.strip() else None

    # admin/ajout_utilisateur.php (answer to the creation)

    def created_user(self) -> CreatedUser:
        """The login and password the server made; `ServerRefused` on an `erreur`."""
        refused = self.errors()
        if refused:
            raise ServerRefused(refused[0].message, refused[0].subject)
        login = text_of(self._by_id("login", 'l\'identifiant créé (<span id="login">)')).strip()
        password = self._by_id("motdepasse", 'le mot de passe créé (<span id="motdepasse">)')
        if not login:
            raise self._missing('un identifiant dans <span id="login">')
        return CreatedUser(login=login, password=text_of(password).strip())

    # Users' side: partages.php

    def folders(self) -> tuple[Folder, ...]:
        listing = self._by_id("partages", 'la liste des partages (<ul id="partages">)')
        result = []
        for number, item in enumerate(with_class(listing, "dossier"), start=1):
            link = item if item.tag == "a" else first(item, "descendant::a[@href]")
            href = link.get("href") if link is not None else None
            folder_id = _query_value(href, "dossier") if href is not None else None
            if link is None or folder_id is None:
                raise self._missing(f"le lien « partages.php?dossier=… » du dossier n° {number}")
            result.append(Folder(id=folder_id, name=clean_text(text_of(link))))
        return tuple(result)

    def files(self) -> tuple[SharedFile, ...]:
        table = self._by_id("fichiers", 'le tableau des fichiers (<table id="fichiers">)')
        result = []
        for number, row in enumerate(with_class(table, "fichier", "tr"), start=1):
            where = f"dans le fichier n° {number} du tableau des fichiers"
            box = first(row, "descendant::input[@name = 'fichiers[]']")
            file_id = box.get("value") if box is not None else None
            if file_id is None or not file_id.strip():
                link = first_with_class(row, "telecharger", "a")
                href = link.get("href") if link is not None else None
                file_id = _query_value(href, "fichier") if href is not None else None
            if file_id is None:
                raise self._missing(f"l'identifiant du fichier (« fichiers[] ») {where}")
            cells = _by_class(row)
            size = _int(text_of(self._cell(cells, "taille", where)))
            if size is None:
                raise self._missing(f'une taille en octets (class="taille") {where}')
            path = clean_text(text_of(self._cell(cells, "chemin", where)))
            result.append(SharedFile(id=file_id.strip(), path=path, size=size))
        return tuple(result)


def _by_class(row: Element) -> dict[str, Element]:
    """The first element inside `row` bearing each class, in one walk (as `first_with_class`
    would find it, without walking the row again for each cell: 2,000 rows read faster)."""
    found: dict[str, Element] = {}
    for element in row.iterdescendants():
        for name in classes_of(element):
            found.setdefault(name, element)
    return found


def _query_value(href: str, name: str) -> str | None:
    values = parse_qs(urlparse(href).query).get(name)
    return values[0].strip() if values and values[0].strip() else None
