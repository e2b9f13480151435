"""An in-memory IntraScol for the executor's decision tests: faults placed on chosen POSTs.

It follows the contract's rules (server-made logins given again after a deletion,
one message per item, a class with files cannot be deleted) so that `execute`'s
doubt checks can be driven deterministically: "the 3rd POST is applied but its
answer is lost" is hard to arrange with the sandbox's random faults. End-to-end
behaviour is tested against the sandbox over HTTP.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from reconcile.core.errors import AnswerLost, ServerFailure, ServerUnreachable
from reconcile.core.model import SchoolClass, ServerState, User, UserType
from reconcile.core.ports import BatchOutcome, CreatedUser, ItemOutcome, Refusal, UserSession

BEFORE = "before"  # a 500 before anything is applied
AFTER = "after"  # applied, then the answer is lost
DOWN = "down"  # the server is unreachable from this POST on
KILL_BEFORE = "kill-before"  # the process dies as it sends this POST
KILL_AFTER = "kill-after"  # the process dies once this POST is applied, before reading the answer


class Killed(BaseException):
    """Stands for SIGKILL: nothing of ours runs after it (not an Exception)."""


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in ascii_text if ch.isalnum())


class MemoryServer:
    """Implements `ports.IntraScolServer` over dictionaries."""

    def __init__(self, classes: Sequence[SchoolClass], users: Sequence[User]) -> None:
        self.classes = {c.id: c for c in classes}
        self.users = {u.login: u for u in users}
        self.files: dict[int, list[str]] = {}
        self.faults: dict[int, str] = {}  # POST number (1-based) -> BEFORE / AFTER / DOWN
        self.posts: list[str] = []
        self.reads = 0
        self._ids = itertools.count(max(self.classes, default=0) + 1)
        self._passwords = itertools.count(100)
        self._down = False
        self.random_faults: tuple[random.Random, float, float] | None = None  # (rng, 500 rate, lost rate)

    # -- inspection -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return "memoire://intrascol/"

    @property
    def request_count(self) -> int:
        return len(self.posts) + self.reads

    def class_named(self, name: str) -> SchoolClass | None:
        return next((c for c in self.classes.values() if c.name.casefold() == name.casefold()), None)

    def members(self, name: str) -> set[str]:
        found = self.class_named(name)
        return {u.login for u in self.users.values() if found and u.class_id == found.id}

    def named(self, first_name: str, last_name: str) -> list[User]:
        return [u for u in self.users.values() if (u.first_name, u.last_name) == (first_name, last_name)]

    # -- faults ---------------------------------------------------------------------------

    def _post(self, what: str) -> str | None:
        if self._down:
            raise ServerUnreachable(self.url, "connexion refusée")
        self.posts.append(what)
        fault = self.faults.get(len(self.posts))
        if fault is None and self.random_faults is not None:
            rng, fail_rate, lose_rate = self.random_faults
            draw = rng.random()
            fault = BEFORE if draw < fail_rate else AFTER if draw < fail_rate + lose_rate else None
        if fault == DOWN:
            self._down = True
            raise ServerUnreachable(self.url, "connexion refusée")
        if fault == BEFORE:
            raise ServerFailure(self.url + what, 500)
        if fault == KILL_BEFORE:
            raise Killed(what)
        return fault

    @staticmethod
    def _lost(fault: str | None, what: str) -> None:
        if fault == AFTER:
            raise AnswerLost(what, "délai dépassé")
        if fault == KILL_AFTER:
            raise Killed(what)

    # -- the protocol ---------------------------------------------------------------------

    def read_state(self) -> ServerState:
        if self._down:
            raise ServerUnreachable(self.url, "connexion refusée")
        self.reads += 1
        classes = tuple(
            replace(c, size=sum(1 for u in self.users.values() if u.class_id == c.id))
            for c in self.classes.values()
        )
        return ServerState(classes=classes, users=tuple(self.users.values()))

    def create_user(self, first_name: str, last_name: str, user_type: UserType) -> CreatedUser:
        fault = self._post("ajout_utilisateur.php")
        base = f"{_slug(first_name)}.{_slug(last_name)}"
        login = next(
            candidate
            for n in itertools.count(1)
            if (candidate := base if n == 1 else f"{base}{n}") not in self.users
        )
        password = f"mdp{next(self._passwords)}"
        self.users[login] = User(
            login, last_name, first_name, user_type, None, password if user_type is UserType.PUPIL else None
        )
        self._lost(fault, "ajout_utilisateur.php")
        return CreatedUser(login, password)

    def assign(self, login: str, class_id: int) -> ItemOutcome:
        fault = self._post("affecter.php")
        outcome = self._move(login, class_id)
        self._lost(fault, "affecter.php")
        return outcome

    def _move(self, login: str, class_id: int) -> ItemOutcome:
        user = self.users.get(login)
        if user is None:
            return ItemOutcome(login, False, f"L'utilisateur {login} n'existe pas.", Refusal.UNKNOWN_USER)
        if user.type is not UserType.PUPIL:
            return ItemOutcome(login, False, "Seul un élève peut être dans une classe.", Refusal.NOT_A_PUPIL)
        self.users[login] = replace(user, class_id=class_id)
        name = self.classes[class_id].name
        return ItemOutcome(login, True, f"L'utilisateur {login} a été transféré dans la classe {name}.")

    def transfer(self, logins: Sequence[str], class_id: int) -> BatchOutcome:
        fault = self._post("utilisateurs.php transferer")
        if class_id not in self.classes:
            message = "La classe de destination n'existe pas."
            return BatchOutcome((ItemOutcome("", False, message, Refusal.UNKNOWN_DESTINATION),))
        outcome = BatchOutcome(tuple(self._move(login, class_id) for login in logins))
        self._lost(fault, "utilisateurs.php")
        return outcome

    def delete_users(self, logins: Sequence[str]) -> BatchOutcome:
        fault = self._post("utilisateurs.php supprimer")
        items = []
        for login in logins:
            responsible_of = [c.name for c in self.classes.values() if c.responsible_login == login]
            if login not in self.users:
                message = f"L'utilisateur {login} n'existe pas."
                items.append(ItemOutcome(login, False, message, Refusal.UNKNOWN_USER))
            elif responsible_of:
                message = f"L'utilisateur {login} est responsable de la classe {responsible_of[0]}."
                items.append(ItemOutcome(login, False, message, Refusal.RESPONSIBLE_OF_CLASS))
            else:
                del self.users[login]
                items.append(ItemOutcome(login, True, f"L'utilisateur {login} a été supprimé."))
        self._lost(fault, "utilisateurs.php")
        return BatchOutcome(tuple(items))

    def create_class(self, name: str, responsible_login: str) -> ItemOutcome:
        fault = self._post("ajout_classe.php")
        if self.class_named(name) is not None:
            return ItemOutcome(name, False, "Une classe porte déjà ce nom.", Refusal.CLASS_EXISTS)
        responsible = self.users.get(responsible_login)
        if responsible is None or responsible.type is not UserType.ADULT:
            return ItemOutcome(
                name, False, "L'enseignant responsable est inconnu.", Refusal.UNKNOWN_RESPONSIBLE
            )
        class_id = next(self._ids)
        self.classes[class_id] = SchoolClass(class_id, name, responsible_login, responsible.display_name)
        self._lost(fault, "ajout_classe.php")
        return ItemOutcome(name, True, f"La classe {name} a été créée.")

    def modify_class(self, class_id: int, responsible_login: str) -> ItemOutcome:
        fault = self._post("modifier_classe.php")
        school_class = self.classes[class_id]
        self.classes[class_id] = replace(school_class, responsible_login=responsible_login)
        self._lost(fault, "modifier_classe.php")
        return ItemOutcome(school_class.name, True, f"La classe {school_class.name} a été modifiée.")

    def delete_classes(self, class_ids: Sequence[int]) -> BatchOutcome:
        fault = self._post("classes.php supprimer")
        items = []
        for class_id in class_ids:
            name = self.classes[class_id].name
            if self.files.get(class_id):
                message = (
                    f"La classe {name} ne peut pas être supprimée : son dossier de travail n'est pas vide."
                )
                items.append(ItemOutcome(name, False, message, Refusal.FOLDER_NOT_EMPTY))
                continue
            del self.classes[class_id]
            for login, user in list(self.users.items()):
                if user.class_id == class_id:
                    self.users[login] = replace(user, class_id=None)
            items.append(ItemOutcome(name, True, f"La classe {name} a été supprimée."))
        self._lost(fault, "classes.php")
        return BatchOutcome(tuple(items))

    def user_session(self, login: str, password: str) -> UserSession:
        raise AssertionError("the users' side is exercised against the sandbox")


def small_school() -> MemoryServer:
    """Three classes (CP, CE1, CM2), their teachers and four pupils, with passwords."""
    return MemoryServer(
        classes=[
            SchoolClass(1, "CP", "anne.martin"),
            SchoolClass(2, "CE1", "paul.durand"),
            SchoolClass(3, "CM2", "marc.petit"),
        ],
        users=[
            User("anne.martin", "Martin", "Anne", UserType.ADULT),
            User("paul.durand", "Durand", "Paul", UserType.ADULT),
            User("marc.petit", "Petit", "Marc", UserType.ADULT),
            User("lea.roux", "Roux", "Léa", UserType.PUPIL, 1, "chat12"),
            User("tom.blanc", "Blanc", "Tom", UserType.PUPIL, 2, "loup34"),
            User("ines.noir", "Noir", "Inès", UserType.PUPIL, 3, "lune56"),
            User("hugo.gris", "Gris", "Hugo", UserType.PUPIL, 3, "pomme78"),
        ],
    )


class ClassListingMemoryServer(MemoryServer):
    """The same, offering the optional `read_classes` (one request)."""

    class_reads = 0

    def read_classes(self) -> tuple[SchoolClass, ...]:
        self.class_reads += 1
        return tuple(self.classes.values())
