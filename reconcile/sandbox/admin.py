"""The admin side: `admin/*.php`, the pages of `INTERFACE.md` a client drives.

Every page but the login page needs the admin session; without it, a `302` to the login page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from flask import Flask, Response, request
from werkzeug.datastructures import MultiDict

from reconcile.sandbox.plumbing import BASE, Site, int_or_none, redirect_to
from reconcile.sandbox.records import ADULT, PUPIL, Message
from reconcile.sandbox.sessions import Session

PAGE_SIZE = 50

AdminView = Callable[[Session], Response]


def register_admin_pages(app: Flask, site: Site) -> None:
    """Adds the admin pages to `app`."""
    pages = AdminPages(site)
    app.add_url_rule(f"{BASE}/admin/", "admin_root", pages.root, methods=["GET"])
    app.add_url_rule(f"{BASE}/admin/login.php", "admin_login", pages.login, methods=["GET", "POST"])
    app.add_url_rule(f"{BASE}/admin/logout.php", "admin_logout", pages.logout, methods=["GET"])
    guarded: list[tuple[str, AdminView, list[str]]] = [
        ("index.php", pages.index, ["GET"]),
        ("classes.php", pages.classes, ["GET", "POST"]),
        ("ajout_classe.php", pages.add_class, ["GET", "POST"]),
        ("modifier_classe.php", pages.modify_class, ["GET", "POST"]),
        ("utilisateurs.php", pages.users, ["GET", "POST"]),
        ("ajout_utilisateur.php", pages.add_user, ["GET", "POST"]),
        ("affecter.php", pages.assign, ["GET", "POST"]),
    ]
    for path, view, methods in guarded:
        app.add_url_rule(
            f"{BASE}/admin/{path}", f"admin_{view.__name__}", pages.admin_page(view), methods=methods
        )


def to_admin_login() -> Response:
    return redirect_to("admin/login.php")


class AdminPages:
    """The views of the admin pages, over one site."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.store = site.store

    def admin_page(self, view: AdminView) -> Callable[[], Response]:
        """An admin page, given the admin session; the login page for anyone else."""

        @wraps(view)
        def guarded() -> Response:
            session = self.site.session_of("admin")
            if session is None:
                return to_admin_login()
            return view(session)

        return guarded

    def root(self) -> Response:
        return redirect_to("admin/index.php")

    def login(self) -> Response:
        landing = f"{BASE}/admin/index.php"
        return self.site.login_form("Administration : connexion", "admin", self.store.check_admin, landing)

    def logout(self) -> Response:
        return self.site.log_out(to_admin_login)

    def index(self, session: Session) -> Response:
        store = self.store
        return self.site.page(
            "index.html",
            session,
            version=store.version,
            classes=store.classes(),
            pupils=len(store.users(PUPIL)),
            adults=len(store.users(ADULT)),
        )

    def classes(self, session: Session) -> Response:
        messages: list[Message] = []
        if request.method == "POST":
            messages = self.site.delete_chosen(
                session, "classes[]", self.store.delete_classes, "Aucune classe sélectionnée."
            )
        return self.site.page("classes.html", session, messages=messages, classes=self.store.classes())

    def add_class(self, session: Session) -> Response:
        site = self.site
        messages: list[Message] = []
        if request.method == "POST":
            messages = site.before_post(session) or [
                self.store.create_class(site.fields().get("nom", ""), site.fields().get("responsable", ""))
            ]
        return site.page("ajout_classe.html", session, messages=messages, adults=self.store.adults())

    def modify_class(self, session: Session) -> Response:
        site, store = self.site, self.store
        class_id = int_or_none(site.query().get("id"))
        messages: list[Message] = []
        if request.method == "POST":
            messages = site.before_post(session) or [
                store.modify_class(class_id, site.fields().get("nom"), site.fields().get("responsable"))
            ]
        school_class = store.class_by_id(class_id) if class_id is not None else None
        if school_class is None and not messages:
            messages = [Message.error("Cette classe n'existe pas.")]
        return site.page(
            "modifier_classe.html",
            session,
            messages=messages,
            school_class=school_class,
            adults=store.adults(),
        )

    def users(self, session: Session) -> Response:
        messages = self._users_form(session) if request.method == "POST" else []
        return self._users_listing(session, messages)

    def _users_form(self, session: Session) -> list[Message]:
        """The POST of the users' list: the ticked users deleted or moved to a class."""
        messages = self.site.before_post(session) or []
        if messages:
            return messages
        form = self.site.fields()
        logins = form.getlist("utilisateurs[]")
        action = form.get("action")
        if action in {"supprimer", "transferer"} and not logins:
            return [Message("info", "Aucun utilisateur sélectionné.")]
        if action == "supprimer":
            return self.store.delete_users(logins)
        if action == "transferer":
            return self.store.transfer(logins, int_or_none(form.get("destination")))
        return []

    def _users_listing(self, session: Session, messages: list[Message]) -> Response:
        """One page of the users' list, filtered by class and type as the query asks."""
        store = self.store
        arguments = self.site.query()
        class_filter = arguments.get("classe", "")
        type_filter = arguments.get("type", "")
        type_value = type_filter if type_filter in {PUPIL, ADULT} else None
        if class_filter == "aucune":
            users = store.users(type_value, no_class=True)
        elif class_filter:
            users = store.users(type_value, class_id=int_or_none(class_filter) or -1)
        else:
            users = store.users(type_value)
        page_count = max(1, -(-len(users) // PAGE_SIZE))
        number = max(1, int_or_none(arguments.get("page")) or 1)
        shown = users[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]

        def link(to_page: int) -> str:
            parameters = {"classe": class_filter, "type": type_filter, "page": str(to_page)}
            return "utilisateurs.php?" + urlencode({k: v for k, v in parameters.items() if v})

        return self.site.page(
            "utilisateurs.html",
            session,
            messages=messages,
            users=shown,
            total=len(users),
            page_number=number,
            page_count=page_count,
            previous_link=link(number - 1) if number > 1 else None,
            next_link=link(number + 1) if number < page_count else None,
            classes=store.classes(),
            class_filter=class_filter,
            type_filter=type_filter,
        )

    def add_user(self, session: Session) -> Response:
        messages: list[Message] = []
        created = None
        form = self.site.fields() if request.method == "POST" else MultiDict()
        if request.method == "POST":
            refusal = self.site.before_post(session)
            if refusal:
                messages = refusal
            else:
                created, messages = self.store.create_user(
                    form.get("prenom", ""), form.get("nom", ""), form.get("type", "")
                )
        return self.site.page(
            "ajout_utilisateur.html",
            session,
            messages=messages,
            created=created,
            classes=self.store.classes(),
            form=form if created is None else MultiDict(),
        )

    def assign(self, session: Session) -> Response:
        site = self.site
        messages: list[Message] = []
        if request.method == "POST":
            messages = site.before_post(session) or [
                self.store.assign(site.fields().get("login", ""), int_or_none(site.fields().get("classe")))
            ]
        return site.page("affecter.html", session, messages=messages, classes=self.store.classes())
