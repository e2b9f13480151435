"""The in-memory IntraScol of the tests: `ports.IntraScolServer` and `ports.UserSession` over dictionaries.

It follows the contract's rules (`INTERFACE.md`): the server makes the logins and gives
a freed one again, one message per item, class names unique regardless of case, only
pupils go into a class, a class's responsible teacher is an adult and cannot be deleted,
the pupils of a deleted class are left in no class, a class whose work folder holds
files cannot be deleted, a user reaches only its own classes' folders.

Not a mock of HTTP: end-to-end behaviour is tested against the sandbox over loopback.
This fake lets a test put a fault exactly where it wants, deterministically:

- `faults`: POST number (1-based, file deletions included) -> `BEFORE` (a 500, nothing
  applied), `AFTER` (applied, the answer lost), `DOWN` (unreachable from then on),
  `KILL_BEFORE` / `KILL_AFTER` (the process "dies" as it sends / once it is applied);
- `lose_answer_of`: names of protocol methods (`"create_user"`, `"delete_files"`…) whose
  next POST is applied and its answer lost, once each;
- `random_faults`: `(rng, 500 rate, lost-answer rate)` drawn for every other POST;
- `after_listing`: called once with the server right after the next folder listing
  (a teacher changing a file between the listing and its download).

`posts` names every POST sent, `reads` counts the requests that change nothing (state
reads, users' logins and listings, downloads).
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace

from reconcile.core.errors import AnswerLost, AuthenticationFailed, ServerFailure, ServerUnreachable
from reconcile.core.model import SchoolClass, ServerState, User, UserType, class_key
from reconcile.core.ports import BatchOutcome, CreatedUser, Folder, ItemOutcome, Refusal, SharedFile

BEFORE = "before"  # a 500 before anything is applied
AFTER = "after"  # applied, then the answer is lost
DOWN = "down"  # the server is unreachable from this POST on
KILL_BEFORE = "kill-before"  # the process dies as it sends this POST
KILL_AFTER = "kill-after"  # the process dies once this POST is applied, before reading the answer

COMMON_FOLDER = Folder("commun", "Commun")


class Killed(BaseException):
    """Stands for SIGKILL: nothing of ours runs after it (not an Exception)."""


@dataclass
class StoredFile:
    """A file of a class's work folder; `data` may be changed by a test (a teacher's edit)."""

    id: str
    path: str
    data: bytes = b""


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in ascii_text if ch.isalnum())


def _folder_id(class_id: int) -> str:
    return f"d{class_id}"


class MemoryServer:
    """Implements `ports.IntraScolServer` over dictionaries (see the module's docstring)."""

    def __init__(self, classes: Sequence[SchoolClass], users: Sequence[User]) -> None:
        self.classes = {c.id: c for c in classes}
        self.users = {u.login: u for u in users}
        self.files: dict[int, list[StoredFile]] = {}  # class id -> its work folder's files
        self.faults: dict[int, str] = {}  # POST number (1-based) -> BEFORE / AFTER / DOWN / KILL_*
        self.lose_answer_of: set[str] = set()
        self.random_faults: tuple[random.Random, float, float] | None = None  # (rng, 500 rate, lost rate)
        self.after_listing: Callable[[MemoryServer], None] | None = None
        self.posts: list[str] = []
        self.reads = 0
        self._ids = itertools.count(max(self.classes, default=0) + 1)
        self._file_ids = itertools.count(1)
        self._passwords = itertools.count(100)
        self._down = False

    # -- setup and inspection ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return "memoire://intrascol/"

    @property
    def request_count(self) -> int:
        return len(self.posts) + self.reads

    def add_file(self, class_id: int, path: str, data: bytes = b"") -> StoredFile:
        """Puts a file in a class's work folder."""
        stored = StoredFile(f"f{next(self._file_ids)}", path, data)
        self.files.setdefault(class_id, []).append(stored)
        return stored

    def class_named(self, name: str) -> SchoolClass | None:
        """The class with this name, whatever its case (as the server compares them)."""
        return next((c for c in self.classes.values() if class_key(c.name) == class_key(name)), None)

    def members(self, name: str) -> set[str]:
        found = self.class_named(name)
        return {u.login for u in self.users.values() if found and u.class_id == found.id}

    def named(self, first_name: str, last_name: str) -> list[User]:
        return [u for u in self.users.values() if (u.first_name, u.last_name) == (first_name, last_name)]

    # -- faults --------------------------------------------------------------------------------

    def serve_read(self, count: int = 1) -> None:
        if self._down:
            raise ServerUnreachable(self.url, "connexion refusée")
        self.reads += count

    def serve_post(self, method: str, what: str) -> str | None:
        """Counts a POST and raises the fault placed before it; returns the one placed after it."""
        if self._down:
            raise ServerUnreachable(self.url, "connexion refusée")
        self.posts.append(what)
        fault = self.faults.get(len(self.posts))
        if fault is None and method in self.lose_answer_of:
            self.lose_answer_of.discard(method)
            fault = AFTER
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
    def finish_post(fault: str | None, what: str) -> None:
        if fault == AFTER:
            raise AnswerLost(what, "délai dépassé")
        if fault == KILL_AFTER:
            raise Killed(what)

    # -- the admin side ------------------------------------------------------------------------

    def read_state(self) -> ServerState:
        self.serve_read()
        classes = tuple(
            replace(c, size=sum(1 for u in self.users.values() if u.class_id == c.id))
            for c in self.classes.values()
        )
        return ServerState(classes=classes, users=tuple(self.users.values()))

    def create_user(self, first_name: str, last_name: str, user_type: UserType) -> CreatedUser:
        fault = self.serve_post("create_user", "ajout_utilisateur.php")
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
        self.finish_post(fault, "ajout_utilisateur.php")
        return CreatedUser(login, password)

    def assign(self, login: str, class_id: int) -> ItemOutcome:
        fault = self.serve_post("assign", "affecter.php")
        if class_id not in self.classes:
            message = "La classe de destination n'existe pas."
            return ItemOutcome(login, False, message, Refusal.UNKNOWN_DESTINATION)
        outcome = self._move(login, class_id)
        self.finish_post(fault, "affecter.php")
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
        fault = self.serve_post("transfer", "utilisateurs.php transferer")
        if class_id not in self.classes:
            message = "La classe de destination n'existe pas."
            return BatchOutcome((ItemOutcome("", False, message, Refusal.UNKNOWN_DESTINATION),))
        outcome = BatchOutcome(tuple(self._move(login, class_id) for login in logins))
        self.finish_post(fault, "utilisateurs.php")
        return outcome

    def delete_users(self, logins: Sequence[str]) -> BatchOutcome:
        fault = self.serve_post("delete_users", "utilisateurs.php supprimer")
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
        self.finish_post(fault, "utilisateurs.php")
        return BatchOutcome(tuple(items))

    def _class_refusal(
        self, name: str, responsible_login: str, *, except_id: int | None = None
    ) -> ItemOutcome | None:
        """The refusal of a class creation or modification, as the server words it; None if accepted."""
        if not name.strip():
            return ItemOutcome(name, False, "Le nom de classe est vide.", Refusal.EMPTY_NAME)
        same_name = self.class_named(name)
        if same_name is not None and same_name.id != except_id:
            return ItemOutcome(name, False, "Une classe porte déjà ce nom.", Refusal.CLASS_EXISTS)
        responsible = self.users.get(responsible_login)
        if responsible is None or responsible.type is not UserType.ADULT:
            message = "L'enseignant responsable est inconnu."
            return ItemOutcome(name, False, message, Refusal.UNKNOWN_RESPONSIBLE)
        return None

    def create_class(self, name: str, responsible_login: str) -> ItemOutcome:
        fault = self.serve_post("create_class", "ajout_classe.php")
        refusal = self._class_refusal(name, responsible_login)
        if refusal is not None:
            return refusal
        class_id = next(self._ids)
        responsible = self.users[responsible_login]
        self.classes[class_id] = SchoolClass(class_id, name, responsible_login, responsible.display_name)
        self.finish_post(fault, "ajout_classe.php")
        return ItemOutcome(name, True, f"La classe {name} a été créée.")

    def modify_class(self, class_id: int, responsible_login: str) -> ItemOutcome:
        fault = self.serve_post("modify_class", "modifier_classe.php")
        school_class = self.classes[class_id]
        refusal = self._class_refusal(school_class.name, responsible_login, except_id=class_id)
        if refusal is not None:
            return refusal
        self.classes[class_id] = replace(school_class, responsible_login=responsible_login)
        self.finish_post(fault, "modifier_classe.php")
        return ItemOutcome(school_class.name, True, f"La classe {school_class.name} a été modifiée.")

    def delete_classes(self, class_ids: Sequence[int]) -> BatchOutcome:
        fault = self.serve_post("delete_classes", "classes.php supprimer")
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
            self.files.pop(class_id, None)
            for login, user in list(self.users.items()):
                if user.class_id == class_id:
                    self.users[login] = replace(user, class_id=None)
            items.append(ItemOutcome(name, True, f"La classe {name} a été supprimée."))
        self.finish_post(fault, "classes.php")
        return BatchOutcome(tuple(items))

    # -- the users' side -----------------------------------------------------------------------

    def user_session(self, login: str, password: str) -> MemorySession:
        self.serve_read(2)  # the login page, then its form
        user = self.users.get(login)
        if user is None or user.password is None or user.password != password:
            raise AuthenticationFailed(self.url, login)
        return MemorySession(self, login)

    def reachable_class_ids(self, login: str) -> set[int]:
        """A pupil reaches its class's folder, a teacher those of the classes it is responsible for."""
        user = self.users.get(login)
        if user is None:
            return set()
        if user.type is UserType.PUPIL:
            return {user.class_id} if user.class_id is not None else set()
        return {c.id for c in self.classes.values() if c.responsible_login == login}


class MemorySession:
    """Implements `ports.UserSession`: logged in as one user of a `MemoryServer`."""

    def __init__(self, server: MemoryServer, login: str) -> None:
        self.server = server
        self.login = login
        self.closed = False

    def _class_of(self, folder_id: str) -> int:
        reachable = {
            _folder_id(class_id): class_id for class_id in self.server.reachable_class_ids(self.login)
        }
        if folder_id not in reachable:
            raise ServerFailure(f"{self.server.url}partages.php?dossier={folder_id}", 404)
        return reachable[folder_id]

    def folders(self) -> tuple[Folder, ...]:
        self.server.serve_read()
        classes = self.server.classes
        own = sorted(self.server.reachable_class_ids(self.login))
        return (COMMON_FOLDER, *(Folder(_folder_id(i), classes[i].name) for i in own))

    def files(self, folder_id: str) -> tuple[SharedFile, ...]:
        self.server.serve_read()
        if folder_id == COMMON_FOLDER.id:
            return ()
        stored = self.server.files.get(self._class_of(folder_id), [])
        listing = tuple(SharedFile(f.id, f.path, len(f.data)) for f in stored)
        if self.server.after_listing is not None:
            hook, self.server.after_listing = self.server.after_listing, None
            hook(self.server)
        return listing

    def download(self, file_id: str) -> Generator[bytes, None, None]:
        self.server.serve_read()
        for class_id in self.server.reachable_class_ids(self.login):
            for stored in self.server.files.get(class_id, []):
                if stored.id == file_id:
                    yield from (stored.data[i : i + 65536] for i in range(0, len(stored.data), 65536))
                    return
        raise ServerFailure(f"{self.server.url}telecharger.php?fichier={file_id}", 404)

    def delete_files(self, folder_id: str, file_ids: Sequence[str]) -> BatchOutcome:
        fault = self.server.serve_post("delete_files", "partages.php supprimer")
        class_id = self._class_of(folder_id)
        stored = self.server.files.get(class_id, [])
        gone = [f for f in stored if f.id in file_ids]
        self.server.files[class_id] = [f for f in stored if f.id not in file_ids]
        outcome = BatchOutcome(
            tuple(ItemOutcome(f.path, True, f"Le fichier {f.path} a été supprimé.") for f in gone)
        )
        self.server.finish_post(fault, "partages.php")
        return outcome

    def close(self) -> None:
        self.closed = True


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
