"""The sandbox's state read: the queries behind every page and every test's inspection.

`StoreReader` holds the SQLite connection and its lock; `store.Store` adds what the
pages change, under the school's rules, and the tests' setup helpers.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reconcile.sandbox.records import (
    ADULT,
    PUPIL,
    VERSION,
    StoredClass,
    StoredFile,
    StoredFolder,
    StoredUser,
)
from reconcile.sandbox.text import clean_name

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


class StoreReader:
    """Reads the state of one sandbox server, kept in one SQLite file; safe to use from several threads."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self._lock = threading.RLock()
        self.path = path

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
            row = self._db.execute(_CLASS_QUERY + " WHERE c.name_key = ?", (class_key(name),)).fetchone()
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

    def _common_folder_id(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT id FROM folders WHERE class_id IS NULL ORDER BY id").fetchone()
        return int(row[0])


def class_key(name: str) -> str:
    """Class names are unique regardless of case."""
    return clean_name(name).casefold()


def _stored_class(row: tuple[object, ...]) -> StoredClass:
    class_id, name, responsible, first_name, last_name, folder_id, size = row
    responsible_name = (
        f"{first_name} {str(last_name).upper()}" if first_name is not None else str(responsible)
    )
    return StoredClass(
        int(str(class_id)), str(name), str(responsible), responsible_name, int(str(folder_id)), int(str(size))
    )
