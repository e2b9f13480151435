"""The users' side of IntraScol (`Mes partages`): a user's folders, their files, downloads, deletions."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from reconcile.adapters.intrascol.transport import Connection
from reconcile.core.ports import BatchOutcome, Folder, SharedFile


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
