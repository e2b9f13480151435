"""The IntraScol client over HTTP: sessions, the `jeton`, retries, Latin-1 forms.

`IntraScolClient` implements `reconcile.core.ports.IntraScolServer`. Every page it
reads goes through `pages.Page`; this module only knows URLs, form fields and
the HTTP rules of `INTERFACE.md`:

- GETs (and the login form, which changes nothing) are retried on connection
  errors, timeouts and 5xx answers, with a bounded exponential backoff.
- A form POST is never retried blindly: once it may have reached the server, a
  5xx, a timeout or a dropped connection raises `AnswerLost` and the caller
  re-reads the state. Only answers proving the POST was not applied lead to a
  re-send: a redirection to the login page (expired session: log in again) and
  `Jeton de formulaire invalide.` (read the token again), once each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin, urlparse

import requests
from urllib3.exceptions import NewConnectionError

from reconcile import __version__
from reconcile.adapters.intrascol.pages import Page, ServerInfo, attributed, decode
from reconcile.core.errors import (
    AnswerLost,
    AuthenticationFailed,
    InvalidServerUrl,
    PageNotRecognised,
    ServerError,
    ServerFailure,
    ServerUnreachable,
)
from reconcile.core.model import SchoolClass, ServerState, User, UserType
from reconcile.core.ports import (
    BatchOutcome,
    CreatedUser,
    Folder,
    IntraScolServer,
    ItemOutcome,
    Refusal,
    SharedFile,
    UserSession,
)

__all__ = ["IntraScolClient", "ServerInfo", "UserSideSession", "base_url"]

Fields = Sequence[tuple[str, str]]
ReadProgress = Callable[[int, int], None]
"""Called after each page of users read: (pages read, users read so far)."""

_ADMIN_LOGIN = "admin/login.php"
_USERS_LOGIN = "login.php"
# A small admin page holding a form, hence the session's `jeton`.
_ADMIN_TOKEN_PAGE = "admin/ajout_classe.php"
_MAX_REDIRECTS = 5
_MAX_USER_PAGES = 1000
# Readings of one listing whose order changes between pages, before giving up.
_MAX_LISTING_PASSES = 12


def base_url(url: str) -> str:
    """The server's base URL (`http://serveur/intrascol/`) from the address a person gives.

    Accepts the address of a page of the site pasted from the browser (`…/admin/login.php`,
    `…/admin/`) and a missing final slash; raises `InvalidServerUrl` for an address that is
    not http(s), before any password is asked.
    """
    given = url.strip()
    try:
        parts = urlparse(given)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise InvalidServerUrl(given) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidServerUrl(given)
    segments = parts.path.split("/")
    if segments[-1].endswith(".php"):
        segments[-1] = ""
    while len(segments) > 1 and segments[-1] == "":
        segments.pop()
    if segments[-1] == "admin":
        segments.pop()
    path = "/".join(segments).rstrip("/") + "/"
    return parts._replace(path=path, params="", query="", fragment="").geturl()


def _new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = f"reconcile/{__version__}"
    return session


def _sibling(session: requests.Session) -> requests.Session:
    """A session with the same settings (headers, TLS, proxies) but its own cookie jar."""
    sibling = requests.Session()
    sibling.headers.update(session.headers)
    sibling.verify, sibling.cert, sibling.trust_env = session.verify, session.cert, session.trust_env
    sibling.proxies.update(session.proxies)
    return sibling


class _Counter:
    """HTTP requests made by one client, its users' sessions included."""

    def __init__(self) -> None:
        self.value = 0


def _form_body(fields: Fields) -> bytes:
    """A form post as a Latin-1 browser sends it: other characters as `&#NNN;`."""
    return urlencode(list(fields), encoding="iso-8859-1", errors="xmlcharrefreplace").encode("ascii")


def _never_sent(error: requests.RequestException) -> bool:
    """Whether the connection failed before the request could reach the server."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)


def _reason(error: requests.RequestException) -> str:
    if isinstance(error, requests.Timeout):
        return "délai d'attente dépassé"
    if _never_sent(error):
        return "connexion impossible"
    return "connexion interrompue"


_LOST = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class _Connection:
    """One logged-in session on one side of IntraScol (admin or users').

    Logs in lazily, keeps the `PHPSESSID` cookie in its `requests.Session`,
    caches the `jeton` from every page it reads, logs in again when the server
    sends it back to the login page.
    """

    def __init__(
        self,
        base_url: str,
        login_path: str,
        login: str,
        password: str,
        *,
        session: requests.Session,
        counter: _Counter,
        timeout: float,
        get_retries: int,
        backoff: float,
    ) -> None:
        self.base_url = base_url
        self.login_url = urljoin(base_url, login_path)
        self.login = login
        self._password = password
        self.session = session
        self._counter = counter
        self._timeout = timeout
        self._get_retries = get_retries
        self._backoff = backoff
        self._logged_in = False
        self._jeton: str | None = None

    def absolute(self, path: str) -> str:
        return urljoin(self.base_url, path)

    # --- raw HTTP ----------------------------------------------------------------------

    def _send(self, method: str, url: str, body: bytes | None = None) -> requests.Response:
        self._counter.value += 1
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else None
        return self.session.request(
            method, url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
        )

    def _send_retrying(self, method: str, url: str, body: bytes | None = None) -> requests.Response:
        """A request that changes nothing, retried on connection errors and 5xx."""
        failure: ServerError = ServerUnreachable(url, "aucune tentative")
        for attempt in range(self._get_retries + 1):
            if attempt:
                time.sleep(self._backoff * 2 ** (attempt - 1))
            try:
                response = self._send(method, url, body)
            except _LOST as error:
                failure = ServerUnreachable(url, _reason(error))
                continue
            except requests.RequestException as error:
                raise ServerUnreachable(url, str(error)) from error
            if response.status_code < 500:
                return response
            failure = ServerFailure(url, response.status_code)
        raise failure

    def _send_once(self, url: str, body: bytes) -> requests.Response:
        """A form POST: sent once; an answer lost after sending raises `AnswerLost`."""
        try:
            response = self._send("POST", url, body)
        except _LOST as error:
            if isinstance(error, requests.ConnectionError) and _never_sent(error):
                raise ServerUnreachable(url, _reason(error)) from error
            raise AnswerLost(url, _reason(error)) from error
        except requests.RequestException as error:
            raise ServerUnreachable(url, str(error)) from error
        if response.status_code >= 500:
            raise AnswerLost(url, f"erreur {response.status_code} du serveur")
        return response

    # --- session -----------------------------------------------------------------------

    def _to_login(self, response: requests.Response) -> bool:
        """Whether the server sent us back to a login page (no valid session)."""
        if not response.is_redirect:
            return False
        target = urljoin(response.url, response.headers.get("Location", ""))
        return urlparse(target).path.endswith("login.php")

    def _page(self, response: requests.Response) -> Page:
        page = Page(response.url, decode(response.content, response.headers.get("Content-Type")))
        jeton = page.jeton()
        if jeton:
            self._jeton = jeton
        return page

    def log_in(self) -> None:
        """Post the login form (retried: it changes nothing); `AuthenticationFailed` if refused."""
        self._logged_in = False
        self._jeton = None
        fields = [("login", self.login), ("motdepasse", self._password)]
        response = self._send_retrying("POST", self.login_url, _form_body(fields))
        if not response.is_redirect and response.status_code == 200:
            page = self._page(response)
            if any(e.refusal is Refusal.INVALID_TOKEN for e in page.errors()):
                # A server whose login form carries a `jeton` too: read it, post again.
                form = self._page(self._send_retrying("GET", self.login_url))
                token = form.jeton() or ""
                body = _form_body([*fields, ("jeton", token)])
                response = self._send_retrying("POST", self.login_url, body)
        if response.status_code == 404:
            raise PageNotRecognised(self.login_url, "de formulaire de connexion (erreur 404)")
        if response.status_code >= 400:
            raise ServerFailure(self.login_url, response.status_code)
        if response.is_redirect:
            refused = self._to_login(response)
        else:
            # The contract words the admin's refusal only (an `erreur`); a server may
            # also show its form again, or a page with the message and no form.
            answer = self._page(response)
            refused = answer.is_login_form() or bool(answer.errors())
        if refused:
            raise AuthenticationFailed(self.base_url, self.login)
        self._logged_in = True
        self._jeton = None  # a new session has a new token

    def _ensure_logged_in(self) -> None:
        if not self._logged_in:
            self.log_in()

    def get(self, url: str) -> requests.Response:
        """GET a page of the session: logs in first or again as needed, follows redirections."""
        self._ensure_logged_in()
        relogged = False
        for _ in range(_MAX_REDIRECTS):
            response = self._send_retrying("GET", url)
            if self._to_login(response):
                if relogged:
                    raise ServerError(f"Le serveur renvoie à la connexion juste après la connexion ({url}).")
                self.log_in()
                relogged = True
                continue
            if response.is_redirect:
                url = urljoin(response.url, response.headers.get("Location", ""))
                continue
            if response.status_code >= 400:
                raise ServerFailure(url, response.status_code)
            return response
        raise ServerError(f"Le serveur redirige sans fin ({url}).")

    def get_page(self, path: str) -> Page:
        return self._page(self.get(self.absolute(path)))

    def jeton(self, token_page: str) -> str:
        if self._jeton is None:
            self.get_page(token_page)
        if self._jeton is None:
            missing = 'le jeton de formulaire (input name="jeton")'
            raise PageNotRecognised(self.absolute(token_page), missing)
        return self._jeton

    def post(self, path: str, fields: Fields, *, token_page: str) -> Page:
        """Post a form with the session's `jeton` and return the answer page.

        Re-sent only when the answer proves it was not applied: sent back to the
        login page (once), or `Jeton de formulaire invalide.` (once).
        """
        url = self.absolute(path)
        relogged = token_refreshed = False
        while True:
            self._ensure_logged_in()
            body = _form_body([*fields, ("jeton", self.jeton(token_page))])
            response = self._send_once(url, body)
            if self._to_login(response) and not relogged:
                self.log_in()
                relogged = True
                continue
            if self._to_login(response):
                raise ServerError(f"Le serveur renvoie à la connexion juste après la connexion ({url}).")
            if response.is_redirect:
                # Post/redirect/get: the form was applied, its messages are on the next page.
                return self._page(self.get(urljoin(url, response.headers.get("Location", ""))))
            if response.status_code >= 400:
                raise ServerFailure(url, response.status_code)
            page = self._page(response)
            refused_token = any(e.refusal is Refusal.INVALID_TOKEN for e in page.errors())
            if refused_token and not token_refreshed:
                self._jeton = None
                token_refreshed = True
                continue
            return page


class UserSideSession:
    """Logged in as one user on the users' side (`Mes partages`), in its own cookie jar.

    Implements `reconcile.core.ports.UserSession`.
    """

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    @property
    def login(self) -> str:
        return self._connection.login

    def folders(self) -> tuple[Folder, ...]:
        return self._connection.get_page("partages.php").folders()

    def files(self, folder_id: str) -> tuple[SharedFile, ...]:
        return self._connection.get_page(_folder_path(folder_id)).files()

    def download(self, file_id: str) -> bytes:
        url = self._connection.absolute("telecharger.php?" + urlencode({"fichier": file_id}))
        return self._connection.get(url).content

    def delete_files(self, folder_id: str, file_ids: Sequence[str]) -> BatchOutcome:
        if not file_ids:
            return BatchOutcome(())
        path = _folder_path(folder_id)
        fields = [("action", "supprimer"), *(("fichiers[]", f) for f in file_ids)]
        return BatchOutcome(self._connection.post(path, fields, token_page=path).outcomes())

    def close(self) -> None:
        self._connection.session.close()


def _folder_path(folder_id: str) -> str:
    return "partages.php?" + urlencode({"dossier": folder_id})


class IntraScolClient:
    """One administrator connection to an IntraScol server.

    Implements `reconcile.core.ports.IntraScolServer`. Logs in at the first request.
    `request_count` counts every HTTP request made, users' sessions included.
    """

    def __init__(
        self,
        url: str,
        login: str,
        password: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        get_retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self._url = base_url(url)
        self._counter = _Counter()
        self._timeout = timeout
        self._get_retries = get_retries
        self._backoff = backoff
        self._admin = self._connection(_ADMIN_LOGIN, login, password, session or _new_session())
        self._info: ServerInfo | None = None

    def _connection(
        self, login_path: str, login: str, password: str, session: requests.Session
    ) -> _Connection:
        return _Connection(
            self._url,
            login_path,
            login,
            password,
            session=session,
            counter=self._counter,
            timeout=self._timeout,
            get_retries=self._get_retries,
            backoff=self._backoff,
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
            if len(visited) == _MAX_USER_PAGES:
                raise ServerError(f"La liste des utilisateurs dépasse {_MAX_USER_PAGES} pages ({next_url}).")
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
        connection = self._connection(_USERS_LOGIN, login, password, _sibling(self._admin.session))
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
