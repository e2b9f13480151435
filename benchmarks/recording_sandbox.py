"""A sandbox in its own process that records every request it receives (`bench_replay.py`).

    python benchmarks/recording_sandbox.py STATE.sqlite RECORD.json PORT

Serves the school kept in STATE on 127.0.0.1:PORT (one port for all the runs: the
workbook names its server), prints one JSON line (url, login, password), then
serves until a line (or the end) comes on its standard input; it then writes the
requests it received (method, path, query, cookie, content type, body; the answer's
status and length) to
RECORD and stops. Its session ids and `jeton`s are drawn from a fixed seed, so that
two such servers started on copies of one state hand out the same ones to the same
sequence of requests: a recorded run can be replayed byte for byte on a fresh copy.
It runs in a process of its own so that the server's CPU is never counted as the client's.
"""

from __future__ import annotations

import base64
import io
import json
import random
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconcile.sandbox import SandboxOptions, server, sessions, start_sandbox


class _SeededTokens:
    """Stands for the `secrets` module in the sandbox's sessions: the same tokens in the same order."""

    def __init__(self) -> None:
        self._random = random.Random("bench-replay")
        self._lock = threading.Lock()

    def token_hex(self, size: int) -> str:
        with self._lock:
            return self._random.randbytes(size).hex()


class Recorder:
    """WSGI middleware: keeps each request (and the status answered) in arrival order."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        record = {
            "method": environ["REQUEST_METHOD"],
            "path": environ["PATH_INFO"],
            "query": environ.get("QUERY_STRING", ""),
            "cookie": environ.get("HTTP_COOKIE", ""),
            "content_type": environ.get("CONTENT_TYPE", ""),
            "body": base64.b64encode(body).decode("ascii"),
            "status": 0,
            "length": 0,
        }
        with self._lock:
            self.requests.append(record)

        def recording_start(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            record["status"] = int(status.split()[0])
            return start_response(status, headers, *rest)

        for chunk in self.app(environ, recording_start):
            record["length"] += len(chunk)
            yield chunk


def main() -> None:
    state, record_path, port = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    sessions.secrets = _SeededTokens()  # type: ignore[attr-defined,assignment]
    recorders: list[Recorder] = []
    original = server.create_app

    def recording_app(*args: Any) -> Recorder:
        recorders.append(Recorder(original(*args)))
        return recorders[-1]

    server.create_app = recording_app  # type: ignore[assignment]
    with start_sandbox(SandboxOptions(demo=False, state=state), port=port) as sandbox:
        line = {"url": sandbox.url, "login": sandbox.admin_login, "password": sandbox.admin_password}
        print(json.dumps(line), flush=True)
        sys.stdin.readline()
        record_path.write_text(json.dumps(recorders[0].requests), encoding="utf-8")


if __name__ == "__main__":
    main()
