"""Answers read within limits: at most so many bytes, and a total deadline per request.

The deadline is kept by a watchdog (`within_deadline`: the exchange runs in a thread of its
own), not per socket read, so that a server dripping a byte at a time cannot hold a run
forever; the size by `read_within`, chunk by chunk, so that a server sending without end
cannot fill the memory. `exchange` is one HTTP exchange read so; `transport.Connection`
adds the rules of `INTERFACE.md` (retries, the `jeton`, sessions) and the French errors.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import requests

from reconcile.core.errors import megabytes

PAGE_LIMIT = 16 * 1024 * 1024
"""The largest page read, in bytes: the sandbox's biggest page for 2,000 pupils in 80 classes is 34 KB."""
REQUEST_DEADLINE = 120.0
"""Seconds for one request, its GET retries included, from the first byte sent to the last read."""
_CHUNK = 64 * 1024
# How often a request's watchdog wakes: a waiting Ctrl-C is seen at least this often (Windows).
_WATCH_SLICE = 0.5
_REDIRECT_STATI = (301, 302, 303, 307, 308)

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    """An answer of the server, its body read whole, within the limits."""

    url: str
    status_code: int
    headers: Mapping[str, str]
    content: bytes = field(repr=False)

    @property
    def is_redirect(self) -> bool:
        return "location" in self.headers and self.status_code in _REDIRECT_STATI


class Deadline:
    """The end of one request's time, shared by its attempts; `abandoned` once the caller gave up."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds
        self.abandoned = threading.Event()

    def remaining(self) -> float:
        return self._end - time.monotonic()


class Expired(Exception):
    """The deadline passed before the work ended (the work goes on in its thread, abandoned)."""


class BadRedirect(Exception):
    """The server answered with a redirection to something that is not an address."""


class TooLarge(Exception):
    """An answer's body went past its size limit (`limit`, in bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"plus de {megabytes(limit)}")
        self.limit = limit


def read_within(response: requests.Response, *, limit: int, deadline: Deadline) -> bytes:
    """A streamed answer's body, read chunk by chunk.

    Raises `TooLarge` past `limit` bytes, and stops quietly when the deadline's caller gave
    up. To be run through `within_deadline`, which keeps the total time: a read may block
    for as long as the server drips its bytes.
    """
    size = 0
    chunks: list[bytes] = []
    for chunk in response.iter_content(_CHUNK):
        if deadline.abandoned.is_set():
            break
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def within_deadline(work: Callable[[], T], deadline: Deadline, *, on_expiry: Callable[[], object]) -> T:
    """`work()` run in a thread of its own, waited for until the deadline at most.

    Raises `Expired` once the deadline passed (after `on_expiry()`, which wakes a blocked
    read); the work's own exception otherwise.
    """
    done = threading.Event()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:
            failure.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name="reconcile-http", daemon=True).start()
    while not done.wait(max(0.0, min(_WATCH_SLICE, deadline.remaining()))):
        if deadline.remaining() <= 0:
            deadline.abandoned.set()
            on_expiry()
            raise Expired
    if failure:
        raise failure[0]
    return outcome[0]


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    read_timeout: float,
    deadline: Deadline,
    limit: int = PAGE_LIMIT,
) -> Answer:
    """One HTTP exchange, its answer read within `limit` bytes and the `deadline`.

    Raises `Expired`, `TooLarge`, or requests' own errors.
    """
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else None
    opened: list[requests.Response] = []

    def work() -> Answer:
        per_read = max(0.001, min(read_timeout, deadline.remaining()))
        try:
            response = session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=per_read,
                allow_redirects=False,
                stream=True,
                # Given per request: with the environment read (`trust_env`), requests would let
                # REQUESTS_CA_BUNDLE override the session's own file.
                verify=session.verify,
            )
        except ValueError:
            # requests parses a redirection's `Location` even when not following it.
            raise BadRedirect from None
        opened.append(response)
        try:
            content = read_within(response, limit=limit, deadline=deadline)
        finally:
            response.close()
        return Answer(response.url, response.status_code, response.headers, content)

    def wake_reader() -> None:
        # Shut the socket so that a read blocked on a dripping server returns now.
        shutdown = getattr(opened[0].raw, "shutdown", None) if opened else None
        if callable(shutdown):
            shutdown()

    return within_deadline(work, deadline, on_expiry=wake_reader)
