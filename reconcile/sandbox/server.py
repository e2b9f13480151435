"""Running the sandbox: a threaded werkzeug server in a background thread.

A lost answer is produced by the request handler below: the application applies
the POST, then calls the hook that this handler put in the WSGI environ; the
handler swaps its output stream for a sink and closes the connection, so the
client sees the connection end without a single byte of answer (a
`RemoteDisconnected`, which `requests` raises as a `ConnectionError`).
"""

from __future__ import annotations

import io
import ipaddress
import os
import signal
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from reconcile.sandbox.app import LOSE_ANSWER_HOOK, create_app
from reconcile.sandbox.faults import Faults
from reconcile.sandbox.plumbing import BASE
from reconcile.sandbox.sessions import Clock
from reconcile.sandbox.store import Store


@dataclass(frozen=True)
class SandboxOptions:
    """How a sandbox starts.

    `state`: the SQLite file to keep the school in (None: a temporary file, deleted
    at `stop()`); a new state holds the demo school when `demo`, else only the
    administrator. `seed` fixes the demo school, the passwords and the faults' draws.
    `latency` is added to every request (seconds); `fail_before_post` is the
    probability that a logged-in POST gets a `500` and changes nothing;
    `lose_answer_after_post` the probability that it is applied and its answer lost;
    `fail_get` the probability of a `500` on a GET. `expose_to_network` lets it listen
    on an address other computers reach (refused otherwise: its pages travel in clear
    and its administrator's password is printed).
    """

    demo: bool = True
    seed: int = 1
    state: Path | None = None
    session_idle_seconds: float = 1800.0
    latency: float = 0.0
    fail_before_post: float = 0.0
    lose_answer_after_post: float = 0.0
    fail_get: float = 0.0
    log_requests: bool = False
    expose_to_network: bool = False


class Traffic:
    """The paths the server received requests for, so that a test can wait for one."""

    def __init__(self) -> None:
        self._paths: set[str] = set()
        self._received = threading.Condition()

    def receive(self, path: str) -> None:
        with self._received:
            self._paths.add(path)
            self._received.notify_all()

    def wait_for(self, path: str, timeout: float) -> bool:
        with self._received:
            return self._received.wait_for(lambda: path in self._paths, timeout)


class _SandboxRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, plus the lost-answer hook, the traffic seen and optional request logging."""

    log_requests = False
    traffic: Traffic  # set by `start_sandbox`, one per sandbox

    def make_environ(self) -> dict[str, object]:
        environ = super().make_environ()
        environ[LOSE_ANSWER_HOOK] = self._lose_answer
        self.traffic.receive(str(environ["PATH_INFO"]))
        return environ

    def _lose_answer(self) -> None:
        # Whatever the application now writes goes nowhere; the connection is then
        # closed as usual, before the status line was ever sent.
        self.wfile = io.BytesIO()
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.log_requests:
            super().log_request(code, size)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class RunningSandbox:
    """A sandbox serving on `url` until `stop()` (also a context manager)."""

    def __init__(
        self,
        server: BaseWSGIServer,
        store: Store,
        faults: Faults,
        temporary: Path | None,
        *,
        clock: Clock,
        traffic: Traffic,
    ) -> None:
        self._server = server
        self._faults = faults
        self._clock = clock
        self._traffic = traffic
        self._temporary = temporary
        self.store = store
        self.host = str(server.host)
        self.port = int(server.port)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}/intrascol/"
        self.admin_login = store.admin_login
        self.admin_password = store.admin_password
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    def configure(
        self,
        *,
        latency: float | None = None,
        fail_before_post: float | None = None,
        lose_answer_after_post: float | None = None,
        session_idle_seconds: float | None = None,
        fail_get: float | None = None,
        seed: int | None = None,
    ) -> None:
        """Changes the faults while the server runs; `seed` restarts their draws."""
        if latency is not None:
            self._faults.latency = latency
        if fail_before_post is not None:
            self._faults.fail_before_post = fail_before_post
        if lose_answer_after_post is not None:
            self._faults.lose_answer_after_post = lose_answer_after_post
        if session_idle_seconds is not None:
            self._faults.session_idle_seconds = session_idle_seconds
        if fail_get is not None:
            self._faults.fail_get = fail_get
        if seed is not None:
            self._faults.reseed(seed)

    def let_time_pass(self, seconds: float) -> None:
        """The sessions age by `seconds` at once: what a test does instead of sleeping through them."""
        self._clock.advance(seconds)

    def wait_for_request(self, path: str, timeout: float = 30.0) -> bool:
        """Waits until the server has received a request for `path` (relative to `url`, without
        the query: `admin/classes.php`); False if none came within `timeout` seconds."""
        return self._traffic.wait_for(f"{BASE}/{path}", timeout)

    def stop(self) -> None:
        """Stops serving, closes the state, deletes it when temporary."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.store.close()
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)

    def serve_until_interrupted(self) -> None:
        """Blocks until Ctrl-C (or SIGTERM) for the `reconcile sandbox` command, then stops."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _interrupt)
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is this computer's loopback (`127.0.0.1`, `::1`, `localhost`)."""
    if not host.strip():
        return False  # every interface
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def _check_can_listen(host: str, port: int) -> None:
    """Raise the `OSError` listening on host:port would raise.

    Werkzeug's `make_server` prints its own message (in English) and exits instead.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as werkzeug chooses
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug's server does
        probe.bind((host, port))


def start_sandbox(
    options: SandboxOptions | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Opens (or creates) the state and serves it on `host:port` (0: a free port)."""
    options = options or SandboxOptions()
    _check_can_listen(host, port)
    if not options.expose_to_network and not is_loopback(host):
        shown = host or '""'
        raise ValueError(
            f"--hote {shown} rendrait le bac à sable joignable depuis le réseau, où ses pages circulent "
            "en clair et où son mot de passe administrateur serait à la portée de tous ; il n'écoute "
            "d'ordinaire que sur cet ordinateur (127.0.0.1). Pour le faire exprès, ajoutez "
            "--exposer-au-reseau."
        )
    temporary: Path | None = None
    if options.state is None:
        descriptor, name = tempfile.mkstemp(prefix="intrascol-", suffix=".sqlite")
        os.close(descriptor)
        temporary = path = Path(name)
    else:
        path = options.state
    store = Store.open(path, demo=options.demo, seed=options.seed)
    faults = Faults(
        latency=options.latency,
        fail_before_post=options.fail_before_post,
        lose_answer_after_post=options.lose_answer_after_post,
        fail_get=options.fail_get,
        session_idle_seconds=options.session_idle_seconds,
        seed=options.seed,
    )
    clock, traffic = Clock(), Traffic()
    handler = type(
        "SandboxRequestHandler",
        (_SandboxRequestHandler,),
        {"log_requests": options.log_requests, "traffic": traffic},
    )
    try:
        app = create_app(store, faults, clock)
        server = make_server(host, port, app, threaded=True, request_handler=handler)
    except BaseException:
        store.close()
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise
    return RunningSandbox(server, store, faults, temporary, clock=clock, traffic=traffic)
