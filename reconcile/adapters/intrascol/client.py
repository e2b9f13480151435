"""The IntraScol client over HTTP: the admin side's URLs, forms and answers.

`IntraScolClient` implements `reconcile.core.ports.IntraScolServer`. Every page it
reads goes through `pages.Page`; the HTTP rules of `INTERFACE.md` (retries, the
`jeton`, sessions renewed, a POST never re-sent blindly) are in `transport.py`, the
users' side in `user_side.py`.
Every page, field and message relied on, and where it is read: `docs/intrascol.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlparse

import requests

from reconcile.adapters.intrascol.bounded import PAGE_LIMIT, REQUEST_DEADLINE
from reconcile.adapters.intrascol.pages import Page, ServerInfo, attributed
from reconcile.adapters.intrascol.transport import (
    Connection,
    Fields,
    RequestCounter,
    new_session,
    sibling_session,
)
from reconcile.adapters.intrascol.user_side import UserSideSession
from reconcile.core.errors import CredentialsInUrl, InvalidServerUrl, PageNotRecognised, ServerError
from reconcile.core.model import SchoolClass, ServerState, User, UserType
from reconcile.core.ports import (
    BatchOutcome,
    CreatedUser,
    IntraScolServer,
    ItemOutcome,
    UserSession,
)
from reconcile.core.safeguards import server_path

__all__ = ["IntraScolClient", "ServerInfo", "UserSideSession", "base_url"]

ReadProgress = Callable[[int, int], None]
"""Called after each page of users read: (pages read, users read so far)."""

_ADMIN_LOGIN = "admin/login.php"
_USERS_LOGIN = "login.php"
# A small admin page holding a form, hence the session's `jeton`.
_ADMIN_TOKEN_PAGE = "admin/ajout_classe.php"
MAX_USER_PAGES = 1000
# Readings of one listing whose order changes between pages, before giving up.
_MAX_LISTING_PASSES = 12


def base_url(url: str) -> str:
    """The server's base URL (`http://serveur/intrascol/`) from the address a person gives.

    Accepts the address of a page of the site pasted from the browser (`…/admin/login.php`,
    `…/admin/`) and a missing final slash; raises `InvalidServerUrl` for an address that is
    not http(s), and `CredentialsInUrl` for one holding a login or a password (never
    repeated), before any password is asked.
    """
    given = url.strip()
    if "@" in given:
        raise CredentialsInUrl(_without_credentials(given))
    try:
        parts = urlparse(given)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise InvalidServerUrl(given) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidServerUrl(given)
    return parts._replace(path=server_path(parts.path), params="", query="", fragment="").geturl()


def _without_credentials(given: str) -> str:
    """The address with what comes before its last `@` (a login, a password) left out, to be shown."""
    scheme, _, rest = given.rpartition("://")
    host_and_path = rest.rpartition("@")[2].split("?", 1)[0].split("#", 1)[0]
    return f"{scheme or 'http'}://{host_and_path}"


class IntraScolClient:
    """One administrator connection to an IntraScol server.

    Implements `reconcile.core.ports.IntraScolServer`. Logs in at the first request.
    `request_count` counts every HTTP request made, users' sessions included.
    `deadline`: seconds for one request, its retries included; `page_limit`: the largest
    page read, in bytes; `ca_bundle`: a PEM file of the school's own certificate authority
    (HTTPS certificates are checked in any case).
    """

    def __init__(
        self,
        url: str,
        login: str,
        password: str,
        *,
        timeout: float = 30.0,
        get_retries: int = 3,
        backoff: float = 0.5,
        deadline: float = REQUEST_DEADLINE,
        page_limit: int = PAGE_LIMIT,
        ca_bundle: str | None = None,
    ) -> None:
        self._url = base_url(url)
        self._counter = RequestCounter()
        self._timeout = timeout
        self._get_retries = get_retries
        self._backoff = backoff
        self._deadline = deadline
        self._page_limit = page_limit
        self._admin = self._connection(_ADMIN_LOGIN, login, password, new_session(self._url, ca_bundle))
        self._info: ServerInfo | None = None

    def _connection(
        self, login_path: str, login: str, password: str, session: requests.Session
    ) -> Connection:
        return Connection(
            self._url,
            login_path,
            login,
            password,
            session=session,
            counter=self._counter,
            timeout=self._timeout,
            get_retries=self._get_retries,
            backoff=self._backoff,
            deadline=self._deadline,
            page_limit=self._page_limit,
        )

    @property
    def url(self) -> str:
        return self._url

    @property
    def request_count(self) -> int:
        return self._counter.value

    def log_in(self) -> None:
        """Log in now (otherwise done at the first request): checks the credentials."""
        self._admin.log_in()

    def close(self) -> None:
        self._admin.session.close()

    def __enter__(self) -> IntraScolClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- reading -----------------------------------------------------------------------

    def info(self) -> ServerInfo:
        """The server's version and school name (`admin/index.php`)."""
        self._info = self._admin.get_page("admin/index.php").server_info()
        return self._info

    def read_state(self, progress: ReadProgress | None = None) -> ServerState:
        """Classes and every user, across all pages: 1 request + 1 per 50 users.

        The contract lets the users' order change from one page load to the next:
        when the pages repeat a user (some others were then missed), the users are
        read again in listings small enough for one page each (class by class, then
        those in no class), so that no user is missed. `version` and `school` are
        filled when `info()` was read on this connection.
        """
        classes = self.read_classes()
        users: dict[str, User] = {}
        reading = _Reading(progress)
        rows = self._read_listing("", reading)
        for user in rows:
            users.setdefault(user.login, user)
        if len(users) < len(rows):
            queries = [{"classe": str(c.id)} for c in classes]
            queries += [{"classe": "aucune", "type": "adulte"}, {"classe": "aucune", "type": "eleve"}]
            for query in queries:
                self._read_whole_listing(query, users, reading)
            if len(users) < len(rows):
                self._read_whole_listing({}, users, reading)
        info = self._info or ServerInfo("", "")
        return ServerState(classes, tuple(users.values()), version=info.version, school=info.school)

    def _read_listing(self, query: str, reading: _Reading) -> list[User]:
        """The rows of every page of one listing of `admin/utilisateurs.php`, in page order."""
        rows: list[User] = []
        next_url: str | None = self._admin.absolute("admin/utilisateurs.php" + query)
        visited: set[str] = set()
        while next_url is not None and next_url not in visited:
            if len(visited) == MAX_USER_PAGES:
                raise ServerError(f"La liste des utilisateurs dépasse {MAX_USER_PAGES} pages ({next_url}).")
            visited.add(next_url)
            page = self._admin.get_page(next_url).users_page()
            rows.extend(page.users)
            reading.page_read(page.users)
            next_url = page.next_url
        return rows

    def _read_whole_listing(self, query: dict[str, str], users: dict[str, User], reading: _Reading) -> None:
        """Add every user of one listing to `users`, reading it again while its pages overlap.

        Each reading shows as many rows as the listing holds: once the readings
        together showed that many different users, none is missing.
        """
        seen: set[str] = set()
        suffix = "?" + urlencode(query) if query else ""
        for _ in range(_MAX_LISTING_PASSES):
            rows = self._read_listing(suffix, reading)
            for user in rows:
                users.setdefault(user.login, user)
                seen.add(user.login)
            if len(seen) >= len(rows):
                return
        raise ServerError(
            "La liste des utilisateurs change d'ordre d'une page à l'autre : après "
            f"{_MAX_LISTING_PASSES} lectures, il manque encore des utilisateurs "
            f"(admin/utilisateurs.php{suffix})."
        )

    def read_classes(self) -> tuple[SchoolClass, ...]:
        """The classes alone, in one request (`ports.ClassLister`): ids of classes just created."""
        return tuple(self._admin.get_page("admin/classes.php").classes())

    # --- users -------------------------------------------------------------------------

    def create_user(self, first_name: str, last_name: str, user_type: UserType) -> CreatedUser:
        """Create an account; the server makes login and password. `ServerRefused` if refused."""
        fields = [("prenom", first_name), ("nom", last_name), ("type", user_type.value)]
        return self._post("admin/ajout_utilisateur.php", fields).created_user()

    def assign(self, login: str, class_id: int) -> ItemOutcome:
        fields = [("login", login), ("classe", str(class_id))]
        return _single(self._post("admin/affecter.php", fields), login, named=(login,))

    def transfer(self, logins: Sequence[str], class_id: int) -> BatchOutcome:
        """Move pupils to a class, in one POST."""
        fields = [("action", "transferer"), ("destination", str(class_id))]
        return self._users_form(fields, logins)

    def delete_users(self, logins: Sequence[str]) -> BatchOutcome:
        """Delete accounts, in one POST; never the administrator account this client uses.

        A server may list the administrator among the users (the contract does not
        say it does not): deleting it would lock the school out, so it is refused
        here, without asking the server.
        """
        own = self._admin.login
        message = f"Le compte administrateur {own}, utilisé pour la connexion, est conservé."
        kept = (ItemOutcome(own, False, message),) if own in logins else ()
        sent = self._users_form([("action", "supprimer")], [login for login in logins if login != own])
        return BatchOutcome((*sent.items, *kept))

    def _users_form(self, fields: Fields, logins: Sequence[str]) -> BatchOutcome:
        if not logins:
            return BatchOutcome(())
        all_fields = [*fields, *_each("utilisateurs[]", logins)]
        return BatchOutcome(attributed(self._post("admin/utilisateurs.php", all_fields).outcomes(), logins))

    # --- classes -----------------------------------------------------------------------

    def create_class(self, name: str, responsible_login: str) -> ItemOutcome:
        fields = [("nom", name), ("responsable", responsible_login)]
        return _single(self._post("admin/ajout_classe.php", fields), name)

    def modify_class(self, class_id: int, responsible_login: str) -> ItemOutcome:
        """Change a class's responsible teacher (its name, left out, is kept)."""
        path = "admin/modifier_classe.php?" + urlencode({"id": class_id})
        return _single(self._post(path, [("responsable", responsible_login)]), str(class_id))

    def delete_classes(self, class_ids: Sequence[int]) -> BatchOutcome:
        """Delete classes, in one POST; the outcomes name the classes (not their ids)."""
        if not class_ids:
            return BatchOutcome(())
        fields = [("action", "supprimer"), *_each("classes[]", [str(i) for i in class_ids])]
        return BatchOutcome(self._post("admin/classes.php", fields).outcomes())

    def _post(self, path: str, fields: Fields) -> Page:
        return self._admin.post(path, fields, token_page=_ADMIN_TOKEN_PAGE)

    # --- users' side -------------------------------------------------------------------

    def user_session(self, login: str, password: str) -> UserSideSession:
        """Log in on the users' side as `login`, in a separate cookie jar.

        Separate because both sides share the `PHPSESSID` cookie: a users' login in
        the admin's jar would end the admin session.
        """
        connection = self._connection(_USERS_LOGIN, login, password, sibling_session(self._admin.session))
        connection.log_in()
        return UserSideSession(connection)


class _Reading:
    """Progress of one reading of the users: pages and different users so far."""

    def __init__(self, progress: ReadProgress | None) -> None:
        self._progress = progress
        self.pages = 0
        self._logins: set[str] = set()

    def page_read(self, users: Iterable[User]) -> None:
        self.pages += 1
        self._logins.update(user.login for user in users)
        if self._progress is not None:
            self._progress(self.pages, len(self._logins))


def _each(name: str, values: Iterable[str]) -> list[tuple[str, str]]:
    return [(name, value) for value in values]


def _single(page: Page, subject: str, *, named: Sequence[str] = ()) -> ItemOutcome:
    """The one outcome of a single-item form; its subject defaults to the item posted.

    `named`: the logins posted, for a message naming one in its own words.
    """
    outcomes = attributed(page.outcomes(), named)
    if not outcomes:
        raise PageNotRecognised(page.url, 'un message de résultat (class="succes" ou "erreur")')
    outcome = next((o for o in outcomes if not o.ok), outcomes[0])
    if not outcome.subject:
        return ItemOutcome(subject, outcome.ok, outcome.message, outcome.refusal)
    return outcome


if TYPE_CHECKING:  # mypy checks that the client fits the protocols `apply` relies on

    def _fits_ports(client: IntraScolClient, session: UserSideSession) -> tuple[IntraScolServer, UserSession]:
        return client, session
