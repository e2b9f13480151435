"""The IntraScol pages, as a Flask application under `/intrascol/`.

Implements `INTERFACE.md`: a PHP-style `PHPSESSID` session shared by the admin side
and the users' side, one `jeton` per session, ISO-8859-1 pages and forms, and the
faults a school's small server shows (slowness, `500`, lost answers).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial, wraps
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode

from flask import Flask, Response, abort, g, redirect, render_template, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from reconcile.sandbox.store import ADULT, PUPIL, Message, Store
from reconcile.sandbox.text import PAGE_CHARSET, encode_page, parse_latin1_form

BASE = "/intrascol"
COOKIE = "PHPSESSID"
PAGE_SIZE = 50
LOSE_ANSWER_HOOK = "reconcile.sandbox.lose_answer"
"""WSGI environ key of a callable, set by the sandbox's request handler, that drops the answer."""

SessionKind = Literal["anonyme", "admin", "utilisateur"]
Fate = Literal["apply", "fail", "lose"]


@dataclass
class Faults:
    """What can go wrong, changeable while the server runs; the draws follow `seed`."""

    latency: float = 0.0
    fail_before_post: float = 0.0
    lose_answer_after_post: float = 0.0
    fail_get: float = 0.0
    session_idle_seconds: float = 1800.0
    seed: int = 1
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.reseed(self.seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._rng = random.Random(f"faults:{seed}")

    def post_fate(self) -> Fate:
        """The fate of the next logged-in POST: two draws each, so that the sequence only
        depends on the seed and the number of POSTs."""
        with self._lock:
            fail_draw, lose_draw = self._rng.random(), self._rng.random()
        if fail_draw < self.fail_before_post:
            return "fail"
        if lose_draw < self.lose_answer_after_post:
            return "lose"
        return "apply"

    def get_fails(self) -> bool:
        if self.fail_get <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.fail_get


@dataclass
class Session:
    id: str
    kind: SessionKind
    login: str | None
    jeton: str
    last_seen: float


class Sessions:
    """PHP-like sessions in memory, forgotten after `idle_seconds()` without a request."""

    def __init__(self, idle_seconds: Callable[[], float]) -> None:
        self._idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def touch(self, session_id: str | None) -> Session | None:
        """The live session with this id, its idle time restarted; None when unknown or expired."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self._idle_seconds():
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def start(self, kind: SessionKind, login: str | None = None) -> Session:
        now = time.monotonic()
        session = Session(secrets.token_hex(13), kind, login, secrets.token_hex(16), now)
        with self._lock:
            idle = self._idle_seconds()
            for stale in [s.id for s in self._sessions.values() if now - s.last_seen > idle]:
                del self._sessions[stale]
            self._sessions[session.id] = session
        return session

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def create_app(store: Store, faults: Faults) -> Flask:
    """The IntraScol web application over `store`."""
    app = Flask(__name__, static_url_path=f"{BASE}/static")
    sessions = Sessions(lambda: faults.session_idle_seconds)

    # -- plumbing: sessions, Latin-1 forms, pages, faults ------------------------------------

    @app.before_request
    def _before() -> None:
        if faults.latency > 0:
            time.sleep(faults.latency)
        g.session = sessions.touch(request.cookies.get(COOKIE))
        g.new_session = None
        g.lose_answer = False
        if request.method == "GET" and not request.path.startswith(f"{BASE}/static") and faults.get_fails():
            abort(500)

    @app.after_request
    def _after(response: Response) -> Response:
        if g.get("new_session") is not None:
            response.set_cookie(COOKIE, g.new_session.id, path="/", httponly=True, samesite="Lax")
        if g.get("lose_answer"):
            hook = request.environ.get(LOSE_ANSWER_HOOK)
            if hook is not None:
                hook()
        return response

    @app.errorhandler(HTTPException)
    def _error(error: HTTPException) -> Response:
        code = error.code or 500
        title = {404: "Not Found", 500: "Internal Server Error"}.get(code, error.name)
        body = f"<!DOCTYPE html>\n<html><head><title>{code} {title}</title></head><body><h1>{title}</h1>"
        if code == 404:
            body += (
                '<p class="erreur">Cette page ou ce fichier n\'existe pas ou ne vous est pas accessible.</p>'
            )
        body += "</body></html>\n"
        return Response(encode_page(body), status=code, content_type=f"text/html; charset={PAGE_CHARSET}")

    def fields() -> MultiDict[str, str]:
        if "form" not in g:
            g.form = MultiDict(parse_latin1_form(request.get_data(cache=True)))
        form: MultiDict[str, str] = g.form
        return form

    def query() -> MultiDict[str, str]:
        return MultiDict(parse_qsl(request.query_string.decode("latin-1"), encoding="latin-1"))

    def session_of(kind: SessionKind) -> Session | None:
        session: Session | None = g.session
        if session is None or session.kind != kind:
            return None
        if kind == "utilisateur" and (session.login is None or store.user(session.login) is None):
            return None
        return session

    def any_session() -> Session:
        """The visitor's session, started (anonymous) if it has none, as PHP's session_start()."""
        session: Session | None = g.session
        if session is None:
            session = g.session = g.new_session = sessions.start("anonyme")
        return session

    def log_in(kind: SessionKind, login: str) -> Session:
        # One PHPSESSID for both sides: a login ends whatever session the jar held.
        if g.session is not None:
            sessions.end(g.session.id)
        session = g.session = g.new_session = sessions.start(kind, login)
        return session

    def page(template: str, session: Session | None, **context: object) -> Response:
        html = render_template(
            template,
            jeton=session.jeton if session else "",
            school=store.school_name,
            messages=context.pop("messages", []),
            **context,
        )
        return Response(encode_page(html), content_type=f"text/html; charset={PAGE_CHARSET}")

    def before_post(session: Session) -> list[Message] | None:
        """Faults, then the jeton: the messages of a refused POST, or None to apply it."""
        fate = faults.post_fate()
        if fate == "fail":
            abort(500)
        g.lose_answer = fate == "lose"
        if fields().get("jeton") != session.jeton:
            return [Message.error("Jeton de formulaire invalide.")]
        return None

    def to_admin_login() -> Response:
        return redirect(f"{BASE}/admin/login.php", 302)  # type: ignore[return-value]

    def to_user_login() -> Response:
        return redirect(f"{BASE}/login.php", 302)  # type: ignore[return-value]

    def login_form(
        title: str, kind: SessionKind, check: Callable[[str, str], bool], landing: str
    ) -> Response:
        """A login page: the form, or on POST the session started and `landing`, or the error."""
        if request.method == "POST":
            form = fields()
            login = form.get("login", "")
            if check(login, form.get("motdepasse", "")):
                log_in(kind, login)
                return redirect(landing, 302)  # type: ignore[return-value]
            return page(
                "login.html",
                any_session(),
                title=title,
                login=login,
                messages=[Message.error("Identifiant ou mot de passe incorrect.")],
            )
        return page("login.html", any_session(), title=title, login="")

    def admin_page(view: Callable[[Session], Response]) -> Callable[[], Response]:
        """An admin page, given the admin session; the login page for anyone else."""

        @wraps(view)
        def guarded() -> Response:
            session = session_of("admin")
            if session is None:
                return to_admin_login()
            return view(session)

        return guarded

    def log_out(then: Callable[[], Response]) -> Response:
        if g.session is not None:
            sessions.end(g.session.id)
        return then()

    def delete_chosen(
        session: Session, field: str, delete: Callable[[list[int | None]], list[Message]], none_chosen: str
    ) -> list[Message]:
        """A list page's POST: the ids ticked in `field` deleted when the action is `supprimer`."""
        messages = before_post(session) or []
        if not messages and fields().get("action") == "supprimer":
            chosen = fields().getlist(field)
            messages = delete([_int(v) for v in chosen]) or [Message("info", none_chosen)]
        return messages

    # -- entry -------------------------------------------------------------------------------

    @app.get("/")
    def _root() -> Response:
        return redirect(f"{BASE}/", 302)  # type: ignore[return-value]

    @app.get(f"{BASE}/")
    @app.get(f"{BASE}/index.php")
    def home() -> Response:
        return page("accueil.html", any_session())

    # -- admin side ---------------------------------------------------------------------------

    @app.route(f"{BASE}/admin/", methods=["GET"])
    def admin_root() -> Response:
        return redirect(f"{BASE}/admin/index.php", 302)  # type: ignore[return-value]

    @app.route(f"{BASE}/admin/login.php", methods=["GET", "POST"])
    def admin_login() -> Response:
        return login_form("Administration : connexion", "admin", store.check_admin, f"{BASE}/admin/index.php")

    @app.get(f"{BASE}/admin/logout.php")
    def admin_logout() -> Response:
        return log_out(to_admin_login)

    @app.get(f"{BASE}/admin/index.php")
    @admin_page
    def admin_index(session: Session) -> Response:
        return page(
            "index.html",
            session,
            version=store.version,
            classes=store.classes(),
            pupils=len(store.users(PUPIL)),
            adults=len(store.users(ADULT)),
        )

    @app.route(f"{BASE}/admin/classes.php", methods=["GET", "POST"])
    @admin_page
    def admin_classes(session: Session) -> Response:
        messages: list[Message] = []
        if request.method == "POST":
            messages = delete_chosen(
                session, "classes[]", store.delete_classes, "Aucune classe sélectionnée."
            )
        return page("classes.html", session, messages=messages, classes=store.classes())

    @app.route(f"{BASE}/admin/ajout_classe.php", methods=["GET", "POST"])
    @admin_page
    def admin_add_class(session: Session) -> Response:
        messages: list[Message] = []
        if request.method == "POST":
            messages = before_post(session) or [
                store.create_class(fields().get("nom", ""), fields().get("responsable", ""))
            ]
        return page("ajout_classe.html", session, messages=messages, adults=store.adults())

    @app.route(f"{BASE}/admin/modifier_classe.php", methods=["GET", "POST"])
    @admin_page
    def admin_modify_class(session: Session) -> Response:
        class_id = _int(query().get("id"))
        messages: list[Message] = []
        if request.method == "POST":
            messages = before_post(session) or [
                store.modify_class(class_id, fields().get("nom"), fields().get("responsable"))
            ]
        school_class = store.class_by_id(class_id) if class_id is not None else None
        if school_class is None and not messages:
            messages = [Message.error("Cette classe n'existe pas.")]
        return page(
            "modifier_classe.html",
            session,
            messages=messages,
            school_class=school_class,
            adults=store.adults(),
        )

    @app.route(f"{BASE}/admin/utilisateurs.php", methods=["GET", "POST"])
    @admin_page
    def admin_users(session: Session) -> Response:
        messages: list[Message] = []
        if request.method == "POST":
            messages = before_post(session) or []
            if not messages:
                form = fields()
                logins = form.getlist("utilisateurs[]")
                action = form.get("action")
                if action in {"supprimer", "transferer"} and not logins:
                    messages = [Message("info", "Aucun utilisateur sélectionné.")]
                elif action == "supprimer":
                    messages = store.delete_users(logins)
                elif action == "transferer":
                    messages = store.transfer(logins, _int(form.get("destination")))

        arguments = query()
        class_filter = arguments.get("classe", "")
        type_filter = arguments.get("type", "")
        type_value = type_filter if type_filter in {PUPIL, ADULT} else None
        if class_filter == "aucune":
            users = store.users(type_value, no_class=True)
        elif class_filter:
            users = store.users(type_value, class_id=_int(class_filter) or -1)
        else:
            users = store.users(type_value)
        page_count = max(1, -(-len(users) // PAGE_SIZE))
        number = max(1, _int(arguments.get("page")) or 1)
        shown = users[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]

        def link(to_page: int) -> str:
            parameters = {"classe": class_filter, "type": type_filter, "page": str(to_page)}
            return "utilisateurs.php?" + urlencode({k: v for k, v in parameters.items() if v})

        return page(
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

    @app.route(f"{BASE}/admin/ajout_utilisateur.php", methods=["GET", "POST"])
    @admin_page
    def admin_add_user(session: Session) -> Response:
        messages: list[Message] = []
        created = None
        form = fields() if request.method == "POST" else MultiDict()
        if request.method == "POST":
            refusal = before_post(session)
            if refusal:
                messages = refusal
            else:
                created, messages = store.create_user(
                    form.get("prenom", ""), form.get("nom", ""), form.get("type", "")
                )
        return page(
            "ajout_utilisateur.html",
            session,
            messages=messages,
            created=created,
            classes=store.classes(),
            form=form if created is None else MultiDict(),
        )

    @app.route(f"{BASE}/admin/affecter.php", methods=["GET", "POST"])
    @admin_page
    def admin_assign(session: Session) -> Response:
        messages: list[Message] = []
        if request.method == "POST":
            messages = before_post(session) or [
                store.assign(fields().get("login", ""), _int(fields().get("classe")))
            ]
        return page("affecter.html", session, messages=messages, classes=store.classes())

    # -- users' side --------------------------------------------------------------------------

    @app.route(f"{BASE}/login.php", methods=["GET", "POST"])
    def user_login() -> Response:
        def check(login: str, password: str) -> bool:
            return store.check_user(login, password) is not None

        return login_form("Connexion à mes partages", "utilisateur", check, f"{BASE}/partages.php")

    @app.get(f"{BASE}/logout.php")
    def user_logout() -> Response:
        return log_out(to_user_login)

    @app.route(f"{BASE}/partages.php", methods=["GET", "POST"])
    def shares() -> Response:
        session = session_of("utilisateur")
        if session is None or session.login is None:
            return to_user_login()
        login = session.login
        folders = store.folders_for(login)
        folder_id = _int(query().get("dossier"))
        if folder_id is None:
            return page("partages.html", session, folders=folders, user=store.user(login))
        folder = next((f for f in folders if f.id == folder_id), None)
        if folder is None:
            abort(404)
        messages: list[Message] = []
        if request.method == "POST":
            messages = delete_chosen(
                session, "fichiers[]", partial(store.delete_files, login), "Aucun fichier sélectionné."
            )
        return page(
            "dossier.html",
            session,
            messages=messages,
            folder=folder,
            files=store.files_in(folder.id),
            user=store.user(login),
        )

    @app.get(f"{BASE}/telecharger.php")
    def download() -> Response:
        session = session_of("utilisateur")
        if session is None or session.login is None:
            return to_user_login()
        file_id = _int(query().get("fichier"))
        found = store.reachable_file(session.login, file_id) if file_id is not None else None
        if found is None:
            abort(404)
        name = found.path.rsplit("/", 1)[-1]
        return Response(
            found.data,
            content_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )

    return app
