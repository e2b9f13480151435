"""The sandbox's state: an embedded SQLite file, and the school's rules over it.

The pages (`app.py`) and the tests go through the same `Store`, so that what a test
sets up is exactly what the pages then show, and every rule of the contract (the
refusals and their messages) lives in one place.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import string
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reconcile.sandbox.text import ascii_slug, clean_name

VERSION = "0.1.7a"
PUPIL = "eleve"
ADULT = "adulte"
USER_TYPES = (PUPIL, ADULT)
COMMON_FOLDER = "Commun"

_SCHEMA = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE classes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    responsible TEXT NOT NULL
);
CREATE TABLE users (
    login TEXT PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('eleve', 'adulte')),
    class_id INTEGER,
    password TEXT NOT NULL
);
CREATE INDEX users_by_class ON users (class_id);
CREATE TABLE folders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    class_id INTEGER UNIQUE
);
CREATE TABLE files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    folder_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (folder_id, path)
);
-- Folder and file ids live in other ranges than class ids, as on a real server
-- where they come from other tables: a client must never mix them up.
INSERT INTO sqlite_sequence (name, seq) VALUES ('folders', 100), ('files', 1000);
"""

_PUPIL_PASSWORD_WORDS = (
    "lune", "soleil", "pomme", "chat", "loup", "velo", "nuage", "etoile", "bateau", "sapin",
    "tigre", "zebre", "ballon", "fleur", "livre", "piano", "renard", "tortue", "violon", "castor",
)  # fmt: skip

_USER_COLUMNS = "u.login, u.first_name, u.last_name, u.type, u.class_id, c.name, u.password"
_USER_QUERY = f"SELECT {_USER_COLUMNS} FROM users u LEFT JOIN classes c ON c.id = u.class_id"
_USER_ORDER = " ORDER BY u.last_name COLLATE NOCASE, u.first_name COLLATE NOCASE, u.login"
_CLASS_QUERY = """
SELECT c.id, c.name, c.responsible, r.first_name, r.last_name, f.id,
       (SELECT COUNT(*) FROM users p WHERE p.class_id = c.id)
FROM classes c
LEFT JOIN users r ON r.login = c.responsible
LEFT JOIN folders f ON f.class_id = c.id
"""


@dataclass(frozen=True, slots=True)
class Message:
    """One `<p class="succes">` or `<p class="erreur">` of an answer page."""

    kind: Literal["succes", "erreur", "info"]
    text: str

    @classmethod
    def success(cls, text: str) -> Message:
        return cls("succes", text)

    @classmethod
    def error(cls, text: str) -> Message:
        return cls("erreur", text)


@dataclass(frozen=True, slots=True)
class StoredUser:
    """An account. `type` is `eleve` or `adulte`; names are the text the person typed."""

    login: str
    first_name: str
    last_name: str
    type: str
    class_id: int | None
    class_name: str | None
    password: str

    @property
    def is_pupil(self) -> bool:
        return self.type == PUPIL

    @property
    def display_name(self) -> str:
        """`Prénom NOM`, as the class list shows a teacher."""
        return f"{self.first_name} {self.last_name.upper()}"


@dataclass(frozen=True, slots=True)
class StoredClass:
    """A class, its responsible teacher (a login), its work folder and its number of pupils."""

    id: int
    name: str
    responsible: str
    responsible_name: str
    folder_id: int
    size: int


@dataclass(frozen=True, slots=True)
class StoredFolder:
    """A shared folder: a class's work folder (named after the class) or `Commun`."""

    id: int
    name: str
    class_id: int | None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of a shared folder; `path` separates sub-folders with `/`."""

    id: int
    folder_id: int
    path: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


class Store:
    """The state of one sandbox server, in one SQLite file; safe to use from several threads.

    Test setup and inspection (every name below is a plain method of the store):

    - `add_user(first_name, last_name, user_type="eleve", class_name=None) -> StoredUser`:
      creates an account the way `ajout_utilisateur.php` does (server-made `login` and
      `password` on the result), then puts a pupil in `class_name` if given.
    - `add_class(name, responsible) -> StoredClass`: `responsible` is an adult's login.
    - `add_file(class_name, path, data)` / `add_common_file(path, data) -> StoredFile`:
      a file in a class's work folder (sub-folders in `path` with `/`) or in `Commun`.
    - `files_of(class_name)`, `common_files() -> list[StoredFile]` (by path).
    - `users(user_type=None, *, class_id=None, no_class=False)` (by name), `user(login)`,
      `pupils_of(class_name)`, `adults()`; a `StoredUser` has `login`, `first_name`,
      `last_name`, `type` (`eleve`/`adulte`), `class_id`, `class_name`, `password`.
    - `classes()`, `class_named(name)` (case-insensitive), `class_by_id(id)`.
    - `folders()`, `folders_for(login)`: the folders a user reaches on the users' side
      (a pupil: its class's folder and `Commun`; a teacher: its classes' and `Commun`);
      `file(id)`, `reachable_file(login, id)`.
    - `snapshot()`: a comparable summary of users, classes and files, to assert
      that a refused or failed request changed nothing.
    - `admin_login`, `admin_password`, `school_name`, `path`.

    The operations the admin pages perform (`create_user`, `assign`, `transfer`,
    `delete_users`, `create_class`, `modify_class`, `delete_classes`, `delete_files`)
    return the contract's French messages, one per item, and change nothing for a
    refused item (e.g. `delete_users([login])` in a test). Names are stored as typed
    (numeric character references decoded): a name outside Latin-1 reads back as
    Python text, `Łukasz`.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path | None, *, seed: int) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self._rng = random.Random(f"passwords:{seed}")
        self.path = path

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, demo: bool, seed: int) -> Store:
        """The state kept in `path`; a new state is the demo school or an empty school."""
        is_new = not path.exists() or path.stat().st_size == 0
        try:
            connection = _connect(path)
        except sqlite3.DatabaseError as error:
            raise ValueError(f"{path} n'est pas un état de bac à sable IntraScol.") from error
        if is_new:
            if demo:
                from reconcile.sandbox.demo import copy_demo_school

                copy_demo_school(connection, seed)
            else:
                initialise_empty(connection, seed)
            return cls(connection, path, seed=seed)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        except sqlite3.DatabaseError:
            tables = set()
        if not {"settings", "users", "classes", "folders", "files"} <= tables:
            connection.close()
            raise ValueError(f"{path} n'est pas un état de bac à sable IntraScol.")
        return cls(connection, path, seed=seed)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    def _setting(self, key: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    @property
    def admin_login(self) -> str:
        return self._setting("admin_login")

    @property
    def admin_password(self) -> str:
        return self._setting("admin_password")

    @property
    def school_name(self) -> str:
        return self._setting("school")

    version = VERSION

    # -- reading -------------------------------------------------------------------------------

    def users(
        self, user_type: str | None = None, *, class_id: int | None = None, no_class: bool = False
    ) -> list[StoredUser]:
        """Users in listing order (by name), optionally of one type, one class, or no class."""
        conditions: list[str] = []
        parameters: list[object] = []
        if user_type is not None:
            conditions.append("u.type = ?")
            parameters.append(user_type)
        if class_id is not None:
            conditions.append("u.class_id = ?")
            parameters.append(class_id)
        if no_class:
            conditions.append("u.class_id IS NULL")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._lock:
            rows = self._db.execute(_USER_QUERY + where + _USER_ORDER, parameters).fetchall()
        return [StoredUser(*row) for row in rows]

    def user(self, login: str) -> StoredUser | None:
        with self._lock:
            row = self._db.execute(_USER_QUERY + " WHERE u.login = ?", (login,)).fetchone()
        return StoredUser(*row) if row else None

    def adults(self) -> list[StoredUser]:
        return self.users(ADULT)

    def pupils_of(self, class_name: str) -> list[StoredUser]:
        school_class = self._class_or_fail(class_name)
        return self.users(PUPIL, class_id=school_class.id)

    def classes(self) -> list[StoredClass]:
        with self._lock:
            rows = self._db.execute(_CLASS_QUERY + " ORDER BY c.name COLLATE NOCASE").fetchall()
        return [_stored_class(row) for row in rows]

    def class_by_id(self, class_id: int) -> StoredClass | None:
        with self._lock:
            row = self._db.execute(_CLASS_QUERY + " WHERE c.id = ?", (class_id,)).fetchone()
        return _stored_class(row) if row else None

    def class_named(self, name: str) -> StoredClass | None:
        """The class with this name, whatever its case."""
        with self._lock:
            row = self._db.execute(_CLASS_QUERY + " WHERE c.name_key = ?", (_class_key(name),)).fetchone()
        return _stored_class(row) if row else None

    def _class_or_fail(self, name: str) -> StoredClass:
        school_class = self.class_named(name)
        if school_class is None:
            raise ValueError(f"La classe {name} n'existe pas.")
        return school_class

    def folders(self) -> list[StoredFolder]:
        with self._lock:
            rows = self._db.execute(
                "SELECT f.id, COALESCE(c.name, f.name), f.class_id FROM folders f "
                "LEFT JOIN classes c ON c.id = f.class_id ORDER BY f.id"
            ).fetchall()
        return [StoredFolder(*row) for row in rows]

    def folders_for(self, login: str) -> list[StoredFolder]:
        """What a user reaches: a pupil its class's folder, a teacher those of its classes; all `Commun`."""
        found = self.user(login)
        if found is None:
            return []
        if found.is_pupil:
            own = {found.class_id} if found.class_id is not None else set()
        else:
            own = {c.id for c in self.classes() if c.responsible == login}
        return [f for f in self.folders() if f.class_id is None or f.class_id in own]

    def files_in(self, folder_id: int) -> list[StoredFile]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, folder_id, path, data FROM files WHERE folder_id = ? ORDER BY path", (folder_id,)
            ).fetchall()
        return [StoredFile(*row) for row in rows]

    def files_of(self, class_name: str) -> list[StoredFile]:
        """The files of a class's work folder, by path."""
        return self.files_in(self._class_or_fail(class_name).folder_id)

    def common_files(self) -> list[StoredFile]:
        return self.files_in(self._common_folder_id())

    def file(self, file_id: int) -> StoredFile | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, folder_id, path, data FROM files WHERE id = ?", (file_id,)
            ).fetchone()
        return StoredFile(*row) if row else None

    def reachable_file(self, login: str, file_id: int) -> StoredFile | None:
        """The file if `login` can reach its folder, else None."""
        found = self.file(file_id)
        if found is None or found.folder_id not in {f.id for f in self.folders_for(login)}:
            return None
        return found

    def snapshot(self) -> tuple[object, ...]:
        """Everything a page could show or change, comparable with `==`."""
        files = []
        with self._lock:
            for file_id, folder_id, path, data in self._db.execute(
                "SELECT id, folder_id, path, data FROM files ORDER BY id"
            ):
                files.append((file_id, folder_id, path, hashlib.sha256(data).hexdigest()))
        return (tuple(self.users()), tuple(self.classes()), tuple(self.folders()), tuple(files))

    # -- checking credentials ------------------------------------------------------------------

    def check_admin(self, login: str, password: str) -> bool:
        return login == self.admin_login and password == self.admin_password

    def check_user(self, login: str, password: str) -> StoredUser | None:
        found = self.user(login)
        return found if found is not None and found.password == password else None

    # -- the admin pages' operations -----------------------------------------------------------

    def create_user(
        self, first_name: str, last_name: str, user_type: str
    ) -> tuple[StoredUser | None, list[Message]]:
        """`ajout_utilisateur.php`: the server makes the login and the password."""
        first_name, last_name = clean_name(first_name), clean_name(last_name)
        problems = []
        if not first_name:
            problems.append(Message.error("Le prénom est vide."))
        if not last_name:
            problems.append(Message.error("Le nom est vide."))
        if user_type not in USER_TYPES:
            problems.append(Message.error("Le type d'utilisateur est inconnu."))
        if problems:
            return None, problems
        with self._transaction() as db:
            login = self._free_login(first_name, last_name)
            password = self._new_password(user_type)
            db.execute(
                "INSERT INTO users (login, first_name, last_name, type, class_id, password) "
                "VALUES (?, ?, ?, ?, NULL, ?)",
                (login, first_name, last_name, user_type, password),
            )
        created = self.user(login)
        assert created is not None
        return created, [Message.success("L'utilisateur a été créé.")]

    def _free_login(self, first_name: str, last_name: str) -> str:
        # The first free one of `prenom.nom`, `prenom.nom2`…: a login freed by a
        # deletion is given again, as the real server does.
        first, last = ascii_slug(first_name)[:20], ascii_slug(last_name)[:20]
        base = f"{first}.{last}" if first and last else (first or last or "utilisateur")
        taken = {
            row[0] for row in self._db.execute("SELECT login FROM users WHERE login LIKE ?", (base + "%",))
        }
        taken.add(self.admin_login)
        if base not in taken:
            return base
        number = 2
        while f"{base}{number}" in taken:
            number += 1
        return f"{base}{number}"

    def _new_password(self, user_type: str) -> str:
        if user_type == PUPIL:
            return f"{self._rng.choice(_PUPIL_PASSWORD_WORDS)}{self._rng.randrange(10, 100)}"
        alphabet = string.ascii_letters + string.digits
        return "".join(self._rng.choice(alphabet) for _ in range(10))

    def assign(self, login: str, class_id: int | None) -> Message:
        """`affecter.php`: puts one pupil in a class."""
        school_class = self.class_by_id(class_id) if class_id is not None else None
        if school_class is None:
            return Message.error("La classe de destination n'existe pas.")
        with self._transaction() as db:
            refusal = self._cannot_be_in_class(login)
            if refusal:
                return refusal
            db.execute("UPDATE users SET class_id = ? WHERE login = ?", (school_class.id, login))
        return Message.success(f"L'utilisateur {login} a été affecté à la classe {school_class.name}.")

    def _cannot_be_in_class(self, login: str) -> Message | None:
        found = self.user(login)
        if found is None:
            return Message.error(f"L'utilisateur {login} n'existe pas.")
        if not found.is_pupil:
            return Message.error(
                f"L'utilisateur {login} est un adulte : seuls les élèves peuvent être dans une classe."
            )
        return None

    def transfer(self, logins: Iterable[str], class_id: int | None) -> list[Message]:
        """`utilisateurs.php`, `action=transferer`: one message per login."""
        school_class = self.class_by_id(class_id) if class_id is not None else None
        if school_class is None:
            return [Message.error("La classe de destination n'existe pas.")]
        messages = []
        with self._transaction() as db:
            for login in logins:
                refusal = self._cannot_be_in_class(login)
                if refusal:
                    messages.append(refusal)
                    continue
                db.execute("UPDATE users SET class_id = ? WHERE login = ?", (school_class.id, login))
                messages.append(
                    Message.success(
                        f"L'utilisateur {login} a été transféré dans la classe {school_class.name}."
                    )
                )
        return messages

    def delete_users(self, logins: Iterable[str]) -> list[Message]:
        """`utilisateurs.php`, `action=supprimer`: one message per login."""
        messages = []
        with self._transaction() as db:
            for login in logins:
                if self.user(login) is None:
                    messages.append(Message.error(f"L'utilisateur {login} n'existe pas."))
                    continue
                responsible_of = db.execute(
                    "SELECT name FROM classes WHERE responsible = ? ORDER BY name", (login,)
                ).fetchone()
                if responsible_of:
                    messages.append(
                        Message.error(
                            f"L'utilisateur {login} est responsable de la classe {responsible_of[0]}."
                        )
                    )
                    continue
                db.execute("DELETE FROM users WHERE login = ?", (login,))
                messages.append(Message.success(f"L'utilisateur {login} a été supprimé."))
        return messages

    def _class_refusal(self, name: str, responsible: str, *, except_id: int | None = None) -> Message | None:
        if not name:
            return Message.error("Le nom de classe est vide.")
        same_name = self.class_named(name)
        if same_name is not None and same_name.id != except_id:
            return Message.error("Une classe porte déjà ce nom.")
        teacher = self.user(responsible)
        if teacher is None or teacher.is_pupil:
            return Message.error("L'enseignant responsable est inconnu.")
        return None

    def create_class(self, name: str, responsible: str) -> Message:
        """`ajout_classe.php`: a class and its (empty) work folder."""
        name = clean_name(name)
        with self._transaction() as db:
            refusal = self._class_refusal(name, responsible)
            if refusal:
                return refusal
            cursor = db.execute(
                "INSERT INTO classes (name, name_key, responsible) VALUES (?, ?, ?)",
                (name, _class_key(name), responsible),
            )
            db.execute("INSERT INTO folders (name, class_id) VALUES (NULL, ?)", (cursor.lastrowid,))
        return Message.success(f"La classe {name} a été créée.")

    def modify_class(self, class_id: int | None, name: str | None, responsible: str | None) -> Message:
        """`modifier_classe.php`: a field left out (None) keeps its value."""
        current = self.class_by_id(class_id) if class_id is not None else None
        if current is None:
            return Message.error("Cette classe n'existe pas.")
        new_name = current.name if name is None else clean_name(name)
        new_responsible = current.responsible if responsible is None else responsible
        with self._transaction() as db:
            refusal = self._class_refusal(new_name, new_responsible, except_id=current.id)
            if refusal:
                return refusal
            db.execute(
                "UPDATE classes SET name = ?, name_key = ?, responsible = ? WHERE id = ?",
                (new_name, _class_key(new_name), new_responsible, current.id),
            )
        return Message.success(f"La classe {new_name} a été modifiée.")

    def delete_classes(self, class_ids: Iterable[int | None]) -> list[Message]:
        """`classes.php`, `action=supprimer`: refused while the work folder holds a file."""
        messages = []
        with self._transaction() as db:
            for class_id in class_ids:
                school_class = self.class_by_id(class_id) if class_id is not None else None
                if school_class is None:
                    messages.append(Message.error("Cette classe n'existe pas."))
                    continue
                if self.files_in(school_class.folder_id):
                    messages.append(
                        Message.error(
                            f"La classe {school_class.name} ne peut pas être supprimée : "
                            "son dossier de travail n'est pas vide."
                        )
                    )
                    continue
                # Its pupils stay, in no class ("classe : aucune").
                db.execute("UPDATE users SET class_id = NULL WHERE class_id = ?", (school_class.id,))
                db.execute("DELETE FROM folders WHERE id = ?", (school_class.folder_id,))
                db.execute("DELETE FROM classes WHERE id = ?", (school_class.id,))
                messages.append(Message.success(f"La classe {school_class.name} a été supprimée."))
        return messages

    def delete_files(self, login: str, file_ids: Iterable[int | None]) -> list[Message]:
        """`partages.php?dossier=ID`, `action=supprimer`: only files the user reaches."""
        messages = []
        with self._transaction() as db:
            for file_id in file_ids:
                found = self.reachable_file(login, file_id) if file_id is not None else None
                if found is None:
                    messages.append(Message.error("Ce fichier n'existe pas ou ne vous est pas accessible."))
                    continue
                db.execute("DELETE FROM files WHERE id = ?", (found.id,))
                messages.append(Message.success(f"Le fichier {found.path} a été supprimé."))
        return messages

    # -- test setup helpers --------------------------------------------------------------------

    def add_user(
        self, first_name: str, last_name: str, user_type: str = PUPIL, class_name: str | None = None
    ) -> StoredUser:
        """Creates an account as the admin page would; raises ValueError when refused."""
        created, messages = self.create_user(first_name, last_name, user_type)
        if created is None:
            raise ValueError(" ".join(m.text for m in messages))
        if class_name is not None:
            message = self.assign(created.login, self._class_or_fail(class_name).id)
            if message.kind != "succes":
                raise ValueError(message.text)
            created = self.user(created.login)
            assert created is not None
        return created

    def add_class(self, name: str, responsible: str) -> StoredClass:
        """Creates a class led by the adult `responsible` (a login); raises ValueError when refused."""
        message = self.create_class(name, responsible)
        if message.kind != "succes":
            raise ValueError(message.text)
        return self._class_or_fail(name)

    def add_file(self, class_name: str, path: str, data: bytes) -> StoredFile:
        """Puts a file in a class's work folder (`path` may hold sub-folders: `Photos/a.jpg`)."""
        return self._add_file(self._class_or_fail(class_name).folder_id, path, data)

    def add_common_file(self, path: str, data: bytes) -> StoredFile:
        """Puts a file in the school-wide `Commun` folder."""
        return self._add_file(self._common_folder_id(), path, data)

    def _add_file(self, folder_id: int, path: str, data: bytes) -> StoredFile:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO files (folder_id, path, data) VALUES (?, ?, ?)",
                (folder_id, path.strip("/"), data),
            )
        found = self.file(int(cursor.lastrowid or 0))
        assert found is not None
        return found

    def _common_folder_id(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT id FROM folders WHERE class_id IS NULL ORDER BY id").fetchone()
        return int(row[0])


def _class_key(name: str) -> str:
    return clean_name(name).casefold()


def _stored_class(row: tuple[object, ...]) -> StoredClass:
    class_id, name, responsible, first_name, last_name, folder_id, size = row
    responsible_name = (
        f"{first_name} {str(last_name).upper()}" if first_name is not None else str(responsible)
    )
    return StoredClass(
        int(str(class_id)), str(name), str(responsible), responsible_name, int(str(folder_id)), int(str(size))
    )


def _connect(path: Path | str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, check_same_thread=False)
    # A sandbox is a test double: durability across a power cut does not matter.
    connection.execute("PRAGMA synchronous = OFF")
    return connection


def initialise_empty(connection: sqlite3.Connection, seed: int, school: str | None = None) -> None:
    """The schema, the administrator account, the `Commun` folder; no user, no class."""
    rng = random.Random(f"admin:{seed}")
    alphabet = string.ascii_letters + string.digits
    admin_password = "".join(rng.choice(alphabet) for _ in range(12))
    with connection:
        connection.executescript(_SCHEMA)
        connection.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)",
            [
                ("admin_login", "admin"),
                ("admin_password", admin_password),
                ("school", school or "École élémentaire Jules Ferry"),
            ],
        )
        connection.execute("INSERT INTO folders (name, class_id) VALUES (?, NULL)", (COMMON_FOLDER,))


def memory_store(seed: int) -> Store:
    """An empty school in memory (used to build the demo school once per process)."""
    connection = _connect(":memory:")
    initialise_empty(connection, seed)
    return Store(connection, None, seed=seed)


def connect(path: Path) -> sqlite3.Connection:
    return _connect(path)
