"""The capture of `reconcile diagnostic --capture`: the pages seen, anonymised, in a private zip.

Anonymisation runs in two passes over every text node and data attribute of a page:

1. the values the readers found (logins, names, passwords, class and folder names, file
   paths, the school's name) are replaced by pseudonyms, the same value (ignoring case)
   by the same pseudonym everywhere, so that the pages stay comparable; the
   administrator's login and password, the `jeton`s and the session cookies are removed;
2. then every remaining word that is not one of the interface's own words (`_UI_WORDS`)
   becomes `mot-N`: on a server whose pages the readers could not read, names are hidden
   all the same.

The markup (tags, `id`, `class`, `name` attributes, paths of links) is kept as is: it is
what the maintainers need. No cookie header is kept.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reconcile.adapters.files import replace_atomically
from reconcile.adapters.intrascol.page_checks import Check, Status
from reconcile.adapters.intrascol.pages import WESTERN_CHARSETS, charset_of, decode
from reconcile.core.model import SchoolClass, User, clean_text

if TYPE_CHECKING:
    from bs4 import Tag


@dataclass(frozen=True, slots=True)
class SeenPage:
    """One answer of the server as the diagnostic received it (only harmless headers kept)."""

    where: str
    method: str
    status: int
    content_type: str | None
    headers: tuple[tuple[str, str], ...]
    content: bytes


@dataclass
class Secrets:
    """What the capture must not show, as the readers found it."""

    admin_login: str
    admin_password: str = field(repr=False)
    schools: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    logins: set[str] = field(default_factory=set)
    last_names: set[str] = field(default_factory=set)
    first_names: set[str] = field(default_factory=set)
    passwords: set[str] = field(default_factory=set, repr=False)
    name_words: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set, repr=False)

    def add_class(self, school_class: SchoolClass) -> None:
        self.classes.add(school_class.name)
        self.logins.add(school_class.responsible_login)
        # `Prénom NOM`: whole, and its words, as the users' list shows them apart.
        self.name_words.add(school_class.responsible_name)
        self.name_words.update(school_class.responsible_name.split())

    def add_user(self, user: User) -> None:
        self.logins.add(user.login)
        self.last_names.add(user.last_name)
        self.first_names.add(user.first_name)
        if user.password:
            self.passwords.add(user.password)

    def add_file(self, path: str) -> None:
        # Each part of the path apart, so that the sub-folders stay visible (`fichier-1/fichier-2`).
        parts = [p for p in path.split("/") if p.strip()]
        self.files.update(parts)
        self.files.update(p.rsplit(".", 1)[0] for p in parts if "." in p)


# The interface's own words, kept by the second pass (compared without case). A word
# missing here is only replaced by `mot-N`: the list errs on the side of hiding.
_UI_TEXT = """
    a à accueil action actions admin administration adulte adultes affecter affecté affectation aide ajouter
    au aucun aucune aux automatiquement carte ce cet cette ces choix classe classes cocher cochées
    cochés compte connecté connexion créer créée créé création d dans de décocher déconnexion déjà des
    destination doit dossier dossiers du école ecole effectif élémentaire élève élèves en enregistrer
    enseignant envoyer erreur est et établissement été être existe fichier fichiers filtres formulaire
    il ils inconnu inconnue intrascol invalide jeton l la le les lien liste mes modification modifier
    mot motdepasse ne n nom nombre non nouvel nouvelle octets ok ou oui page pages par partages pas
    passe peut porte précédente prénom prenom que qui rechercher responsable retire retiré retour sa
    sans se sélectionnée sélectionnées sélectionnés ses si son sont succes succès suivante supprimé
    supprimée supprimer suppression sur taille télécharger telecharger tous tout toutes transféré
    transférer transferer travail type un une utilisateur utilisateurs valider version vide vos votre
    vous
"""
_UI_WORDS = frozenset(_UI_TEXT.split())
_PSEUDONYM_WORDS = ("identifiant", "nom", "prenom", "motdepasse", "classe", "fichier", "dossier", "ecole")
_WORD = re.compile(r"\w+")
_KEPT_NUMBER = re.compile(r"\d{1,6}[a-z]?")
# Attributes that are the page's structure, never data: left as they are.
_STRUCTURE = frozenset(
    {"class", "id", "name", "type", "method", "for", "rel", "lang", "charset", "http-equiv", "content",
     "enctype", "autocomplete", "target", "role", "style", "colspan", "rowspan", "selected", "checked"}
)  # fmt: skip
_LINKS = frozenset({"href", "action", "src"})
_REMOVED_LOGIN = "admin-retire"
_REMOVED_PASSWORD = "motdepasse-retire"
_REMOVED_TOKEN = "jeton-retire"


class Anonymiser:
    """Consistent pseudonyms for one capture (one instance for all its pages and its table)."""

    def __init__(self, secrets: Secrets) -> None:
        self._pseudonyms: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._words: dict[str, str] = {}
        removed = [(secrets.admin_login, _REMOVED_LOGIN), (secrets.admin_password, _REMOVED_PASSWORD)]
        removed += [(token, _REMOVED_TOKEN) for token in secrets.tokens]
        for value, replacement in removed:
            if clean_text(value):
                self._pseudonyms.setdefault(_key(value), replacement)
        for kind, values in (
            ("Ecole", secrets.schools), ("Classe", secrets.classes), ("dossier", secrets.folders),
            ("fichier", secrets.files), ("identifiant", secrets.logins), ("NOM", secrets.last_names),
            ("Prenom", secrets.first_names), ("NOM", secrets.name_words), ("motdepasse", secrets.passwords),
        ):  # fmt: skip
            for value in sorted(values):
                self._register(kind, value)
        known = sorted(self._pseudonyms, key=len, reverse=True)
        alternation = "|".join(_flexible(value) for value in known)
        self._known = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE) if known else None

    def _register(self, kind: str, value: str) -> None:
        key = _key(value)
        if not key or key in self._pseudonyms:
            return
        self._counts[kind] = self._counts.get(kind, 0) + 1
        self._pseudonyms[key] = f"{kind}-{self._counts[kind]}"

    def text(self, text: str) -> str:
        """Both passes over a text: known values, then words that are not the interface's."""
        return _WORD.sub(self._word, self.known(text))

    def known(self, text: str) -> str:
        """The first pass only: for scripts, whose words are code, not the interface's French."""
        if self._known is None:
            return text
        return self._known.sub(lambda m: self._pseudonyms.get(_key(m.group()), _REMOVED_TOKEN), text)

    def _word(self, match: re.Match[str]) -> str:
        word = match.group()
        folded = word.casefold()
        if folded in _UI_WORDS or folded in _PSEUDONYM_WORDS or _KEPT_NUMBER.fullmatch(folded):
            return word
        return self._words.setdefault(folded, f"mot-{len(self._words) + 1}")

    def link(self, url: str) -> str:
        """A link: its path kept (the page's name), its query's values anonymised."""
        parts = urlsplit(url)
        query = urlencode([(k, self.text(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)])
        return urlunsplit(parts._replace(query=query, fragment=self.text(parts.fragment)))

    def page(self, content: bytes, content_type: str | None) -> bytes:
        """An HTML page anonymised, in its own charset (characters outside it as `&#NNN;`)."""
        charset = charset_of(content_type) or "iso-8859-1"
        latin = charset in WESTERN_CHARSETS
        text = decode(content, content_type)
        # Imported here: BeautifulSoup is for this rare path only, not every command's start.
        from bs4 import BeautifulSoup, Tag
        from bs4.element import Declaration, Doctype, NavigableString, ProcessingInstruction

        soup = BeautifulSoup(text, "html.parser")
        for node in list(soup.descendants):
            if isinstance(node, Tag):
                self._attributes(node)
            elif isinstance(node, NavigableString) and not isinstance(
                node, Doctype | Declaration | ProcessingInstruction
            ):
                code = node.parent is not None and node.parent.name in ("script", "style")
                node.replace_with(type(node)(self.known(str(node)) if code else self.text(str(node))))
        # None keeps each <meta charset> as the server wrote it (bs4 accepts it; its stubs do not say so).
        output = soup.decode(formatter="minimal", eventual_encoding=None)  # type: ignore[arg-type]
        return output.encode("latin-1" if latin else charset, errors="xmlcharrefreplace")

    def _attributes(self, tag: Tag) -> None:
        for name, value in list(tag.attrs.items()):
            if name in _STRUCTURE or not isinstance(value, str):
                continue
            if name in _LINKS:
                tag.attrs[name] = self.link(value)
            else:
                tag.attrs[name] = self.known(value) if name.startswith("on") else self.text(value)


def _key(value: str) -> str:
    return clean_text(value).casefold()


def _flexible(value: str) -> str:
    """A value as a pattern, any run of whitespace standing for its spaces."""
    return r"\s+".join(re.escape(part) for part in clean_text(value).split())


def checks_as_text(checks: Sequence[Check]) -> str:
    """The diagnostic's table as plain text, one block per element."""
    lines = []
    for check in checks:
        lines.append(f"[{check.status.value}] {check.page} — {check.element}")
        if check.detail:
            lines.append(f"    vu : {check.detail}")
        if check.consequence and check.status is not Status.FOUND:
            lines.append(f"    pour la rentrée : {check.consequence}")
    return "\n".join(lines) + "\n"


def write_capture(
    path: Path,
    *,
    pages: Iterable[SeenPage],
    secrets: Secrets,
    checks: Sequence[Check],
    summary: str,
) -> int:
    """Write the zip (mode 0600, atomically); returns the number of pages in it."""
    anonymiser = Anonymiser(secrets)
    anonymous_checks = [
        Check(c.page if "?" not in c.page else anonymiser.link(c.page), c.element, c.status,
              anonymiser.text(c.detail), c.consequence, c.blocking)
        for c in checks
    ]  # fmt: skip
    entries: list[tuple[str, bytes]] = []
    index = []
    for number, seen in enumerate(pages, start=1):
        where = anonymiser.link(seen.where)
        name = f"pages/{number:02d}-{re.sub(r'[^A-Za-z0-9.=-]+', '_', where).strip('_')}.html"
        entries.append((name, anonymiser.page(seen.content, seen.content_type) if seen.content else b""))
        headers = {k: (anonymiser.link(v) if k.lower() == "location" else v) for k, v in seen.headers}
        if "Content-Disposition" in headers:
            headers["Content-Disposition"] = anonymiser.text(headers["Content-Disposition"])
        index.append({"fichier": name, "page": where, "methode": seen.method, "statut": seen.status,
                      "content_type": seen.content_type, "entetes": headers})  # fmt: skip
    table = summary + "\n\n" + checks_as_text(anonymous_checks)
    entries.append(("diagnostic.txt", table.encode("utf-8")))
    entries.append(("pages.json", json.dumps(index, ensure_ascii=False, indent=1).encode("utf-8")))
    entries.append(("LISEZMOI.txt", _README.encode("utf-8")))

    def write(stream: BinaryIO) -> None:
        with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)

    replace_atomically(path, write)
    return len(index)


_README = """Capture de « reconcile diagnostic » : les pages du serveur IntraScol, anonymisées.

Contenu :
- diagnostic.txt : le tableau du diagnostic (chaque élément attendu : trouvé, absent, différent) ;
- pages/ : chaque page vue pendant le diagnostic, telle que le serveur l'a envoyée, anonymisée ;
- pages.json : pour chaque page, son adresse (relative au serveur), son code de réponse, son type.

Anonymisation : chaque identifiant, nom, prénom, mot de passe, nom de classe, de dossier et de
fichier, et le nom de l'école, est remplacé par un pseudonyme (identifiant-3, NOM-12, Prenom-7,
Classe-2, fichier-5, Ecole-1…), toujours le même pour la même valeur ; tout autre mot que ceux
de l'interface d'IntraScol devient mot-N. L'identifiant et le mot de passe de l'administrateur,
les jetons de formulaire et les cookies de session sont retirés. La structure des pages (balises,
id, class, name, liens) est gardée telle quelle : c'est elle qui dit ce qui diffère.

Aucun formulaire n'a été envoyé, hormis les connexions (celle de l'administrateur, et celle d'un
élève côté utilisateurs) : le serveur n'a pas été modifié.
"""
