"""The users' side of IntraScol (`Mes partages`): a user's folders, their files, downloads, deletions."""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from urllib.parse import urlencode, urljoin, urlparse

import requests
import urllib3

from reconcile.adapters.intrascol.transport import Connection
from reconcile.core.errors import ServerError, ServerFailure, ServerUnreachable
from reconcile.core.ports import BatchOutcome, Folder, SharedFile

DOWNLOAD_CHUNK = 64 * 1024
"""The most a download holds in memory at once (the caller writes each chunk to disk)."""
DOWNLOAD_TIMEOUT = (10.0, 30.0)
"""Seconds to connect, and to wait for the next bytes (the caller bounds the total)."""
DOWNLOAD_ATTEMPTS = 3
"""A download not started (connection refused, a 5xx) is asked again, after 0.5 s then 1 s."""


class UserSideSession:
    """Logged in as one user on the users' side (`Mes partages`), in its own cookie jar.

    Implements `reconcile.core.ports.UserSession`.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def login(self) -> str:
        return self._connection.login

    def folders(self) -> tuple[Folder, ...]:
        return self._connection.get_page("partages.php").folders()

    def files(self, folder_id: str) -> tuple[SharedFile, ...]:
        return self._connection.get_page(_folder_path(folder_id)).files()

    def download(self, file_id: str) -> Generator[bytes, None, None]:
        """The file's bytes as they arrive, in chunks of at most `DOWNLOAD_CHUNK`, never held whole.

        A chunk is handed over as soon as the server sent it, so that the caller's size
        and time limits also stop a server that drips or never ends; closing the
        generator closes the connection. Logs in again if the session expired.
        """
        url = self._connection.absolute("telecharger.php?" + urlencode({"fichier": file_id}))
        with self._open_download(url) as response:
            try:
                while chunk := response.raw.read1(DOWNLOAD_CHUNK, decode_content=True):
                    yield chunk
            except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as error:
                timed_out = isinstance(error, (urllib3.exceptions.TimeoutError, TimeoutError))
                reason = "délai d'attente dépassé" if timed_out else "connexion interrompue"
                raise ServerUnreachable(url, reason) from error

    def _open_download(self, url: str) -> requests.Response:
        """The download's answer, its body not read yet: logged in again, redirections followed."""
        relogged = False
        for _ in range(5):
            response = self._request_retrying(url)
            location = urljoin(url, response.headers.get("Location", "")) if response.is_redirect else ""
            if not location and response.status_code < 400:
                return response
            response.close()
            if not location:
                raise ServerFailure(url, response.status_code)
            if urlparse(location).path.endswith("login.php"):
                if relogged:
                    raise ServerError(f"Le serveur renvoie à la connexion juste après la connexion ({url}).")
                self._connection.log_in()
                relogged = True
            else:
                url = location
        raise ServerError(f"Le serveur redirige sans fin ({url}).")

    def _request_retrying(self, url: str) -> requests.Response:
        """A streamed GET, asked again when the server could not start answering."""
        failure: ServerError = ServerUnreachable(url, "aucune tentative")
        for attempt in range(DOWNLOAD_ATTEMPTS):
            if attempt:
                time.sleep(0.5 * 2 ** (attempt - 1))
            # Counted with the client's other requests (the transport's counter).
            self._connection._counter.value += 1
            try:
                response = self._connection.session.get(
                    url, stream=True, timeout=DOWNLOAD_TIMEOUT, allow_redirects=False
                )
            except (requests.ConnectionError, requests.Timeout):
                failure = ServerUnreachable(url, "connexion impossible")
                continue
            except requests.RequestException as error:
                raise ServerUnreachable(url, str(error)) from error
            if response.status_code < 500:
                return response
            response.close()
            failure = ServerFailure(url, response.status_code)
        raise failure

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
