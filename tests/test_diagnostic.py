"""`reconcile diagnostic` against the sandbox, and against variants of it served by the tests.

A variant is the sandbox behind a small reverse proxy that rewrites its HTML (one element
missing or changed each) and counts every request it forwards: the diagnostic must name
what differs, exit 1, and post nothing but the logins.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import stat
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from reconcile.adapters.intrascol.capture import Anonymiser, Secrets, write_capture
from reconcile.adapters.intrascol.diagnostic import diagnose
from reconcile.adapters.intrascol.page_checks import Status
from reconcile.core.model import SchoolClass, User, UserType
from reconcile.sandbox import RunningSandbox
from tests.alt_server import SCHOOL, AltServer, alt_school
from tests.capture_to_fixtures import convert, read_fixture

Rewrite = Callable[[str, str], str]
"""(path, page text) -> the page the variant serves."""

LOGIN_PATHS = {"/intrascol/admin/login.php", "/intrascol/login.php"}


class Variant:
    """A WSGI reverse proxy to a sandbox that rewrites its HTML pages and keeps every request."""

    def __init__(self, target: str, rewrite: Rewrite) -> None:
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.rewrite = rewrite
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        with self._lock:
            self.requests.append((method, path))
        query = environ.get("QUERY_STRING")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        forwarded = (("Cookie", "HTTP_COOKIE"), ("Content-Type", "CONTENT_TYPE"))
        headers = {name: environ[key] for name, key in forwarded if environ.get(key)}
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            connection.request(
                method, path + (f"?{query}" if query else ""), body=body or None, headers=headers
            )
            answer = connection.getresponse()
            data = answer.read()
        finally:
            connection.close()
        if "text/html" in (answer.getheader("Content-Type") or ""):
            data = self.rewrite(path, data.decode("latin-1")).encode("latin-1")
        kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("content-length", "connection")]
        start_response(f"{answer.status} {answer.reason}", [*kept, ("Content-Length", str(len(data)))])
        return [data]

    @property
    def posts(self) -> list[str]:
        return [path for method, path in self.requests if method == "POST"]


@contextmanager
def serve_variant(sandbox: RunningSandbox, rewrite: Rewrite) -> Iterator[tuple[str, Variant]]:
    """The variant's base URL (same paths as the sandbox, another port) and the proxy."""
    variant = Variant(sandbox.url, rewrite)
    server = make_server("127.0.0.1", 0, variant, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}/intrascol/", variant
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_command(sandbox: RunningSandbox, url: str, *arguments: str, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "reconcile", *arguments, "--url", url, "--login", sandbox.admin_login],
        env={**os.environ, "INTRASCOL_PASSWORD": sandbox.admin_password, "COLUMNS": "400"},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def unchanged(path: str, text: str) -> str:
    return text


def row(output: str, *snippets: str) -> str:
    """The table's row holding every snippet, its lines joined (COLUMNS=400: few wrapped cells)."""
    rows, current = [], []
    for line in output.splitlines():
        if line.startswith(("├", "└", "┡")):
            rows.append(" ".join(current))
            current = []
        elif line.startswith("│"):
            current.append(line)
    found = [r for r in rows if all(s in r for s in snippets)]
    assert found, f"no row with {snippets} in:\n{output}"
    return found[0]


def test_the_sandbox_is_compatible_and_only_the_logins_are_posted(sandbox: RunningSandbox) -> None:
    before = sandbox.store.snapshot()
    with serve_variant(sandbox, unchanged) as (url, variant):
        result = run_command(sandbox, url, "diagnostic")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verdict : compatible" in result.stdout
    for element in ('<form id="form-classes">', '<div id="pagination">', 'name="jeton"', 'class="erreur"'):
        assert "trouvé" in row(result.stdout, element)
    assert " absent " not in result.stdout
    assert " différent " not in result.stdout
    assert variant.posts.count("/intrascol/admin/login.php") == 1
    assert set(variant.posts) <= LOGIN_PATHS, variant.posts
    assert sandbox.store.snapshot() == before
    assert sandbox.admin_password not in result.stdout + result.stderr


def test_a_school_without_users_or_classes_is_compatible(empty_sandbox: RunningSandbox) -> None:
    result = diagnose(empty_sandbox.url, empty_sandbox.admin_login, empty_sandbox.admin_password)
    assert result.compatible, result.failures
    unchecked = {check.element for check in result.checks if check.status is Status.UNCHECKED}
    assert any("pagination" in element for element in unchecked)  # one page only: said, not failed


def _rename_responsible(path: str, text: str) -> str:
    return (
        text.replace('name="responsable"', 'name="enseignant"') if path.endswith("ajout_classe.php") else text
    )


def _without_jeton(path: str, text: str) -> str:
    return re.sub(r'<input type="hidden" name="jeton" value="[^"]*">', "", text)


def _other_pagination(path: str, text: str) -> str:
    return text.replace('class="suivante"', 'class="page-suivante"')


def _other_message_class(path: str, text: str) -> str:
    return text.replace('class="erreur"', 'class="alerte"')


@pytest.mark.parametrize(
    ("rewrite", "element", "status", "seen"),
    [
        (_rename_responsible, '<form id="form-ajout-classe">', "différent", "champ « responsable » absent"),
        (_without_jeton, 'name="jeton"', "absent", "admin/classes.php"),
        (_other_pagination, '<div id="pagination">', "différent", 'class="page-suivante"'),
        (_other_message_class, 'class="erreur"', "différent", 'class="alerte"'),
    ],
    ids=["champ-renomme", "sans-jeton", "autre-pagination", "autre-classe-de-message"],
)
def test_a_variant_is_reported_by_the_element_that_differs(
    sandbox: RunningSandbox, rewrite: Rewrite, element: str, status: str, seen: str
) -> None:
    before = sandbox.store.snapshot()
    with serve_variant(sandbox, rewrite) as (url, variant):
        result = run_command(sandbox, url, "diagnostic")
    assert result.returncode == 1, result.stdout + result.stderr
    line = row(result.stdout, element, f" {status} ")
    assert seen in line
    assert "Verdict : NON compatible (1 élément absent ou différent)" in result.stdout
    assert set(variant.posts) <= LOGIN_PATHS, variant.posts
    assert sandbox.store.snapshot() == before


def test_the_consequence_for_the_rentree_is_said(sandbox: RunningSandbox) -> None:
    def no_delete_button(path: str, text: str) -> str:
        if not path.endswith("classes.php"):
            return text
        return text.replace('name="action" value="supprimer"', 'name="faire" value="supprimer"')

    with serve_variant(sandbox, no_delete_button) as (url, _):
        result = run_command(sandbox, url, "diagnostic")
    assert result.returncode == 1
    line = row(result.stdout, '<form id="form-classes">')
    assert "la suppression des classes ne pourra pas se faire automatiquement" in line


def _unknown_version(path: str, text: str) -> str:
    return text.replace('<span id="version">0.1.7a</span>', '<span id="version">0.2.0</span>')


def test_an_unknown_version_is_said_by_info_export_and_diagnostic(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    with serve_variant(sandbox, _unknown_version) as (url, _):
        info = run_command(sandbox, url, "info")
        export = run_command(sandbox, url, "export", "-o", str(tmp_path / "rentree.xlsx"))
        diagnostic = run_command(sandbox, url, "diagnostic")
    for command in (info, export):
        assert command.returncode == 0, command.stderr
        said = " ".join(command.stdout.split())
        assert "La version d'IntraScol « 0.2.0 » n'est pas une de celles que reconcile connaît" in said
        assert "lancez « reconcile diagnostic »" in said
    assert diagnostic.returncode == 0  # every element is there: an unknown version alone is no failure
    assert "différent" in row(diagnostic.stdout, "une version connue")
    assert "« 0.2.0 » n'est pas une de celles que reconcile connaît" in diagnostic.stdout


def test_a_web_server_that_is_not_intrascol_is_not_compatible(sandbox: RunningSandbox) -> None:
    def not_found(environ: dict, start_response: Callable) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/html")])
        return [b"<html><body><h1>Not Found</h1></body></html>"]

    server = make_server("127.0.0.1", 0, not_found, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        result = run_command(sandbox, f"http://127.0.0.1:{server.port}/intrascol/", "diagnostic")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "absent" in row(result.stdout, '<form id="connexion">')
    assert "différent" in row(result.stdout, "la connexion")
    assert "Verdict : NON compatible" in result.stdout


# --- The capture -------------------------------------------------------------------------


def school_values(sandbox: RunningSandbox) -> set[str]:
    """Every name of the sandbox's school: users' names, logins, passwords, classes, folders, files."""
    store = sandbox.store
    values = {store.school_name, sandbox.admin_password}
    for user in store.users():
        values |= {user.login, user.first_name, user.last_name, user.password}
    values |= {c.name for c in store.classes()}
    for folder in store.folders():
        values.add(folder.name)
        for shared in store.files_in(folder.id):
            values |= {shared.path, *shared.path.split("/")}
    return values


def survivors(capture: Path, values: set[str]) -> list[tuple[str, str]]:
    found = []
    with zipfile.ZipFile(capture) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            text = html.unescape(data.decode("latin-1" if name.endswith(".html") else "utf-8"))
            found += [
                (name, v) for v in values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text, re.IGNORECASE)
            ]
    return found


def test_the_capture_holds_every_page_and_no_name_of_the_school(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    capture = tmp_path / "diagnostic.zip"
    result = run_command(sandbox, sandbox.url, "diagnostic", "--capture", str(capture))
    assert result.returncode == 0, result.stdout + result.stderr
    said = " ".join(result.stdout.split())
    assert f"Capture écrite : {capture}" in said
    assert "remplacé par un pseudonyme" in said
    assert stat.S_IMODE(capture.stat().st_mode) == 0o600
    with zipfile.ZipFile(capture) as archive:
        names = archive.namelist()
        index = json.loads(archive.read("pages.json"))
        table = archive.read("diagnostic.txt").decode()
        page = archive.read(next(n for n in names if n.endswith("admin_utilisateurs.php.html"))).decode(
            "latin-1"
        )
    assert {"LISEZMOI.txt", "diagnostic.txt", "pages.json"} <= set(names)
    assert {entry["page"] for entry in index} >= {"admin/index.php", "admin/classes.php", "partages.php"}
    assert "Verdict : compatible" in table
    assert "Set-Cookie" not in json.dumps(index)
    assert "PHPSESSID" not in json.dumps(index)
    # The structure stays: the same pseudonym for the same login in the checkbox and the cell.
    first = re.search(r'name="utilisateurs\[\]" type="checkbox" value="([^"]+)"', page)
    assert first is not None
    assert f'<td class="login">{first.group(1)}</td>' in page
    assert survivors(capture, school_values(sandbox)) == []


def test_a_capture_of_a_server_the_readers_cannot_read_still_hides_the_names(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    def other_users_table(path: str, text: str) -> str:
        return text.replace('<table id="utilisateurs">', '<table id="comptes">')

    capture = tmp_path / "capture.zip"
    with serve_variant(sandbox, other_users_table) as (url, _):
        result = run_command(sandbox, url, "diagnostic", "--capture", str(capture))
    assert result.returncode == 1
    assert "absent" in row(result.stdout, '<table id="utilisateurs">')
    assert survivors(capture, school_values(sandbox)) == []


def test_a_capture_becomes_parser_fixtures(sandbox: RunningSandbox, tmp_path: Path) -> None:
    capture = tmp_path / "capture.zip"
    run = run_command(sandbox, sandbox.url, "diagnostic", "--capture", str(capture))
    assert run.returncode == 0
    folder = convert(capture, "essai", tmp_path / "captures")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert {entry["reader"] for entry in manifest} == {
        "is_login_form", "server_info", "classes", "users_page", "folders", "files"
    }  # fmt: skip
    read = {entry["file"]: read_fixture(folder, entry) for entry in manifest}  # no reader raises
    assert all(read[e["file"]] is True for e in manifest if e["reader"] == "is_login_form")
    listed = [e for e in manifest if e["reader"] == "users_page" and "classe=" not in e["page"]]
    assert len(listed) == 2  # two pages of the users' list are enough: one with a next page, the next
    assert read[listed[0]["file"]].next_url is not None
    assert all(len(read[e["file"]].users) == 50 for e in listed)


def test_the_second_server_is_compatible_and_its_capture_hides_its_school(tmp_path: Path) -> None:
    # The contract implemented otherwise (tests/alt_server.py): the diagnostic relies on it alone.
    with AltServer(alt_school()) as alt:
        result = diagnose(alt.url, alt.admin_login, alt.admin_password)
        assert result.compatible, result.failures
        capture = tmp_path / "alt.zip"
        write_capture(capture, pages=result.pages, secrets=result.secrets, checks=result.checks, summary="")
        state = alt.state
        values = {SCHOOL, alt.admin_login, alt.admin_password}
        for user in (u for u in state.users.values() if u.login != alt.admin_login):  # « Direction École »
            values |= {user.login, user.first_name, user.last_name, user.password}
        values |= {c.name for c in state.classes.values()} | set(state.folders.values())
        for shared in state.files.values():
            values |= set(shared.path.split("/"))
    assert survivors(capture, values) == []


# --- The anonymiser alone -------------------------------------------------------------------


def test_the_same_value_gets_the_same_pseudonym_and_the_markup_stays() -> None:
    secrets = Secrets(admin_login="direction", admin_password="Secret-1", tokens={"abc123"})
    secrets.add_user(User("lukasz.kowalski", "Kowalski", "Łukasz", UserType.PUPIL, 4, "tigre42"))
    secrets.add_class(SchoolClass(4, "CE2 Écureuils", "mdupont", "Marie DUPONT", 1))
    anonymiser = Anonymiser(secrets)
    page = (
        '<p class="nom">Connecté : &#321;ukasz KOWALSKI (lukasz.kowalski)</p>'
        '<td class="classe" data-id="4">CE2  Écureuils</td><input name="jeton" value="abc123">'
        '<a href="utilisateurs.php?classe=4&amp;qui=lukasz.kowalski">ce2 écureuils</a>'
        "<button onclick=\"confirm('Supprimer Kowalski ?')\">Supprimer</button> Zébulon direction"
    ).encode("latin-1")
    out = anonymiser.page(page, "text/html; charset=ISO-8859-1").decode("latin-1")
    for secret in ("ukasz", "Kowalski", "KOWALSKI", "lukasz", "Écureuils", "abc123", "direction", "Zébulon"):
        assert secret.casefold() not in html.unescape(out).casefold(), (secret, out)
    login = re.search(r"\((identifiant-\d+)\)", out)
    assert login is not None
    assert f"qui={login.group(1)}" in out  # the same login, the same pseudonym, in a link too
    assert out.count("Classe-1") == 2  # `CE2  Écureuils` and `ce2 écureuils`: one class
    assert '<p class="nom">' in out
    assert '<td class="classe" data-id="4">' in out
    assert 'value="jeton-retire"' in out
    assert "admin-retire" in out


@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=ISO-8859-1", "text/html; charset=windows-1252", "text/html; charset=US-ASCII"],
)
def test_pages_in_a_charset_the_client_reads_as_iso_8859_1_pass_the_encoding_check(content_type: str) -> None:
    from reconcile.adapters.intrascol.page_checks import encoding_check

    check = encoding_check([("admin/index.php", content_type, "<p>École</p>".encode("latin-1", "replace"))])
    assert check.status is Status.FOUND, check.detail


def test_a_page_in_utf_8_fails_the_encoding_check() -> None:
    from reconcile.adapters.intrascol.page_checks import encoding_check

    check = encoding_check([("admin/index.php", "text/html; charset=UTF-8", "<p>École</p>".encode())])
    assert check.status is Status.DIFFERENT
    assert "admin/index.php : utf-8" in check.detail
