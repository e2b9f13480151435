"""The HTTP rules of `INTERFACE.md`: one logged-in session, its retries, its `jeton`, its renewal.

- GETs (and the login form, which changes nothing) are retried on connection
  errors, timeouts and 5xx answers, with a bounded exponential backoff.
- A form POST is never retried blindly: once it may have reached the server, a
  5xx, a timeout or a dropped connection raises `AnswerLost` and the caller
  re-reads the state. Only answers proving the POST was not applied lead to a
  re-send: a redirection to the login page (expired session: log in again) and
  `Jeton de formulaire invalide.` (read the token again), once each.

Every answer is read within limits (`bounded.py`): at most `PAGE_LIMIT` bytes for a
page, and a total deadline per request, its GET retries included (`REQUEST_DEADLINE`),
so that a server sending without end or dripping a byte at a time stops the run with a
French message, not a hang or all the memory. A class folder's file is streamed instead
(`Connection.stream`, the same re-login and redirections), its body read by
`user_side.UserSideSession.download` within the archive's own limits.

`Connection` is used by `client.IntraScolClient` (the admin side) and
`user_side.UserSideSession` (the users' side); nothing else needs it.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlencode, urljoin, urlparse

import requests
from urllib3.exceptions import NewConnectionError

from reconcile import __version__
from reconcile.adapters.intrascol.bounded import (
    PAGE_LIMIT,
    REQUEST_DEADLINE,
    Answer,
    BadRedirect,
    Deadline,
    Expired,
    TooLarge,
    exchange,
)
from reconcile.adapters.intrascol.pages import Page, decode
from reconcile.core.errors import (
    AnswerLost,
    AuthenticationFailed,
    CertificateFileUnusable,
    CertificateRejected,
    PageNotRecognised,
    PageTooLarge,
    ServerError,
    ServerFailure,
    ServerTooSlow,
    ServerUnreachable,
)
from reconcile.core.ports import Refusal

Fields = Sequence[tuple[str, str]]

_MAX_REDIRECTS = 5
STREAM_TIMEOUT = (10.0, 30.0)
"""Seconds to connect, and to wait for the next bytes of a streamed file (its reader bounds the total)."""
STREAM_ATTEMPTS = 3
"""A streamed file not started (connection refused, a 5xx) is asked again, after 0.5 s then 1 s."""


class _Answered(Protocol):
    """What the redirection rules read of an answer: a read `Answer` or a streamed `requests.Response`."""

    @property
    def url(self) -> str: ...

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def is_redirect(self) -> bool: ...


_A = TypeVar("_A", bound=_Answered)


def new_session(url: str, ca_bundle: str | None = None) -> requests.Session:
    """A session to the server at `url`, checking HTTPS certificates, with the school's own
    authority when given.

    The environment's settings for `url` (`HTTPS_PROXY`, `NO_PROXY`, `REQUESTS_CA_BUNDLE`...)
    are read here, once, by requests' own rules; left to itself requests reads them again for
    every request (and the system's proxy settings on Windows and macOS): a fifth of its cost
    per request. ~/.netrc is not read: the login is the contract's form, never HTTP auth.
    """
    session = requests.Session()
    session.headers["User-Agent"] = f"reconcile/{__version__}"
    settings = session.merge_environment_settings(url, {}, None, None, None)
    session.trust_env = False
    session.proxies.update(settings["proxies"])
    session.verify = checked_ca_bundle(ca_bundle) if ca_bundle is not None else settings["verify"]
    return session


def checked_ca_bundle(path: str) -> str:
    """The CA file of `--certificat-ac`, loaded once to check it, before any password is sent."""
    if not Path(path).is_file():
        raise CertificateFileUnusable(path, "ce fichier n'existe pas")
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError):
        raise CertificateFileUnusable(path, "il ne contient aucun certificat lisible") from None
    return path


def sibling_session(session: requests.Session) -> requests.Session:
    """A session with the same settings (headers, TLS, proxies) but its own cookie jar."""
    sibling = requests.Session()
    sibling.headers.update(session.headers)
    sibling.verify, sibling.cert, sibling.trust_env = session.verify, session.cert, session.trust_env
    sibling.proxies.update(session.proxies)
    return sibling


class RequestCounter:
    """HTTP requests made by one client, its users' sessions included."""

    def __init__(self) -> None:
        self.value = 0


def form_body(fields: Fields) -> bytes:
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


def _certificate_refused(error: requests.RequestException) -> str | None:
    """OpenSSL's words when the server's certificate was refused (not trusted, wrong name), else None."""
    text = str(error)
    marker = "certificate verify failed:"
    if "CERTIFICATE_VERIFY_FAILED" not in text and marker not in text:
        return None
    detail = text.split(marker, 1)[1] if marker in text else "certificat refusé"
    return detail.split(" (_ssl.c", 1)[0].strip(" )'\"") or "certificat refusé"


_LOST = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class Connection:
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
        counter: RequestCounter,
        timeout: float,
        get_retries: int,
        backoff: float,
        deadline: float = REQUEST_DEADLINE,
        page_limit: int = PAGE_LIMIT,
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
        self._deadline = deadline
        self._page_limit = page_limit
        self._logged_in = False
        self._jeton: str | None = None

    def absolute(self, path: str) -> str:
        return urljoin(self.base_url, path)

    # --- raw HTTP ----------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        deadline: Deadline,
        body: bytes | None = None,
    ) -> Answer:
        self._counter.value += 1
        return exchange(
            self.session,
            method,
            url,
            body=body,
            read_timeout=self._timeout,
            deadline=deadline,
            limit=self._page_limit,
        )

    def _send_retrying(self, method: str, url: str, body: bytes | None = None) -> Answer:
        """A request that changes nothing, retried on connection errors and 5xx, within one deadline."""
        deadline = Deadline(self._deadline)
        failure: ServerError = ServerUnreachable(url, "aucune tentative")
        for attempt in range(self._get_retries + 1):
            if attempt:
                time.sleep(max(0.0, min(self._backoff * 2 ** (attempt - 1), deadline.remaining())))
            if deadline.remaining() <= 0:
                raise failure  # no time left for another attempt: the last one's failure says why
            try:
                response = self._send(method, url, deadline, body)
            except Expired:
                raise ServerTooSlow(url, deadline.seconds) from None
            except TooLarge as error:
                raise PageTooLarge(url, error.limit) from None
            except BadRedirect:
                raise ServerError(_bad_redirect(url)) from None
            except requests.exceptions.SSLError as error:
                failure = self._ssl_failure(url, error)
                continue
            except _LOST as error:
                failure = ServerUnreachable(url, _reason(error))
                continue
            except requests.RequestException as error:
                raise ServerUnreachable(url, str(error)) from error
            if response.status_code < 500:
                return response
            failure = ServerFailure(url, response.status_code)
        raise failure

    def _ssl_failure(self, url: str, error: requests.exceptions.SSLError) -> ServerError:
        """A refused certificate raised at once (retrying changes nothing); other TLS errors as lost."""
        detail = _certificate_refused(error)
        if detail is not None:
            raise CertificateRejected(self.base_url, detail) from None
        return ServerUnreachable(url, _reason(error))

    def _send_once(self, url: str, body: bytes) -> Answer:
        """A form POST: sent once; an answer lost after sending raises `AnswerLost`."""
        deadline = Deadline(self._deadline)
        try:
            response = self._send("POST", url, deadline, body)
        except Expired:
            raise AnswerLost(url, f"pas de réponse complète en {deadline.seconds:g} s") from None
        except TooLarge as error:
            raise AnswerLost(url, f"réponse de {error}, lecture arrêtée") from None
        except BadRedirect:
            raise AnswerLost(url, "redirection vers une adresse invalide") from None
        except _LOST as error:
            if isinstance(error, requests.exceptions.SSLError):
                self._ssl_failure(url, error)
            if isinstance(error, requests.ConnectionError) and _never_sent(error):
                raise ServerUnreachable(url, _reason(error)) from error
            raise AnswerLost(url, _reason(error)) from error
        except requests.RequestException as error:
            raise ServerUnreachable(url, str(error)) from error
        if response.status_code >= 500:
            raise AnswerLost(url, f"erreur {response.status_code} du serveur")
        return response

    # --- session -----------------------------------------------------------------------

    def _to_login(self, response: _Answered) -> bool:
        """Whether the server sent us back to a login page (no valid session)."""
        if not response.is_redirect:
            return False
        return urlparse(_location(response)).path.endswith("login.php")

    def _page(self, response: Answer) -> Page:
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
        response = self._send_retrying("POST", self.login_url, form_body(fields))
        if not response.is_redirect and response.status_code == 200:
            page = self._page(response)
            if any(e.refusal is Refusal.INVALID_TOKEN for e in page.errors()):
                # A server whose login form carries a `jeton` too: read it, post again.
                form = self._page(self._send_retrying("GET", self.login_url))
                token = form.jeton() or ""
                body = form_body([*fields, ("jeton", token)])
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

    def get(self, url: str) -> Answer:
        """GET a page of the session: logs in first or again as needed, follows redirections.

        Its body is read within the page limit and the connection's deadline per request.
        """
        self._ensure_logged_in()
        return self._follow(url, self.get_as_it_comes, close=lambda _answer: None)

    def get_as_it_comes(self, url: str) -> Answer:
        """One GET as the server answers it: no login first, no redirection followed (what a
        visitor without session gets: the diagnostic looks at it); retried as `get` is."""
        return self._send_retrying("GET", url)

    def stream(self, url: str) -> requests.Response:
        """GET a file of the session, its body not read: the caller reads it within its own
        limits (a class folder's file, `user_side.UserSideSession.download`). Logs in again
        and follows redirections as `get` does; close the answer once read."""
        self._ensure_logged_in()
        return self._follow(url, self._stream_retrying, close=lambda response: response.close())

    def _follow(self, url: str, send: Callable[[str], _A], *, close: Callable[[_A], object]) -> _A:
        """`send(url)`, logging in again once when sent back to the login page and following
        redirections; an error status raises `ServerFailure`."""
        relogged = False
        for _ in range(_MAX_REDIRECTS):
            response = send(url)
            if self._to_login(response):
                close(response)
                if relogged:
                    raise ServerError(f"Le serveur renvoie à la connexion juste après la connexion ({url}).")
                self.log_in()
                relogged = True
                continue
            if response.is_redirect:
                close(response)
                url = _location(response)
                continue
            if response.status_code >= 400:
                close(response)
                raise ServerFailure(url, response.status_code)
            return response
        raise ServerError(f"Le serveur redirige sans fin ({url}).")

    def _stream_retrying(self, url: str) -> requests.Response:
        """A streamed GET, asked again when the server could not start answering."""
        failure: ServerError = ServerUnreachable(url, "aucune tentative")
        for attempt in range(STREAM_ATTEMPTS):
            if attempt:
                time.sleep(0.5 * 2 ** (attempt - 1))
            self._counter.value += 1
            try:
                response = self.session.get(
                    url,
                    stream=True,
                    timeout=STREAM_TIMEOUT,
                    allow_redirects=False,
                    # Given per request: requests lets REQUESTS_CA_BUNDLE override the session's own file.
                    verify=self.session.verify,
                )
            except requests.exceptions.SSLError as error:
                failure = self._ssl_failure(url, error)
                continue
            except (requests.ConnectionError, requests.Timeout):
                failure = ServerUnreachable(url, "connexion impossible")
                continue
            except requests.RequestException as error:
                raise ServerUnreachable(url, str(error)) from error
            except ValueError:  # requests parses a redirection's `Location` even when not following it
                raise ServerError(_bad_redirect(url)) from None
            if response.status_code < 500:
                return response
            response.close()
            failure = ServerFailure(url, response.status_code)
        raise failure

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
            body = form_body([*fields, ("jeton", self.jeton(token_page))])
            response = self._send_once(url, body)
            if self._to_login(response) and not relogged:
                self.log_in()
                relogged = True
                continue
            if self._to_login(response):
                raise ServerError(f"Le serveur renvoie à la connexion juste après la connexion ({url}).")
            if response.is_redirect:
                # Post/redirect/get: the form was applied, its messages are on the next page.
                return self._page(self.get(_location(response)))
            if response.status_code >= 400:
                raise ServerFailure(url, response.status_code)
            page = self._page(response)
            refused_token = any(e.refusal is Refusal.INVALID_TOKEN for e in page.errors())
            if refused_token and not token_refreshed:
                self._jeton = None
                token_refreshed = True
                continue
            return page


def _bad_redirect(url: str) -> str:
    return (
        f"Le serveur a répondu sur {url} par une redirection vers une adresse invalide. "
        "Ce serveur est-il bien un serveur IntraScol ?"
    )


def _location(response: _Answered) -> str:
    """The absolute address a redirection points to; `ServerError` when it is not an address."""
    try:
        target = urljoin(response.url, response.headers.get("Location", ""))
        parts = urlparse(target)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ServerError(_bad_redirect(response.url)) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServerError(_bad_redirect(response.url))
    return target
