"""Names as people type them in the workbook: a class or an adult resolved to one, and a
person's name that the spreadsheet program turned into a date, a number or a boolean."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reconcile.adapters.workbook.sheets import not_text
from reconcile.core.model import ExportInfo, UserType, WantedUser, class_key, fold


def converted_name_problem(header: str, value: Any) -> str | None:
    """The French problem of a name cell (`header`: Nom or Prénom) that does not hold text.

    A new account would be named after what the program made of the typing (« 01/06/2026 »
    for `1/6`): the cell is refused, with the text to type instead.
    """
    converted = not_text(value)
    if converted is None:
        return None
    what, shown = converted
    return (
        f"la cellule contient {what} ({shown}), pas du texte : le tableur a converti ce qui a été "
        f"tapé. Tapez le {header.lower()} comme du texte : précédez-le d'une apostrophe ('{shown}) "
        "ou mettez la cellule au format Texte puis retapez-le. Si une autre donnée a été collée "
        "dans cette colonne, corrigez la ligne."
    )


@dataclass
class ClassNames:
    """The class names of the Classes sheet, to resolve what people type in `Classe cible`."""

    by_key: dict[str, str] = field(default_factory=dict)
    by_fold: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str) -> None:
        if class_key(name) in self.by_key:
            return
        self.by_key[class_key(name)] = name
        self.by_fold.setdefault(fold(name), []).append(name)

    def resolve(self, text: str) -> tuple[str | None, list[str]]:
        """(the class, []) or (None, the candidates: several when ambiguous, none when unknown)."""
        exact = self.by_key.get(class_key(text))
        if exact is not None:
            return exact, []
        candidates = self.by_fold.get(fold(text), [])
        if len(candidates) == 1:
            return candidates[0], []
        return None, candidates


_LOGIN_IN_PARENTHESES = re.compile(r"\(([^()]+)\)\s*$")


@dataclass(frozen=True, slots=True)
class _Person:
    key: str
    login: str | None
    last_name: str
    first_name: str
    type: UserType
    row: int | None


class Teachers:
    """Resolves `Enseignant responsable`: a login, `Prénom NOM`, `NOM Prénom`, or `… (login)`."""

    def __init__(self, users: list[WantedUser], export: ExportInfo | None) -> None:
        people: dict[str, _Person] = {}
        for user in users:
            row = user.location.row if user.location else None
            people[user.key] = _Person(user.key, user.login, user.last_name, user.first_name, user.type, row)
        for exported in export.users if export else ():
            # A row deleted from Utilisateurs leaves the user untouched: still a possible teacher.
            people.setdefault(
                exported.login,
                _Person(
                    exported.login,
                    exported.login,
                    exported.last_name,
                    exported.first_name,
                    exported.type,
                    None,
                ),
            )
        self.people = list(people.values())
        self.by_login = {p.login: p for p in self.people if p.login}
        self.by_folded_login = {p.login.casefold(): p for p in self.people if p.login}
        self.by_name: dict[str, list[_Person]] = {}
        for person in self.people:
            for key in _name_keys(person):
                self.by_name.setdefault(key, []).append(person)

    def resolve(self, text: str) -> tuple[str | None, str | None]:
        """(the user key, None) or (None, the French problem)."""
        in_parentheses = _LOGIN_IN_PARENTHESES.search(text)
        person = self.by_login.get(text) or self.by_folded_login.get(text.casefold())
        if person is None and in_parentheses:
            person = self.by_login.get(in_parentheses.group(1).strip())
        if person is None:
            name = fold(_LOGIN_IN_PARENTHESES.sub("", text))
            matches = self.by_name.get(name, [])
            adults = [p for p in matches if p.type is UserType.ADULT]
            if len(adults) > 1:
                logins = [p.login or f"ligne {p.row}" for p in adults]
                return (
                    None,
                    f"plusieurs adultes s'appellent « {text} » ({', '.join(logins)}) : "
                    "écrivez l'identifiant.",
                )
            if len(adults) == 1:
                person = adults[0]
            elif matches:
                person = matches[0]
        if person is None:
            return None, (
                f"l'enseignant responsable « {text} » est inconnu : écrivez l'identifiant ou « Prénom NOM » "
                "d'un adulte de l'onglet Utilisateurs."
            )
        if person.type is not UserType.ADULT:
            if person.login is None:
                return None, (
                    f"« {text} » est une nouvelle ligne de type Élève (Utilisateurs, ligne {person.row}) : "
                    "mettez « Adulte » dans sa colonne Type."
                )
            return None, f"« {text} » est un élève : l'enseignant responsable doit être un adulte."
        return person.key, None


def _name_keys(person: _Person) -> set[str]:
    return {
        fold(f"{person.first_name} {person.last_name}"),
        fold(f"{person.last_name} {person.first_name}"),
    }
