"""A hostile users' side of IntraScol on loopback: listings that lie, downloads that never end or drip.

Only what the class folder workaround reads on the users' side: the login, `partages.php`
(one folder), `partages.php?dossier=1` (its files, with the size each announces) and
`telecharger.php?fichier=N`, whose body a test chooses (`endless`, `drip`, `generated`).
Every POST other than the login is counted in `deletions`: nothing may be deleted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CHUNK = 64 * 1024
PATTERN = bytes(range(256)) * 64  # 16 Kio, compresses well: the zip costs little CPU


@dataclass
class HostileFile:
    path: str
    listed_size: int
    body: Callable[[], Iterator[bytes]]


@dataclass
class HostileServer:
    url: str
    files: dict[str, HostileFile]
    deletions: list[str] = field(default_factory=list)


def endless() -> Iterator[bytes]:
    """Bytes for ever (until the client hangs up)."""
    while True:
        yield PATTERN


def generated(size: int) -> Callable[[], Iterator[bytes]]:
    """Exactly `size` bytes, made as they are sent (the server holds none of them)."""

    def body() -> Iterator[bytes]:
        left = size
        while left > 0:
            yield PATTERN[: min(left, len(PATTERN))]
            left -= len(PATTERN)

    return body


def drip(every: float = 0.05) -> Callable[[], Iterator[bytes]]:
    """One byte at a time, `every` seconds apart, until the client hangs up: each read sees a
    byte, so a per-read timeout never fires (the pace of a hostile server, not a test's wait)."""

    def body() -> Iterator[bytes]:
        pace = threading.Event()  # never set
        while not pace.wait(every):
            yield b"x"

    return body


def _page(title: str, content: str) -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body>{content}</body></html>"
    ).encode()


@contextmanager
def hostile_users_side(files: dict[str, HostileFile]) -> Iterator[HostileServer]:
    """Serve `files` (by id) in one folder named `CM2`, on a free loopback port."""
    state = HostileServer("", files)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return None

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("ascii")
            if self.path.endswith("login.php"):
                self._send(302, headers={"Location": "partages.php", "Set-Cookie": "PHPSESSID=h; path=/"})
                return
            state.deletions.append(body)
            self._send(403, _page("Refusé", "<p>Non.</p>"))

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path.endswith("partages.php") and "dossier" not in query:
                folders = (
                    '<ul id="partages"><li class="dossier"><a href="partages.php?dossier=1">CM2</a></li></ul>'
                )
                self._send(200, _page("Mes partages", folders), {"Content-Type": "text/html; charset=utf-8"})
            elif url.path.endswith("partages.php"):
                rows = "".join(
                    f'<tr class="fichier"><td><input type="checkbox" name="fichiers[]" value="{file_id}">'
                    "</td>"
                    f'<td class="chemin">{escape(f.path)}</td><td class="taille">{f.listed_size}</td></tr>'
                    for file_id, f in files.items()
                )
                table = f'<table id="fichiers"><tbody>{rows}</tbody></table>'
                self._send(200, _page("Dossier CM2", table), {"Content-Type": "text/html; charset=utf-8"})
            elif url.path.endswith("telecharger.php") and query.get("fichier", [""])[0] in files:
                self._stream(files[query["fichier"][0]])
            else:
                self._send(404, _page("Introuvable", "<p>404</p>"))

        def _stream(self, shared: HostileFile) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in shared.body():
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: what it should do
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/intrascol/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
