"""The sandbox seen from outside: raw HTTP with `requests`, as a browser or a client would."""

from __future__ import annotations

from urllib.parse import urlencode

import requests
from bs4 import BeautifulSoup

from reconcile.sandbox import RunningSandbox


def browser_encode(fields: list[tuple[str, str]]) -> bytes:
    """A form body as a browser sends a Latin-1 form: other characters as `&#NNN;`."""
    return urlencode(
        [(name, value.encode("latin-1", errors="xmlcharrefreplace")) for name, value in fields]
    ).encode("ascii")


def parse(response: requests.Response) -> BeautifulSoup:
    return BeautifulSoup(response.content.decode("latin-1"), "html.parser")


def messages(response: requests.Response) -> list[tuple[str, str]]:
    page = parse(response)
    return [(p["class"][0], p.get_text()) for p in page.select("p.succes, p.erreur")]


def admin_session(sb: RunningSandbox) -> requests.Session:
    session = requests.Session()
    answer = session.post(
        sb.url + "admin/login.php",
        data={"login": sb.admin_login, "motdepasse": sb.admin_password},
        allow_redirects=False,
    )
    assert answer.status_code == 302
    return session


def jeton_of(session: requests.Session, url: str) -> str:
    page = parse(session.get(url))
    field = page.find("input", attrs={"name": "jeton"})
    assert field is not None
    return str(field["value"])


def post_form(
    session: requests.Session, url: str, fields: list[tuple[str, str]], *, jeton: str | None = None
) -> requests.Response:
    """Posts with the session's jeton (read from the page itself unless given)."""
    token = jeton if jeton is not None else jeton_of(session, url)
    return session.post(
        url,
        data=browser_encode([*fields, ("jeton", token)]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
    )


def test_admin_pages_redirect_to_login_until_logged_in(sandbox: RunningSandbox) -> None:
    anonymous = requests.Session()
    answer = anonymous.get(sandbox.url + "admin/classes.php", allow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/intrascol/admin/login.php")

    session = admin_session(sandbox)
    index = session.get(sandbox.url + "admin/index.php")
    assert index.headers["Content-Type"] == "text/html; charset=ISO-8859-1"
    page = parse(index)
    assert page.select_one("span#version").get_text() == "0.1.7a"
    assert page.select_one("span#ecole").get_text().startswith("École élémentaire")
    assert page.select_one("body > ul#menu") is not None
