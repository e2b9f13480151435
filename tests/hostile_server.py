"""A hostile IntraScol server for tests, on loopback: it accepts the login, then misbehaves.

`HostileServer(Hostility)` serves, under `/intrascol/`, just enough of the contract for
`reconcile info` (login, `admin/index.php`, the classes, the users, a form's `jeton`)
and, as asked, an endless `admin/index.php`, one that drips a byte at a time, a POST
answer that drips, a malformed `Location` on the login answer or a form's, and nasty names. It
records every request, so that a test can check nothing but the login was posted, and
serves HTTPS with a certificate given (`tls`). Standard library only.
"""

from __future__ import annotations

import html
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

BASE = "/intrascol/"
SCHOOL = "École hostile"
FILLER = b"<p>" + b"x" * 65_536 + b"</p>\n"


@dataclass(frozen=True)
class Hostility:
    """What goes wrong: each flag one misbehaviour; none: a tiny, well-behaved server."""

    endless_index: bool = False
    drip_index: bool = False
    drip_post: bool = False
    bad_location: str | None = None
    bad_post_location: str | None = None
    bad_index_location: str | None = None  # GET admin/index.php redirected there
    school: str = SCHOOL
    drip_every: float = 0.2


@dataclass
class Seen:
    """The requests received: (method, path), in order."""

    requests: list[tuple[str, str]] = field(default_factory=list)

    def posts(self) -> list[str]:
        return [path for method, path in self.requests if method == "POST"]


class HostileServer:
    """The server in a thread of its own; a context manager that stops it and ends its answers."""

    def __init__(self, hostility: Hostility, *, tls: ssl.SSLContext | None = None) -> None:
        self.hostility = hostility
        self.seen = Seen()
        self.stopping = threading.Event()
        self._http = _QuietServer(("127.0.0.1", 0), _Handler)
        self._http.daemon_threads = True
        self._http.owner = self  # type: ignore[attr-defined]
        if tls is not None:
            self._http.socket = tls.wrap_socket(self._http.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        host = "localhost" if tls is not None else "127.0.0.1"
        self.url = f"{scheme}://{host}:{self._http.server_address[1]}{BASE}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stopping.set()
        self._http.shutdown()
        self._http.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client refusing the certificate, or giving up: expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # quiet
        pass

    @property
    def owner(self) -> HostileServer:
        return self.server.owner  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer("POST")

    def _answer(self, method: str) -> None:
        path = self.path.split("?", 1)[0].removeprefix(BASE)
        self.owner.seen.requests.append((method, path))
        hostility = self.owner.hostility
        try:
            if path == "admin/login.php" and method == "POST":
                self._redirect(hostility.bad_location or f"{BASE}admin/index.php")
            elif method == "POST" and hostility.bad_post_location is not None:
                self._redirect(hostility.bad_post_location)
            elif path == "admin/index.php" and hostility.bad_index_location is not None:
                self._redirect(hostility.bad_index_location)
            elif path == "admin/index.php" and hostility.endless_index:
                self._endless()
            elif (path == "admin/index.php" and hostility.drip_index) or (
                method == "POST" and hostility.drip_post
            ):
                self._drip()
            elif path == "admin/index.php":
                school = html.escape(hostility.school)
                self._page(f'<span id="version">1.0</span><span id="ecole">{school}</span>')
            elif path == "admin/classes.php":
                self._page('<table id="classes"></table>')
            elif path == "admin/utilisateurs.php":
                self._page('<table id="utilisateurs"></table>')
            elif path == "admin/ajout_classe.php":
                self._page('<form><input name="jeton" value="jeton-1"></form>')
            else:
                self._page("<p>Page inconnue</p>", status=404)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass  # the client gave up: what the tests want

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _page(self, body: str, status: int = 200) -> None:
        data = f"<html><body>{body}</body></html>".encode("latin-1", "xmlcharrefreplace")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=iso-8859-1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _endless(self) -> None:
        """A page without end, as fast as the client reads it (no length, the connection never closed)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=iso-8859-1")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"<html><body>")
        while not self.owner.stopping.is_set():
            self.wfile.write(FILLER)

    def _drip(self) -> None:
        """A page announced whole, sent one byte at a time, never faster than a read timeout."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=iso-8859-1")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        while not self.owner.stopping.wait(self.owner.hostility.drip_every):
            self.wfile.write(b"x")
            self.wfile.flush()
