"""`reconcile diagnostic`: does this IntraScol server show what the client relies on?

A read-only visit of every page the client uses (`docs/intrascol.md`): the only POSTs
are the logins (the administrator's, and one pupil's on the users' side, which change
nothing). Each element the client relies on becomes a `page_checks.Check`; every page
seen is kept, with what the capture must hide (`capture.Secrets`), for `--capture`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin

import requests

from reconcile.adapters.intrascol.bounded import (
    Answer,
)
from reconcile.adapters.intrascol.capture import Secrets, SeenPage
from reconcile.adapters.intrascol.client import MAX_USER_PAGES, base_url
from reconcile.adapters.intrascol.page_checks import (
    Check,
    Field,
    Means,
    Status,
    encoding_check,
    form_check,
    id_check,
    jeton_check,
    known_version_check,
    login_form_check,
    message_check,
    pagination_check,
    reader_check,
    redirect_check,
)
from reconcile.adapters.intrascol.pages import Page, decode
from reconcile.adapters.intrascol.transport import Connection, RequestCounter, new_session, sibling_session
from reconcile.core.errors import (
    AuthenticationFailed,
    PageNotRecognised,
    ServerError,
    ServerFailure,
)
from reconcile.core.model import SchoolClass, User, UserType

KNOWN_VERSIONS = ("0.1.4", "0.1.5", "0.1.6", "0.1.7", "0.1.7a")
"""The IntraScol versions in schools, that reconcile was written for."""

_KEPT_HEADERS = ("content-type", "location", "server", "x-powered-by", "content-disposition")


def unknown_version(version: str) -> str | None:
    """The sentence saying that reconcile does not know this version (None for a known one)."""
    if version in KNOWN_VERSIONS:
        return None
    return (
        f"La version d'IntraScol « {version} » n'est pas une de celles que reconcile connaît "
        f"({', '.join(KNOWN_VERSIONS)})."
    )


def version_warning(version: str) -> str | None:
    """The advice for a version reconcile does not know (None for a known one)."""
    unknown = unknown_version(version)
    if unknown is None:
        return None
    return (
        f"{unknown} Avant toute modification, lancez « reconcile diagnostic » : il vérifie, "
        "sans rien changer sur le serveur, que reconcile comprend ses pages."
    )


@dataclass(frozen=True)
class Diagnosis:
    """What the visit saw: the checks in visit order, the pages, what a capture must hide."""

    url: str
    version: str | None
    checks: tuple[Check, ...]
    pages: tuple[SeenPage, ...]
    secrets: Secrets = field(repr=False)

    @property
    def compatible(self) -> bool:
        return not any(check.fails for check in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.fails)


def diagnose(
    url: str, login: str, password: str, *, timeout: float = 30.0, ca_bundle: str | None = None
) -> Diagnosis:
    """Visit the server read-only and check every element the client relies on.

    Raises `ServerUnreachable` or `AuthenticationFailed` (wrong password on a login form
    that is as expected); any other difference is a check, not an error.
    """
    visit = _Visit(url, login, password, timeout, ca_bundle)
    visit.run()
    return Diagnosis(
        url=visit.base,
        version=visit.version,
        checks=tuple(visit.checks),
        pages=tuple(visit.pages),
        secrets=visit.secrets,
    )


class _Visit:
    """One diagnostic visit: its connections, the checks so far, the pages seen."""

    def __init__(self, url: str, login: str, password: str, timeout: float, ca_bundle: str | None) -> None:
        self.base = base_url(url)
        self.timeout = timeout
        self.counter = RequestCounter()
        self.session = new_session(self.base, ca_bundle)
        self.admin = self._connection("admin/login.php", login, password, self.session)
        self.checks: list[Check] = []
        self.pages: list[SeenPage] = []
        self.form_pages: list[tuple[str, Page]] = []
        self.secrets = Secrets(admin_login=login, admin_password=password)
        self.version: str | None = None
        self.classes: tuple[SchoolClass, ...] = ()
        self.users: list[User] = []

    def _connection(
        self, login_path: str, login: str, password: str, session: requests.Session
    ) -> Connection:
        return Connection(
            self.base, login_path, login, password,
            session=session, counter=self.counter, timeout=self.timeout, get_retries=2, backoff=0.5,
        )  # fmt: skip

    # --- fetching ----------------------------------------------------------------------

    def _keep(self, where: str, answer: Answer) -> None:
        headers = tuple((k, v) for k, v in answer.headers.items() if k.lower() in _KEPT_HEADERS)
        content_type = answer.headers.get("Content-Type")
        self.pages.append(SeenPage(where, "GET", answer.status_code, content_type, headers, answer.content))

    def bare(self, where: str) -> Answer:
        """A GET without any session (its own cookie jar), redirections not followed, bounded,
        its failures the transport's French errors."""
        with sibling_session(self.session) as session:
            visitor = self._connection(where, "", "", session)  # never logs in
            answer = visitor.get_as_it_comes(urljoin(self.base, where))
        self._keep(where, answer)
        return answer

    def get(self, connection: Connection, where: str, means: str) -> Page | None:
        """A page of a logged-in session; a missing page (`404`…) becomes a check."""
        try:
            response = connection.get(connection.absolute(where))
        except ServerFailure as error:
            self.checks.append(Check(where, "la page", Status.MISSING, f"erreur {error.status}", means))
            return None
        self._keep(where, response)
        page = Page(response.url, decode(response.content, response.headers.get("Content-Type")))
        self.secrets.tokens.add(page.jeton() or "")
        return page

    def read(self, where: str, element: str, page: Page, reader: Callable[[], object], container: str,
             means: str) -> object:  # fmt: skip
        try:
            result: object = reader()
        except PageNotRecognised as error:
            result = error
        self.checks.append(reader_check(page, where, element, result, container, means))
        return result

    # --- the visit ---------------------------------------------------------------------

    def run(self) -> None:
        login_form = self.login_side("admin/login.php", "admin/index.php", Means.LOGIN)
        try:
            self.admin.log_in()
        except (AuthenticationFailed, PageNotRecognised, ServerFailure) as error:
            if isinstance(error, AuthenticationFailed) and login_form.status is Status.FOUND:
                raise  # the form is as expected: the password is wrong
            detail = f"impossible : {error}"
            self.checks.append(
                Check("admin/login.php", "la connexion", Status.DIFFERENT, detail, Means.LOGIN)
            )
            return
        self.index()
        self.classes_page()
        self.class_forms()
        self.users_pages()
        self.add_user_page()
        self.users_side()
        # A session id may show in a page (PHP's `?PHPSESSID=` links): hidden as a `jeton`.
        self.secrets.tokens.update(cookie.value or "" for cookie in self.session.cookies)
        self.checks.append(jeton_check(self.form_pages))
        html = [(p.where, p.content_type, p.content) for p in self.pages if p.status == 200]
        self.checks.append(encoding_check(html))
        self.not_checkable()

    def login_side(self, login_path: str, guarded: str, means: str) -> Check:
        """A login form, and a guarded page that sends a visitor without session to it."""
        response = self.bare(login_path)
        page = Page(response.url, decode(response.content, response.headers.get("Content-Type")))
        form = login_form_check(page, login_path, means)
        self.checks.append(form)
        answer = self.bare(guarded)
        element = f"sans session : redirection (302) vers {login_path}"
        location = answer.headers.get("Location", "")
        self.checks.append(redirect_check(guarded, element, answer.status_code, location, answer.url, means))
        return form

    def index(self) -> None:
        where = "admin/index.php"
        page = self.get(self.admin, where, Means.SCHOOL)
        if page is None:
            return
        self.checks.append(id_check(page, where, "span", "ecole", Means.SCHOOL))
        self.checks.append(id_check(page, where, "span", "version", Means.VERSION))
        try:
            info = page.server_info()
        except PageNotRecognised:
            return
        self.version = info.version
        self.secrets.schools.add(info.school)
        self.checks.append(known_version_check(where, info.version, KNOWN_VERSIONS))

    def classes_page(self) -> None:
        where = "admin/classes.php"
        page = self.get(self.admin, where, Means.CLASSES)
        if page is None:
            return
        element = '<table id="classes">, ses <tr class="classe"> (classes[], nom, responsable, effectif)'
        read = self.read(where, element, page, page.classes, "classes", Means.CLASSES)
        if isinstance(read, tuple):
            self.classes = read
            for school_class in self.classes:
                self.secrets.add_class(school_class)
        fields = (Field("action", ("supprimer",)), *((Field("classes[]"),) if self.classes else ()))
        self.checks.append(form_check(page, where, "form-classes", fields, Means.DELETE_CLASSES))
        self.form_pages.append((where, page))

    def class_forms(self) -> None:
        where = "admin/ajout_classe.php"
        page = self.get(self.admin, where, Means.CREATE_CLASS)
        fields = (Field("nom"), Field("responsable"))
        if page is not None:
            self.checks.append(form_check(page, where, "form-ajout-classe", fields, Means.CREATE_CLASS))
            self.form_pages.append((where, page))
        if self.classes:
            where = "admin/modifier_classe.php?" + urlencode({"id": self.classes[0].id})
            page = self.get(self.admin, where, Means.MODIFY_CLASS)
            if page is not None:
                self.checks.append(
                    form_check(page, where, "form-modifier-classe", fields, Means.MODIFY_CLASS)
                )
                self.form_pages.append((where, page))
        # An id no class has: the page shows an error without any form posted.
        where = "admin/modifier_classe.php?id=0"
        page = self.get(self.admin, where, Means.MESSAGES)
        if page is not None:
            self.checks.append(message_check(page, where))

    def users_pages(self) -> None:
        where = "admin/utilisateurs.php"
        pages, rows = self.user_listing(where)
        if not pages:
            return
        self.checks.append(pagination_check(where, pages, rows))
        # Checkboxes only where there are users; the destination's options only where there are classes.
        boxes = (Field("utilisateurs[]"),) if self.users else ()
        fields = (*boxes, Field("action", ("supprimer", "transferer")), Field("destination"))
        self.checks.append(form_check(pages[0], where, "form-utilisateurs", fields, Means.USERS_FORM))
        self.form_pages.append((where, pages[0]))
        pupils = [u for u in self.users if u.type is UserType.PUPIL]
        if pupils:
            element = '<td class="motdepasse"> : le mot de passe des élèves'
            shown = sum(1 for u in pupils if u.password)
            status = Status.FOUND if shown else Status.MISSING
            self.checks.append(Check(where, element, status, f"{shown} sur {len(pupils)}", Means.PASSWORDS))
        self.class_filter()

    def user_listing(self, first: str) -> tuple[list[Page], list[int]]:
        """Every page of the users' list, following `Suivante`; the users kept."""
        pages: list[Page] = []
        rows: list[int] = []
        where: str | None = first
        visited: set[str] = set()
        element = '<table id="utilisateurs">, ses <tr class="utilisateur"> (login, nom, prenom, type, classe)'
        while where is not None and where not in visited and len(visited) < MAX_USER_PAGES:
            visited.add(where)
            page = self.get(self.admin, where, Means.USERS)
            if page is None:
                break
            try:
                listing = page.users_page()
            except PageNotRecognised as error:
                self.checks.append(reader_check(page, first, element, error, "utilisateurs", Means.USERS))
                return [], []
            pages.append(page)
            rows.append(len(listing.users))
            self.users.extend(listing.users)
            for user in listing.users:
                self.secrets.add_user(user)
            where = _relative(self.base, listing.next_url)
        self.checks.append(Check(first, element, Status.FOUND, f"{len(self.users)} comptes lus"))
        return pages, rows

    def class_filter(self) -> None:
        filled = next((c for c in self.classes if c.size > 0), None)
        if filled is None:
            return
        where = "admin/utilisateurs.php?" + urlencode({"classe": filled.id})
        page = self.get(self.admin, where, Means.FILTERS)
        if page is None:
            return
        element = "le filtre par classe (utilisateurs.php?classe=ID)"
        try:
            shown = page.users_page().users
        except PageNotRecognised as error:
            self.checks.append(Check(where, element, Status.DIFFERENT, error.missing, Means.FILTERS))
            return
        others = [u for u in shown if u.class_id != filled.id]
        if not shown or others:
            detail = f"{len(shown)} comptes montrés, dont {len(others)} d'une autre classe"
            self.checks.append(Check(where, element, Status.DIFFERENT, detail, Means.FILTERS))
        else:
            self.checks.append(Check(where, element, Status.FOUND, f"{len(shown)} élèves"))

    def add_user_page(self) -> None:
        where = "admin/ajout_utilisateur.php"
        page = self.get(self.admin, where, Means.CREATE_USER)
        if page is None:
            return
        fields = (Field("prenom"), Field("nom"), Field("type", ("eleve", "adulte")))
        self.checks.append(form_check(page, where, "form-ajout-utilisateur", fields, Means.CREATE_USER))
        self.form_pages.append((where, page))

    def users_side(self) -> None:
        """The users' side: its login form and, logged in as one pupil, its folders and files."""
        self.login_side("login.php", "partages.php", Means.FOLDERS)
        pupil = next((u for u in self.users if u.type is UserType.PUPIL and u.password and u.class_id), None)
        if pupil is None or pupil.password is None:
            detail = "aucun élève dans une classe avec un mot de passe lisible pour s'y connecter"
            self.checks.append(Check("partages.php", "les dossiers de classe", Status.UNCHECKED, detail,
                                     Means.FOLDERS, blocking=False))  # fmt: skip
            return
        with sibling_session(self.session) as session:
            connection = self._connection("login.php", pupil.login, pupil.password, session)
            try:
                connection.log_in()
            except ServerError as error:
                detail = f"connexion d'un élève impossible : {error}"
                self.checks.append(Check("login.php", "la connexion d'un élève", Status.DIFFERENT, detail,
                                         Means.FOLDERS))  # fmt: skip
                return
            self.pupil_folders(connection, pupil)
            self.secrets.tokens.update(cookie.value or "" for cookie in session.cookies)

    def pupil_folders(self, connection: Connection, pupil: User) -> None:
        where = "partages.php"
        page = self.get(connection, where, Means.FOLDERS)
        if page is None:
            return
        element = '<ul id="partages">, ses <li class="dossier"> (lien partages.php?dossier=ID)'
        folders = self.read(where, element, page, page.folders, "partages", Means.FOLDERS)
        if not isinstance(folders, tuple) or not folders:
            return
        for folder in folders:
            self.secrets.folders.add(folder.name)
        class_name = next((c.name for c in self.classes if c.id == pupil.class_id), "")
        # The class's folder first; others too until one holds files, so that its rows are seen.
        ordered = sorted(folders, key=lambda f: f.name.casefold() != class_name.casefold())
        for folder in ordered[:3]:
            if self.folder_page(connection, folder.id):
                break

    def folder_page(self, connection: Connection, folder_id: str) -> bool:
        """One folder's page checked; whether it listed files."""
        where = "partages.php?" + urlencode({"dossier": folder_id})
        page = self.get(connection, where, Means.FOLDERS)
        if page is None:
            return False
        element = '<table id="fichiers">, ses <tr class="fichier"> (fichiers[], chemin, taille)'
        files = self.read(where, element, page, page.files, "fichiers", Means.FOLDERS)
        if isinstance(files, tuple):
            for shared in files:
                self.secrets.add_file(shared.path)
        fields = (Field("action", ("supprimer",)), *((Field("fichiers[]"),) if files else ()))
        self.checks.append(form_check(page, where, "form-fichiers", fields, Means.FOLDERS))
        self.form_pages.append((where, page))
        return bool(files) or not isinstance(files, tuple)

    def not_checkable(self) -> None:
        """What only a modification shows: said, never counted against the server."""
        for where, element in (
            (
                "admin/ajout_utilisateur.php",
                'la réponse à une création : <span id="login">, <span id="motdepasse">',
            ),
            ("admin/affecter.php", '<form id="form-affecter"> : « login », « classe »'),
            ("toutes", '<p class="succes">…</p> après une modification'),
        ):
            self.checks.append(Check(where, element, Status.UNCHECKED, "", Means.AFTER_POST, blocking=False))


def _relative(base: str, url: str | None) -> str | None:
    """A URL of the server as a path relative to its base (the pages' names in the capture)."""
    if url is None:
        return None
    return url[len(base) :] if url.startswith(base) else url
