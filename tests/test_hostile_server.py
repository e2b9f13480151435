"""A hostile server (tests/hostile_server.py) never eats the machine, hangs a run or shows a secret.

Each case ends in a French message, well within a generous timeout that makes the test fail
instead of hang, with nothing but the login posted, and never the password in any output.
"""

from __future__ import annotations

import http.server
import os
import shutil
import ssl
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from reconcile.adapters.intrascol.client import IntraScolClient
from reconcile.core.errors import (
    AnswerLost,
    CertificateFileUnusable,
    CertificateRejected,
    CredentialsInUrl,
    ServerTooSlow,
)
from tests.hostile_server import SCHOOL, HostileServer, Hostility

PASSWORD = "Secret-de-test-7431"
GENEROUS = 60.0
"""Seconds after which a test fails instead of waiting: far above what each case takes."""
MEMORY_LIMIT_KB = 300 * 1024

# Runs a command and writes the peak memory (RSS, KB) of that command alone to a file.
_MEASURED = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def reconcile(
    url: str, *arguments: str, peak_file: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`reconcile ... --url url --login admin` in a process, the password in its environment."""
    command = [sys.executable, "-m", "reconcile", *arguments, "--url", url, "--login", "admin"]
    if peak_file is not None:
        command = [sys.executable, "-c", _MEASURED, str(peak_file), *command]
    return subprocess.run(
        command,
        env=env or {**os.environ, "INTRASCOL_PASSWORD": PASSWORD, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=GENEROUS,
        check=False,
    )


def no_secret(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert PASSWORD not in output
    assert "Traceback" not in output


def ending(action: Callable[[], object]) -> BaseException | None:
    """What `action` raised (None: nothing), failing the test if it has not ended in `GENEROUS` s."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GENEROUS)
    assert not thread.is_alive(), f"still running after {GENEROUS} s"
    return raised[0] if raised else None


def client(url: str, **settings: object) -> IntraScolClient:
    return IntraScolClient(url, "admin", PASSWORD, timeout=5, backoff=0.01, **settings)  # type: ignore[arg-type]


# --- reads bounded in size and time ----------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="peak memory read with resource (RUSAGE_CHILDREN)")
def test_an_endless_page_stops_at_the_page_limit_in_french_under_300_mb(tmp_path: Path) -> None:
    peak = tmp_path / "peak"
    with HostileServer(Hostility(endless_index=True)) as server:
        result = reconcile(server.url, "info", peak_file=peak)
    assert result.returncode == 3, result.stderr
    message = " ".join(result.stderr.split())
    assert "admin/index.php" in message
    assert "dépasse 16 Mo" in message
    assert "lecture arrêtée" in message
    no_secret(result)
    assert server.seen.posts() == ["admin/login.php"]
    assert int(peak.read_text()) < MEMORY_LIMIT_KB


def test_a_dripping_page_ends_at_the_total_deadline_not_per_read() -> None:
    # A byte every 0.2 s never reaches the 5 s read timeout: only a total deadline ends it.
    with HostileServer(Hostility(drip_index=True)) as server:
        error = ending(lambda: client(server.url, deadline=2).info())
    assert isinstance(error, ServerTooSlow)
    assert "admin/index.php" in error.message
    assert "en 2 s (délai total d'une requête)" in error.message
    assert server.seen.posts() == ["admin/login.php"]


def test_a_dripping_answer_to_a_post_is_a_lost_answer_never_sent_again() -> None:
    with HostileServer(Hostility(drip_post=True)) as server:
        connected = client(server.url, deadline=2)
        error = ending(lambda: connected.create_class("CM2", "admin"))
    assert isinstance(error, AnswerLost)  # the caller re-reads the server, as for any lost answer
    assert "pas de réponse complète en 2 s" in error.message
    assert server.seen.posts() == ["admin/login.php", "admin/ajout_classe.php"]


def test_the_page_limit_is_far_above_the_pages_of_a_large_school() -> None:
    from reconcile.adapters.intrascol.bounded import PAGE_LIMIT

    # Measured on the sandbox for 2,000 pupils in 80 classes: 34 KB (50 users), 32 KB (the classes).
    assert PAGE_LIMIT >= 100 * 100 * 1024


# --- bad redirections, nasty names ------------------------------------------------------------


@pytest.mark.parametrize("location", ["http://[invalide/admin/", "http://serveur:99999/admin/", "ftp://x/"])
def test_a_malformed_location_on_the_login_answer_is_a_french_error_without_the_password(
    location: str,
) -> None:
    with HostileServer(Hostility(bad_location=location)) as server:
        result = reconcile(server.url, "info")
    assert result.returncode == 3, result.stderr
    assert "redirection vers une adresse invalide" in " ".join(result.stderr.split())
    no_secret(result)
    assert server.seen.posts() == ["admin/login.php"]


def test_a_malformed_location_after_a_post_is_a_lost_answer_never_sent_again() -> None:
    with HostileServer(Hostility(bad_post_location="http://[invalide/")) as server:
        error = ending(lambda: client(server.url).create_class("CM2", "admin"))
    assert isinstance(error, AnswerLost)  # applied or not: the caller re-reads the server
    assert "redirection vers une adresse invalide" in error.message
    assert server.seen.posts() == ["admin/login.php", "admin/ajout_classe.php"]


def test_a_nasty_school_name_neither_crashes_info_nor_shows_the_password() -> None:
    nasty = "[link=http://x]École[/link] [/x] \x01 \x1b[31mrouge"
    with HostileServer(Hostility(school=nasty)) as server:
        result = reconcile(server.url, "info")
    assert result.returncode == 0, result.stderr
    assert "École" in result.stdout
    no_secret(result)
    assert server.seen.posts() == ["admin/login.php"]


# --- secrets ----------------------------------------------------------------------------------


def test_a_url_holding_credentials_is_refused_without_repeating_them() -> None:
    result = reconcile(f"http://admin:{PASSWORD}@127.0.0.1:9/intrascol/", "info")
    assert result.returncode == 3
    message = " ".join(result.stderr.split())
    assert "contient un identifiant ou un mot de passe" in message
    assert "http://127.0.0.1:9/intrascol/" in message
    no_secret(result)
    for odd in ("p/w", "p@w", "p:w?x#y"):
        with pytest.raises(CredentialsInUrl) as refused:
            IntraScolClient(f"https://admin:{odd}@ecole.example:8443/intrascol/", "admin", "x")
        assert odd not in refused.value.message
        assert "https://ecole.example:8443/intrascol/," in refused.value.message


def test_plain_http_to_another_machine_warns_once_that_the_password_travels_in_clear() -> None:
    # No terminal and no password: refused right after the warning, before any connection.
    environment = {k: v for k, v in os.environ.items() if k != "INTRASCOL_PASSWORD"}
    result = reconcile("http://ecole.example/intrascol/", "info", env={**environment, "COLUMNS": "200"})
    message = " ".join(result.stderr.split())
    assert message.count("n'est pas chiffrée") == 1
    assert "passent en clair" in message
    assert "--adresse https://ecole.example/intrascol/" in message
    assert result.returncode == 1


def test_plain_http_on_loopback_does_not_warn() -> None:
    with HostileServer(Hostility()) as server:
        result = reconcile(server.url, "info")
    assert result.returncode == 0, result.stderr
    assert "chiffrée" not in result.stderr


# --- a school's own certificate ---------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    """A self-signed certificate for localhost and 127.0.0.1 (its key beside it, `.key`)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "ecole.pem", tmp_path / "ecole.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=GENEROUS,
    )  # fmt: skip
    return cert


def tls(certificate: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, certificate.with_suffix(".key"))
    return context


def test_a_self_signed_certificate_is_said_as_such_and_trusted_with_certificat_ac(certificate: Path) -> None:
    with HostileServer(Hostility(), tls=tls(certificate)) as server:
        refused = reconcile(server.url, "info")
        trusted = reconcile(server.url, "info", "--certificat-ac", str(certificate))
        alias = reconcile(server.url, "info", "--ca-bundle", str(certificate))
        from_environment = reconcile(
            server.url,
            "info",
            env={**os.environ, "INTRASCOL_PASSWORD": PASSWORD, "INTRASCOL_CA_BUNDLE": str(certificate)},
        )
    assert refused.returncode == 3
    message = " ".join(refused.stderr.split())
    assert "certificat HTTPS du serveur" in message
    assert "n'est pas reconnu" in message
    assert "--certificat-ac FICHIER" in message
    assert "allumé" not in message
    no_secret(refused)
    for result in (trusted, alias, from_environment):
        assert result.returncode == 0, result.stderr
        assert SCHOOL in result.stdout
        no_secret(result)


def test_the_certificate_check_refuses_before_the_login_is_posted(certificate: Path) -> None:
    with HostileServer(Hostility(), tls=tls(certificate)) as server:
        error = ending(client(server.url).log_in)
        assert ending(client(server.url, ca_bundle=str(certificate)).log_in) is None
    assert isinstance(error, CertificateRejected)
    assert "self-signed" in error.detail
    assert server.seen.posts() == ["admin/login.php"]  # the trusted one only


def test_an_unusable_certificate_file_is_refused_before_any_connection(tmp_path: Path) -> None:
    not_a_certificate = tmp_path / "ecole.pem"
    not_a_certificate.write_text("pas un certificat")
    for path in (not_a_certificate, tmp_path / "absent.pem"):
        with pytest.raises(CertificateFileUnusable, match="--certificat-ac"):
            IntraScolClient("https://127.0.0.1:9/", "admin", "x", ca_bundle=str(path))


def test_a_streamed_file_is_checked_with_the_schools_certificate_too(
    certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A class folder's file comes over the same HTTPS as the pages: --certificat-ac holds for it,
    even where REQUESTS_CA_BUNDLE names another authority (requests would let it win)."""
    import certifi

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with HostileServer(Hostility(), tls=tls(certificate)) as server:
        connection = client(server.url, ca_bundle=str(certificate))._admin
        with connection.stream(connection.absolute("admin/index.php")) as response:
            assert SCHOOL.encode("latin-1") in response.raw.read(100_000, decode_content=True)


def test_the_environments_certificate_authority_is_trusted_without_certificat_ac(certificate: Path) -> None:
    """REQUESTS_CA_BUNDLE, read once per session (requests' own rule), still counts."""
    with HostileServer(Hostility(), tls=tls(certificate)) as server:
        environment = {**os.environ, "INTRASCOL_PASSWORD": PASSWORD, "REQUESTS_CA_BUNDLE": str(certificate)}
        result = reconcile(server.url, "info", env=environment)
    assert result.returncode == 0, result.stderr
    assert SCHOOL in result.stdout


class _ForwardProxy(http.server.ThreadingHTTPServer):
    """An HTTP proxy on loopback: forwards each request to the URL its request line names."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Forwarding)
        self.forwarded: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forwarding(http.server.BaseHTTPRequestHandler):
    def _forward(self) -> None:
        assert isinstance(self.server, _ForwardProxy)
        self.server.forwarded.append(f"{self.command} {urllib.parse.urlsplit(self.path).path}")
        length = int(self.headers.get("Content-Length") or 0)
        hop_by_hop = ("proxy-connection", "connection")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in hop_by_hop}
        answer = requests.request(
            self.command,
            self.path,
            data=self.rfile.read(length) if length else None,
            headers=headers,
            allow_redirects=False,
            timeout=30,
            proxies={"http": "", "https": ""},
        )
        body = answer.content
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _forward

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("bypassed", [False, True])
def test_the_environments_http_proxy_is_used_unless_no_proxy_names_the_server(bypassed: bool) -> None:
    """HTTP_PROXY and NO_PROXY, read once per session (requests' own rules), still count."""
    proxy = _ForwardProxy()
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        with HostileServer(Hostility()) as server:
            environment = {
                **{k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
                "INTRASCOL_PASSWORD": PASSWORD,
                "HTTP_PROXY": proxy.url,
                "NO_PROXY": "127.0.0.1" if bypassed else "",
            }
            result = reconcile(server.url, "info", env=environment)
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert result.returncode == 0, result.stderr
    assert SCHOOL in result.stdout
    if bypassed:
        assert proxy.forwarded == []
    else:
        assert "POST /intrascol/admin/login.php" in proxy.forwarded
        assert "GET /intrascol/admin/index.php" in proxy.forwarded


def test_the_diagnostic_says_a_refused_certificate_in_french(certificate: Path) -> None:
    """Its first request, made without a session, goes through the same French errors as the others."""
    with HostileServer(Hostility(), tls=tls(certificate)) as server:
        result = reconcile(server.url, "diagnostic")
    assert result.returncode == 3, result.stderr
    message = " ".join(result.stderr.split())
    assert "certificat HTTPS du serveur" in message
    assert "--certificat-ac FICHIER" in message
    assert "Traceback" not in result.stderr
    no_secret(result)


def test_the_diagnostic_says_a_redirection_to_no_address_in_french() -> None:
    with HostileServer(Hostility(bad_index_location="http://[invalide/")) as server:
        result = reconcile(server.url, "diagnostic")
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "redirection" in " ".join(result.stderr.split())
    no_secret(result)
