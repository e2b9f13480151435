"""The IntraScol pages, as a Flask application under `/intrascol/`.

Implements `INTERFACE.md`: a PHP-style `PHPSESSID` session shared by the admin side
(`admin.py`) and the users' side (`users.py`), one `jeton` per session, ISO-8859-1
pages and forms, and the faults a school's small server shows (slowness, `500`, lost
answers). What both sides share is in `plumbing.py`.
"""

from __future__ import annotations

import time

from flask import Flask, Response, abort, g, request
from werkzeug.exceptions import HTTPException

from reconcile.sandbox.admin import register_admin_pages
from reconcile.sandbox.faults import Faults
from reconcile.sandbox.plumbing import BASE, COOKIE, Site, redirect_to
from reconcile.sandbox.sessions import Clock, Sessions
from reconcile.sandbox.store import Store
from reconcile.sandbox.text import PAGE_CHARSET, encode_page
from reconcile.sandbox.users import register_user_pages

LOSE_ANSWER_HOOK = "reconcile.sandbox.lose_answer"
"""WSGI environ key of a callable, set by the sandbox's request handler, that drops the answer."""


def create_app(store: Store, faults: Faults, clock: Clock) -> Flask:
    """The IntraScol web application over `store`; its sessions' idle time is counted on `clock`."""
    app = Flask(__name__, static_url_path=f"{BASE}/static")
    sessions = Sessions(lambda: faults.session_idle_seconds, clock)
    site = Site(store, faults, sessions)

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

    @app.get("/")
    def _root() -> Response:
        return redirect_to("")

    @app.get(f"{BASE}/")
    @app.get(f"{BASE}/index.php")
    def home() -> Response:
        return site.page("accueil.html", site.any_session())

    register_admin_pages(app, site)
    register_user_pages(app, site)
    return app
