"""What the admin pages and the users' pages share: the request's session, Latin-1 forms,
pages, a POST's faults and `jeton`, the login forms.

One `Site` per application, built by `app.create_app` and handed to the two sides
(`admin.register_admin_pages`, `users.register_user_pages`). Its methods work on the
request being served (Flask's `request` and `g`).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from flask import Response, abort, g, redirect, render_template, request
from werkzeug.datastructures import MultiDict

from reconcile.sandbox.faults import Faults
from reconcile.sandbox.records import Message
from reconcile.sandbox.sessions import Session, SessionKind, Sessions
from reconcile.sandbox.store import Store
from reconcile.sandbox.text import PAGE_CHARSET, encode_page, parse_latin1_form

BASE = "/intrascol"
COOKIE = "PHPSESSID"


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def redirect_to(path: str) -> Response:
    """A `302 Found` to `path` under the base URL."""
    return redirect(f"{BASE}/{path}", 302)  # type: ignore[return-value]


class Site:
    """The state both sides serve (`store`, `faults`, `sessions`) and their shared steps."""

    def __init__(self, store: Store, faults: Faults, sessions: Sessions) -> None:
        self.store = store
        self.faults = faults
        self.sessions = sessions

    # -- the request -------------------------------------------------------------------------

    def fields(self) -> MultiDict[str, str]:
        """The posted form, decoded from Latin-1 (numeric character references included)."""
        if "form" not in g:
            g.form = MultiDict(parse_latin1_form(request.get_data(cache=True)))
        form: MultiDict[str, str] = g.form
        return form

    def query(self) -> MultiDict[str, str]:
        return MultiDict(parse_qsl(request.query_string.decode("latin-1"), encoding="latin-1"))

    # -- sessions ----------------------------------------------------------------------------

    def session_of(self, kind: SessionKind) -> Session | None:
        session: Session | None = g.session
        if session is None or session.kind != kind:
            return None
        if kind == "utilisateur" and (session.login is None or self.store.user(session.login) is None):
            return None
        return session

    def any_session(self) -> Session:
        """The visitor's session, started (anonymous) if it has none, as PHP's session_start()."""
        session: Session | None = g.session
        if session is None:
            session = g.session = g.new_session = self.sessions.start("anonyme")
        return session

    def log_in(self, kind: SessionKind, login: str) -> Session:
        # One PHPSESSID for both sides: a login ends whatever session the jar held.
        if g.session is not None:
            self.sessions.end(g.session.id)
        session = g.session = g.new_session = self.sessions.start(kind, login)
        return session

    def log_out(self, then: Callable[[], Response]) -> Response:
        if g.session is not None:
            self.sessions.end(g.session.id)
        return then()

    # -- pages and forms ---------------------------------------------------------------------

    def page(self, template: str, session: Session | None, **context: object) -> Response:
        html = render_template(
            template,
            jeton=session.jeton if session else "",
            school=self.store.school_name,
            messages=context.pop("messages", []),
            **context,
        )
        return Response(encode_page(html), content_type=f"text/html; charset={PAGE_CHARSET}")

    def before_post(self, session: Session) -> list[Message] | None:
        """Faults, then the jeton: the messages of a refused POST, or None to apply it."""
        fate = self.faults.post_fate()
        if fate == "fail":
            abort(500)
        g.lose_answer = fate == "lose"
        if self.fields().get("jeton") != session.jeton:
            return [Message.error("Jeton de formulaire invalide.")]
        return None

    def login_form(
        self, title: str, kind: SessionKind, check: Callable[[str, str], bool], landing: str
    ) -> Response:
        """A login page: the form, or on POST the session started and `landing`, or the error."""
        if request.method == "POST":
            form = self.fields()
            login = form.get("login", "")
            if check(login, form.get("motdepasse", "")):
                self.log_in(kind, login)
                return redirect(landing, 302)  # type: ignore[return-value]
            return self.page(
                "login.html",
                self.any_session(),
                title=title,
                login=login,
                messages=[Message.error("Identifiant ou mot de passe incorrect.")],
            )
        return self.page("login.html", self.any_session(), title=title, login="")

    def delete_chosen(
        self,
        session: Session,
        field: str,
        delete: Callable[[list[int | None]], list[Message]],
        none_chosen: str,
    ) -> list[Message]:
        """A list page's POST: the ids ticked in `field` deleted when the action is `supprimer`."""
        messages = self.before_post(session) or []
        if not messages and self.fields().get("action") == "supprimer":
            chosen = self.fields().getlist(field)
            messages = delete([int_or_none(v) for v in chosen]) or [Message("info", none_chosen)]
        return messages
