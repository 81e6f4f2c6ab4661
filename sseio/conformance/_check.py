"""``sseio check URL``: connect to a live server, capture its stream, report what breaks.

``capture_stream`` sends one request over a plain (or TLS) socket with
sseio's own HTTP/1.1 exchange (``sseio._http.exchange``), follows redirects, and
records the response head, the body bytes exactly as an SSE parser would get
them (de-chunked, decompressed, not decoded as SSE) and when each piece and
each wire read arrived.  Everything is bounded: ``timeout`` for the connection
and each read, ``duration`` for the whole capture, ``max_bytes`` for the body
(then it stops with an info line, not an error); failures become the
capture's ``ending`` rather than exceptions.  ``progress=`` (a callable) is
told how far the capture has got (``Progress``: stage, elapsed seconds, body
bytes, events dispatched so far) at each stage change, the last one being
``done``, and at most every ``PROGRESS_INTERVAL`` seconds in between, while
bytes arrive or the server is quiet; the events are counted by an sseio
decoder fed the body as it arrives, which runs only when someone listens.
``check`` captures and hands the result to the pure
``sseio.conformance._check_rules.analyse``; ``format_report`` renders the
report as text.  The ``sseio check`` command is ``sseio.cli.check``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._core.decoder import SSEDecoder
from .._core.errors import LimitExceeded, RemoteProtocolError, TooManyRedirects, UsageError
from .._http.exchange import Exchange
from .._http.redirects import DEFAULT_MAX_REDIRECTS, redirect
from .._http.request import Request, prepare_request
from .._io.tls import ssl_context
from ._check_rules import DEFAULT_RULES, Capture, Ending, Report, Rules, analyse

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "PROGRESS_INTERVAL",
    "Progress",
    "capture_stream",
    "check",
    "format_report",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_DURATION = 60.0
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
_READ_SIZE = 16 * 1024  # small reads keep a decompressed piece (and memory) small
_COALESCE = 0.005  # pieces arriving closer together than this share one timestamp
PROGRESS_INTERVAL = 0.1
"""The longest time between two ``progress`` calls while a capture reads (seconds)."""

Stage = Literal["connecting", "waiting", "reading", "done"]


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a capture has got: ``stage`` is ``connecting`` (dialling, TLS),
    ``waiting`` (request sent, no response head yet), ``reading`` (the body) or
    ``done`` (the last call, with the final counts, however the capture ended);
    ``elapsed`` counts from the start of the capture, redirects included;
    ``bytes`` and ``events`` are the current response's body bytes and the
    events dispatched from them."""

    stage: Stage
    elapsed: float
    bytes: int
    events: int


class _EventCounter:
    """Counts the events in a body fed piece by piece (an sseio decoder; a body
    past its limits stops the count, it is the rules' job to report it)."""

    def __init__(self) -> None:
        self.events = 0
        self._decoder: SSEDecoder[Any] | None = SSEDecoder(done_sentinel=None)

    def feed(self, data: bytes) -> None:
        if self._decoder is None:
            return
        try:
            self.events += len(self._decoder.feed(data))
        except LimitExceeded as exc:
            self.events += len(exc.events)
            self._decoder = None


class _Stop(Exception):
    """Ends the capture: ``ending`` says how, ``detail`` why."""

    def __init__(self, ending: Ending, detail: str = "") -> None:
        super().__init__(detail)
        self.ending: Ending = ending
        self.detail = detail


@dataclass
class _Recorder:
    """What has arrived so far on the current exchange, with times relative to ``start``."""

    deadline: float
    start: float = field(default_factory=time.monotonic)  # until the first connection
    exchange: Exchange | None = None
    body: bytearray = field(default_factory=bytearray)
    arrivals: list[tuple[int, float]] = field(default_factory=list)
    activity: list[float] = field(default_factory=list)
    progress: Callable[[Progress], object] | None = None
    began: float = field(default_factory=time.monotonic)  # the capture's start, for progress
    counter: _EventCounter | None = None
    stage: Stage = "connecting"
    reported_at: float | None = None

    def restart(self, exchange: Exchange) -> None:
        """Start over for ``exchange`` (a redirect's target): times count from now."""
        self.start = time.monotonic()
        self.exchange = exchange
        self.body.clear()
        self.arrivals.clear()
        self.activity.clear()
        if self.progress is not None:
            self.counter = _EventCounter()

    def report(self, stage: Stage | None = None) -> None:
        """Tell ``progress`` (if any) where the capture is: at once for a new stage,
        else at most every ``PROGRESS_INTERVAL`` seconds."""
        if self.progress is None:
            return
        now = time.monotonic()
        if stage is None or stage == self.stage:
            if self.reported_at is not None and now - self.reported_at < PROGRESS_INTERVAL:
                return
        else:
            self.stage = stage
        self.reported_at = now
        events = self.counter.events if self.counter is not None else 0
        self.progress(Progress(self.stage, now - self.began, len(self.body), events))

    def now(self) -> float:
        return time.monotonic() - self.start

    def wire(self, at: float) -> None:
        if not self.activity or at - self.activity[-1] >= _COALESCE:
            self.activity.append(at)

    def piece(self, data: bytes, at: float) -> None:
        if data:
            if not self.arrivals or at - self.arrivals[-1][1] >= _COALESCE:
                self.arrivals.append((len(self.body), at))
            self.body += data
            if self.counter is not None:
                self.counter.feed(data)


@dataclass(frozen=True)
class _Limits:
    timeout: float
    max_bytes: int
    verify: bool
    max_redirects: int
    ticking: bool = False  # wake up every PROGRESS_INTERVAL to report progress


def capture_stream(
    url: str,
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    duration: float = DEFAULT_DURATION,
    max_bytes: int = DEFAULT_MAX_BYTES,
    verify: bool = True,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    progress: Callable[[Progress], object] | None = None,
) -> Capture:
    """Send one request (following redirects) and record its response.

    Never raises for what the server or the network does (that is the capture's
    ``ending`` and ``detail``); raises ``UsageError`` for bad arguments.
    ``progress`` is called with a ``Progress`` as the capture goes (see the
    module doc); what it raises ends the capture and reaches the caller.
    """
    for name, value in (("timeout", timeout), ("duration", duration)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e9:
            raise UsageError(f"{name} must be a positive number of seconds, got {value!r}")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise UsageError(f"max_bytes must be a positive int, got {max_bytes!r}")
    if progress is not None and not callable(progress):
        raise UsageError(f"progress must be callable or None, got {progress!r}")
    request = prepare_request(method, url, headers=list(headers), content=body)
    limits = _Limits(float(timeout), max_bytes, verify, max_redirects, progress is not None)
    recorder = _Recorder(deadline=time.monotonic() + duration, progress=progress)
    redirects: list[tuple[int, str]] = []
    ending: Ending = "complete"
    detail = ""
    try:
        while (follow := _exchange(request, recorder, limits, len(redirects))) is not None:
            response = recorder.exchange.response if recorder.exchange else None
            redirects.append((response.status_code if response else 0, follow.url))
            request = follow
    except _Stop as stop:
        ending, detail = stop.ending, stop.detail
    except (RemoteProtocolError, TooManyRedirects) as exc:  # a redirect that cannot be followed
        ending, detail = "invalid", str(exc)
    recorder.report("done")
    response = recorder.exchange.response if recorder.exchange is not None else None
    if response is None and ending != "invalid":
        ending = "no-response"
    return Capture(
        method=request.method,
        url=request.url,
        response=response,
        body=bytes(recorder.body),
        arrivals=tuple(recorder.arrivals),
        activity=tuple(recorder.activity),
        head_at=recorder.activity[0] if response is not None and recorder.activity else None,
        elapsed=recorder.now(),
        ending=ending,
        detail=detail,
        redirects=tuple(redirects),
    )


def _exchange(request: Request, recorder: _Recorder, limits: _Limits, hops: int) -> Request | None:
    """Run one request: read its head, then its body unless it redirects (the request
    to follow is returned); the recorder keeps what arrived."""
    recorder.report("connecting")
    sock = _dial(request, limits)
    exchange = Exchange(request)
    recorder.restart(exchange)
    try:
        try:
            sock.settimeout(limits.timeout)
            sock.sendall(exchange.request_bytes())
        except OSError as exc:
            raise _Stop("no-response", f"sending the request failed: {exc}") from exc
        recorder.report("waiting")
        _read(sock, exchange, recorder, limits, head_only=True)
        assert exchange.response is not None
        follow = redirect(request, exchange.response, hops, limits.max_redirects)
        if follow is None:
            recorder.report("reading")
            _read(sock, exchange, recorder, limits, head_only=False)
        return follow
    finally:
        sock.close()


def _dial(request: Request, limits: _Limits) -> socket.socket:
    address, timeout = f"{request.host}:{request.port}", limits.timeout
    try:
        sock = socket.create_connection((request.host, request.port), timeout=timeout)
    except TimeoutError as exc:
        raise _Stop("no-response", f"connecting to {address} took over {timeout:g} s") from exc
    except OSError as exc:
        raise _Stop("no-response", f"cannot connect to {address}: {exc}") from exc
    if request.scheme == "https":
        try:
            sock = ssl_context(None, limits.verify).wrap_socket(sock, server_hostname=request.host)
        except OSError as exc:  # ssl.SSLError and timeouts are OSErrors
            sock.close()
            raise _Stop("no-response", f"TLS with {address} failed: {exc}") from exc
    return sock


def _read(
    sock: socket.socket,
    exchange: Exchange,
    recorder: _Recorder,
    limits: _Limits,
    *,
    head_only: bool,
) -> None:
    timeout = limits.timeout
    tick = PROGRESS_INTERVAL if limits.ticking else float("inf")
    quiet_since = time.monotonic()  # the last time bytes arrived (or the start)
    while not exchange.ended and not (head_only and exchange.response is not None):
        now = time.monotonic()
        left = recorder.deadline - now
        if left <= 0:
            raise _Stop("duration")
        quiet_left = quiet_since + timeout - now
        if quiet_left <= 0:
            raise _Stop("timeout", f"no data for {timeout:g} s (--timeout)")
        try:
            sock.settimeout(min(quiet_left, left, tick))
            data = sock.recv(_READ_SIZE)
        except TimeoutError as exc:
            if tick < min(quiet_left, left):
                recorder.report()  # only a tick: the server is quiet, time goes on
                continue
            if quiet_left < left:
                raise _Stop("timeout", f"no data for {timeout:g} s (--timeout)") from exc
            raise _Stop("duration") from exc
        except OSError as exc:
            ending: Ending = "dropped" if exchange.response is not None else "no-response"
            raise _Stop(ending, f"connection broke: {exc}") from exc
        at = recorder.now()
        if data:
            recorder.wire(at)
            quiet_since = time.monotonic()
        try:
            recorder.piece(exchange.receive(data), at)
        except RemoteProtocolError as exc:
            if exchange.response is None:
                raise _Stop("no-response" if not data else "invalid", str(exc)) from exc
            raise _Stop("dropped" if not data else "invalid", str(exc)) from exc
        if not data and not exchange.ended:  # pragma: no cover - Exchange raises instead
            raise _Stop("dropped", "server closed the connection")
        if len(recorder.body) >= limits.max_bytes:
            raise _Stop("size")
        recorder.report()


def check(
    url: str,
    *,
    method: str = "GET",
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    duration: float = DEFAULT_DURATION,
    max_bytes: int = DEFAULT_MAX_BYTES,
    verify: bool = True,
    openai: bool | None = None,
    rules: Rules = DEFAULT_RULES,
    progress: Callable[[Progress], object] | None = None,
) -> Report:
    """Capture ``url``'s stream and analyse it (see ``capture_stream`` and ``analyse``)."""
    capture = capture_stream(
        url,
        method=method,
        headers=headers,
        body=body,
        timeout=timeout,
        duration=duration,
        max_bytes=max_bytes,
        verify=verify,
        progress=progress,
    )
    return analyse(capture, openai=openai, rules=rules)


def format_report(report: Report) -> str:
    """The report as text: what was asked, what answered, one line per finding, a tally."""
    lines = [f"{report.method} {report.url}"]
    response = report.response
    if response is not None:
        kind = response.content_type or "no content type"
        framing = f", {report.framing}" if report.framing else ""
        lines.append(
            f"  HTTP/{response.http_version} {response.status_code} {response.reason}".rstrip()
            + f"  ({kind}{framing})"
        )
    width = max((len(f.code) for f in report.findings), default=0)
    for finding in report.findings:
        where = []
        if finding.offset is not None:
            where.append(f"offset {finding.offset}")
        if finding.event is not None:
            where.append(f"event {finding.event}")
        place = f" [{', '.join(where)}]" if where else ""
        lines.append(f"{finding.severity:<7}  {finding.code:<{width}}  {finding.message}{place}")
    errors, warnings = len(report.errors), len(report.warnings)
    lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)
