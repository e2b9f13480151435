"""The users' side: `login.php`, `partages.php` and `telecharger.php`, a user's shared folders.

Every page but the login page needs a user's session; without it, a `302` to `login.php`.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import quote

from flask import Flask, Response, abort, request

from reconcile.sandbox.plumbing import BASE, Site, int_or_none, redirect_to
from reconcile.sandbox.records import Message


def register_user_pages(app: Flask, site: Site) -> None:
    """Adds the users' pages to `app`."""
    pages = UserPages(site)
    app.add_url_rule(f"{BASE}/login.php", "user_login", pages.login, methods=["GET", "POST"])
    app.add_url_rule(f"{BASE}/logout.php", "user_logout", pages.logout, methods=["GET"])
    app.add_url_rule(f"{BASE}/partages.php", "shares", pages.shares, methods=["GET", "POST"])
    app.add_url_rule(f"{BASE}/telecharger.php", "download", pages.download, methods=["GET"])


def to_user_login() -> Response:
    return redirect_to("login.php")


class UserPages:
    """The views of the users' pages, over one site."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.store = site.store

    def login(self) -> Response:
        def check(login: str, password: str) -> bool:
            return self.store.check_user(login, password) is not None

        return self.site.login_form("Connexion à mes partages", "utilisateur", check, f"{BASE}/partages.php")

    def logout(self) -> Response:
        return self.site.log_out(to_user_login)

    def shares(self) -> Response:
        """The user's folders, or one folder's files (`?dossier=ID`), whose POST deletes some."""
        site, store = self.site, self.store
        session = site.session_of("utilisateur")
        if session is None or session.login is None:
            return to_user_login()
        login = session.login
        folders = store.folders_for(login)
        folder_id = int_or_none(site.query().get("dossier"))
        if folder_id is None:
            return site.page("partages.html", session, folders=folders, user=store.user(login))
        folder = next((f for f in folders if f.id == folder_id), None)
        if folder is None:
            abort(404)
        messages: list[Message] = []
        if request.method == "POST":
            messages = site.delete_chosen(
                session, "fichiers[]", partial(store.delete_files, login), "Aucun fichier sélectionné."
            )
        return site.page(
            "dossier.html",
            session,
            messages=messages,
            folder=folder,
            files=store.files_in(folder.id),
            user=store.user(login),
        )

    def download(self) -> Response:
        session = self.site.session_of("utilisateur")
        if session is None or session.login is None:
            return to_user_login()
        file_id = int_or_none(self.site.query().get("fichier"))
        found = self.store.reachable_file(session.login, file_id) if file_id is not None else None
        if found is None:
            abort(404)
        name = found.path.rsplit("/", 1)[-1]
        return Response(
            found.data,
            content_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )
