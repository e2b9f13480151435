"""The users' side of IntraScol (`Mes partages`): a user's folders, their files, downloads, deletions."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from urllib.parse import urlencode

import requests
import urllib3

from reconcile.adapters.intrascol.transport import Connection
from reconcile.core.errors import ServerUnreachable
from reconcile.core.ports import BatchOutcome, Folder, SharedFile

DOWNLOAD_CHUNK = 64 * 1024
"""The most a download holds in memory at once (the caller writes each chunk to disk)."""


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
        with self._connection.stream(url) as response:
            try:
                while chunk := response.raw.read1(DOWNLOAD_CHUNK, decode_content=True):
                    yield chunk
            except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as error:
                timed_out = isinstance(error, (urllib3.exceptions.TimeoutError, TimeoutError))
                reason = "délai d'attente dépassé" if timed_out else "connexion interrompue"
                raise ServerUnreachable(url, reason) from error

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
