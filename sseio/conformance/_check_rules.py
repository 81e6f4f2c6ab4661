"""What ``sseio check`` finds in a captured response, decided without IO.

``analyse(capture)`` takes what the checker recorded (the response head, the
body bytes as a client's SSE parser would receive them, when each piece
arrived and how the body ended) and returns a ``Report``: findings, each with
a code whose first letter is its severity (``E`` error, ``W`` warning, ``I``
info), a one-line message showing the offending value and numbers, and, where
it helps, the byte offset in the body and the 1-based index of the event.
The body is scanned once, line by line, with the WHATWG rules
(``sseio.conformance._check_scan``); memory beyond the body is bounded (aggregates,
never one record per event).

Severities, as a client author or a platform team would rank them:

- errors are what makes some or all clients lose data or fail: a status other
  than 200, a content type other than ``text/event-stream``, a charset other
  than UTF-8, a connection dropped mid-body, invalid UTF-8 (five of seven
  Python parsers crash on it), a NUL in ``id`` (the id is ignored, so resuming
  breaks), a ``retry`` that is not ASCII digits (spec clients ignore it, many
  Python ones accept ``+5``: behaviour differs), an event left unterminated at
  the end (clients drop it) and, on OpenAI-style streams, data that is not
  JSON, an error object inside the 200 stream, no ``finish_reason`` and no
  ``[DONE]`` (sseio and any careful client report the answer as truncated);
- warnings are what works in the spec but breaks real clients or proxies:
  a 204 (EventSource stops for good: there is no stream to check), missing
  ``Cache-Control: no-cache``/``no-store``, missing ``X-Accel-Buffering: no``,
  compression and ``Content-Length`` (proxies and clients buffer),
  connection-specific headers HTTP/2 forbids (``Connection`` other than
  ``close``, ``Keep-Alive``, ``Proxy-Connection``, ``Upgrade``,
  ``Transfer-Encoding`` other than ``chunked``), a close-delimited body (a
  clean end cannot be told from a drop), a leading BOM (spec clients strip it,
  but every Python parser checked loses the first event), CR line ends and
  mixed line ends (sseclient-py merges events, line readers split on LF only),
  field names in the wrong case (ignored), events after ``[DONE]``, silences
  longer than common proxy idle timeouts, and events larger than common client
  limits;
- info lines give timings, counts, framing, unknown field names and why the
  capture stopped (``--duration``, ``--timeout``, size cap: never an error).

When the capture was cut short by the checker itself, the rules that need the
end of the body (unterminated event, ``[DONE]``, ``finish_reason``, a trailing
incomplete UTF-8 sequence or CR) stay silent; a dropped connection is one
error, not also a missing ``[DONE]``; an error object inside an OpenAI-style
stream explains a missing ``finish_reason`` and ``[DONE]`` and replaces them.
The idle timeouts and size limits compared against are ``Rules`` fields, so
they can be changed (tests scale them down).  A report never shows
credentials: the URL's userinfo and the values of ``Set-Cookie`` and similar
headers are ``[redacted]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from .._http.exchange import Response, error_from_response
from .._http.observe import redacted_headers, redacted_url
from ._check_scan import BOM, BodyFacts, Clock, OpenAIFacts, invalid_utf8, scan_body

__all__ = [
    "DEFAULT_RULES",
    "Capture",
    "Ending",
    "Finding",
    "IdleTimeout",
    "Report",
    "Rules",
    "SizeLimit",
    "Stats",
    "analyse",
    "framing_of",
]

Ending = Literal["complete", "dropped", "timeout", "duration", "size", "no-response", "invalid"]
"""How the capture ended: the body ended as framed; the connection closed or broke
inside the body; no byte for ``--timeout``; ``--duration`` passed; the size cap was
reached; no response head (connect failure, closed early); the server broke HTTP."""

Severity = Literal["error", "warning", "info"]
_SEVERITIES: dict[str, Severity] = {"E": "error", "W": "warning", "I": "info"}
KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class IdleTimeout:
    """A proxy idle timeout: a silence of ``seconds`` or more makes ``who`` cut the stream."""

    seconds: float
    who: str


@dataclass(frozen=True)
class SizeLimit:
    """A client limit: an event of more than ``size`` bytes fails in ``who``."""

    size: int
    label: str  # in the code: W-event-<label>
    who: str


@dataclass(frozen=True)
class Rules:
    """The thresholds the checks compare against."""

    idle_timeouts: tuple[IdleTimeout, ...] = (
        IdleTimeout(30.0, "load balancers with a 30 s idle timeout"),
        IdleTimeout(60.0, "nginx (proxy_read_timeout default) and AWS ALB (default idle timeout)"),
        IdleTimeout(100.0, "Cloudflare (100 s proxy read timeout)"),
    )
    size_limits: tuple[SizeLimit, ...] = (
        SizeLimit(64 * KIB, "64k", "clients with a 64 KiB line or event limit (go-sse's default)"),
        SizeLimit(
            512 * KIB,
            "512k",
            "aiohttp-based clients (aiohttp-sse-client2: 512 KiB line limit by default)",
        ),
        SizeLimit(1 * MIB, "1m", "clients with a 1 MiB line or event limit"),
    )


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Capture:
    """What the checker recorded; times are seconds after the request was sent."""

    method: str
    url: str
    response: Response | None = None
    body: bytes = b""  # as an SSE parser receives it: de-chunked, decompressed
    arrivals: tuple[tuple[int, float], ...] = ()  # (body offset, time) of each piece
    activity: tuple[float, ...] = ()  # when bytes arrived on the wire, head included
    head_at: float | None = None
    elapsed: float = 0.0  # when the capture ended
    ending: Ending = "complete"
    detail: str = ""  # the error or the reason the capture stopped
    redirects: tuple[tuple[int, str], ...] = ()  # (status, location) of each followed hop


@dataclass(frozen=True)
class Finding:
    """One finding; its severity is the code's first letter (E, W, I)."""

    code: str
    message: str
    offset: int | None = None  # byte offset in the body
    event: int | None = None  # 1-based index of the event the bytes belong to

    @property
    def severity(self) -> Severity:
        return _SEVERITIES[self.code[0]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "offset": self.offset,
            "event": self.event,
        }


@dataclass(frozen=True)
class Stats:
    """The numbers behind the info lines (``None`` when not measured)."""

    first_byte: float | None = None  # the response head
    first_event: float | None = None
    first_token: float | None = None  # OpenAI-style: the first content delta
    duration: float = 0.0
    bytes: int = 0
    events: int = 0
    comments: int = 0
    largest_event: int = 0
    longest_silence: float = 0.0
    openai: bool = False


@dataclass(frozen=True)
class Report:
    """Everything ``sseio check`` says about one URL."""

    method: str
    url: str
    response: Response | None
    framing: str
    ending: Ending
    stats: Stats
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    @property
    def exit_code(self) -> int:
        """1 when there is any error, else 0."""
        return 1 if self.errors else 0

    def as_dict(self) -> dict[str, Any]:
        response = self.response
        return {
            "method": self.method,
            "url": self.url,
            "status": response.status_code if response else None,
            "reason": response.reason if response else None,
            "http_version": response.http_version if response else None,
            "headers": [f"{name}: {value}" for name, value in redacted_headers(response.headers)]
            if response
            else [],
            "framing": self.framing,
            "ending": self.ending,
            "stats": {
                name: round(value, 4) if isinstance(value, float) else value
                for name, value in vars(self.stats).items()
            },
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "exit_code": self.exit_code,
            "findings": [f.as_dict() for f in self.findings],
        }


def framing_of(response: Response) -> str:
    """How the body's end is marked: ``chunked``, ``content-length`` or ``close-delimited``."""
    if (response.header("transfer-encoding") or "").lower().rstrip().endswith("chunked"):
        return "chunked"
    if response.header("content-length") is not None:
        return "content-length"
    return "close-delimited"


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _size(n: int) -> str:
    return f"{n} bytes ({n / KIB:.0f} KiB)" if n >= KIB else f"{n} bytes"


# ---------------------------------------------------------------------------
# The response head


def _head_findings(capture: Capture, response: Response) -> Iterator[Finding]:
    for status, location in capture.redirects:
        yield Finding("I-redirect", f"followed {status} redirect to {redacted_url(location)}")
    status = response.status_code
    if status == 204:
        yield Finding(
            "W-status-204",
            "server answered 204 No Content: EventSource clients stop and never reconnect; "
            "there is no stream to check",
        )
        return
    if status != 200:
        error = error_from_response(response, capture.body)
        detail = f": {error.message}" if error.message else ""
        retry_after = response.header("retry-after")
        if retry_after is not None:
            detail += f" (Retry-After: {retry_after})"
        yield Finding(
            "E-status",
            f"status {status} {response.reason}".rstrip() + f", not 200{detail}",
        )
        return
    media_type = response.media_type
    if media_type != "text/event-stream":
        shown = response.content_type or "no content type"
        start = capture.body[:60].decode("utf-8", "replace").strip()
        body_note = f" (body starts {start!r})" if start else ""
        yield Finding(
            "E-content-type",
            f"content type is {shown!r}, not text/event-stream: EventSource and strict clients "
            f"fail, LLM SDKs silently yield nothing{body_note}",
        )
        return
    charset = _parameter(response.content_type, "charset")
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        yield Finding(
            "E-charset",
            f"charset={charset}: event streams are always UTF-8; clients decode as UTF-8 anyway",
        )
    yield from _caching_findings(response)


def _parameter(content_type: str, name: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return None


def _caching_findings(response: Response) -> Iterator[Finding]:
    cache = response.header("cache-control")
    directives = {d.strip().split("=")[0].lower() for d in (cache or "").split(",")}
    if not directives & {"no-cache", "no-store"}:
        shown = repr(cache) if cache is not None else "missing"
        yield Finding(
            "W-no-cache",
            f"Cache-Control is {shown}: without no-cache or no-store, caches and proxies may "
            "store or delay the stream",
        )
    buffering = response.header("x-accel-buffering")
    if (buffering or "").strip().lower() != "no":
        shown = repr(buffering) if buffering is not None else "missing"
        yield Finding(
            "W-buffering",
            f"X-Accel-Buffering is {shown}, not 'no': nginx proxies buffer the response and "
            "deliver events late, in bursts",
        )
    encoding = (response.header("content-encoding") or "").strip().lower()
    if encoding not in ("", "identity"):
        yield Finding(
            "W-compressed",
            f"Content-Encoding: {encoding} on a stream: compressors and proxies may hold "
            "events back until a block fills",
        )
    length = response.header("content-length")
    if length is not None:
        yield Finding(
            "W-content-length",
            f"Content-Length: {length} on a stream: the stream cannot outlive it, and proxies "
            "may buffer the whole body",
        )
    yield from _http2_findings(response)


def _http2_findings(response: Response) -> Iterator[Finding]:
    illegal = []
    for name, value in response.headers:
        lowered = value.strip().lower()
        if name == "connection" and lowered == "close":
            continue  # how an HTTP/1.1 server marks a close-delimited body
        if name == "transfer-encoding" and lowered == "chunked":
            continue  # HTTP/1.1 framing, which HTTP/2 servers replace
        if name in ("connection", "keep-alive", "proxy-connection", "upgrade", "transfer-encoding"):
            illegal.append(f"{name}: {value}")
    if illegal:
        yield Finding(
            "W-http2-headers",
            f"connection-specific headers ({'; '.join(illegal)}) are illegal on HTTP/2: "
            "an HTTP/2 server or proxy in front rejects the response or drops them",
        )


# ---------------------------------------------------------------------------
# The body framing and how it ended


def _framing_findings(capture: Capture, framing: str) -> Iterator[Finding]:
    yield Finding("I-framing", f"body framing: {framing}")
    if framing == "close-delimited":
        yield Finding(
            "W-close-delimited",
            "the body ends when the connection closes: clients cannot tell a clean end from a "
            "dropped connection (send Transfer-Encoding: chunked)",
        )
    if capture.ending == "dropped":
        why = f" ({capture.detail})" if capture.detail else ""
        yield Finding(
            "E-dropped",
            f"connection dropped mid-stream after {len(capture.body)} bytes{why}: "
            "clients see a broken stream",
            offset=len(capture.body),
        )
    elif capture.ending == "invalid":
        yield Finding("E-http", f"the server broke HTTP: {capture.detail}")


def _stop_finding(capture: Capture) -> Finding | None:
    reasons = {
        "duration": f"stopped after {capture.elapsed:.1f} s (--duration)",
        "timeout": f"stopped: {capture.detail}" if capture.detail else "stopped: read timeout",
        "size": f"stopped after {_size(len(capture.body))} (the capture size cap)",
    }
    reason = reasons.get(capture.ending)
    return Finding("I-stopped", reason) if reason else None


# ---------------------------------------------------------------------------
# The body


def _body_findings(capture: Capture, facts: BodyFacts, complete: bool) -> Iterator[Finding]:
    body = capture.body
    if body.startswith(BOM):
        yield Finding(
            "W-bom",
            "the stream starts with a UTF-8 BOM: spec clients strip it, but many parsers "
            "then lose the first event",
            offset=0,
        )
    bad = invalid_utf8(body, complete)
    if bad.count:
        yield Finding(
            "E-utf8",
            f"{bad.count} invalid UTF-8 sequence(s), the first at offset {bad.offset} "
            f"(bytes {bad.value}): most Python parsers crash, others show U+FFFD",
            offset=bad.offset,
        )
    if facts.nul_id.count:
        yield Finding(
            "E-nul-id",
            f"id {facts.nul_id.value} contains NUL ({facts.nul_id.count} time(s)): clients "
            "ignore it, so a reconnect resumes from an older id",
            offset=facts.nul_id.offset,
            event=facts.nul_id.event,
        )
    if facts.bad_retry.count:
        yield Finding(
            "E-retry",
            f"retry value {facts.bad_retry.value} is not ASCII digits "
            f"({facts.bad_retry.count} time(s)): spec clients ignore it, others accept it",
            offset=facts.bad_retry.offset,
            event=facts.bad_retry.event,
        )
    yield from _line_ending_findings(facts)
    if facts.wrong_case.count:
        yield Finding(
            "W-field-case",
            f"field name {facts.wrong_case.value} ({facts.wrong_case.count} line(s)): field "
            "names are case-sensitive, clients ignore these lines",
            offset=facts.wrong_case.offset,
            event=facts.wrong_case.event,
        )
    if facts.unknown.count:
        names = ", ".join(repr(name) for name in facts.unknown_names)
        yield Finding(
            "I-unknown-field",
            f"{facts.unknown.count} line(s) with unknown field names ({names}): clients "
            "ignore them",
            offset=facts.unknown.offset,
            event=facts.unknown.event,
        )
    if facts.pending_offset is not None and complete:
        yield Finding(
            "E-unterminated",
            f"the body ends inside an event ({len(body) - facts.pending_offset} bytes without "
            "the closing blank line): clients drop it",
            offset=facts.pending_offset,
            event=facts.events + 1,
        )


def _line_ending_findings(facts: BodyFacts) -> Iterator[Finding]:
    used = {kind: first for kind, first in facts.endings.items() if first.count}
    cr = facts.endings["CR"]
    if cr.count:
        yield Finding(
            "W-cr-line-ends",
            f"{cr.count} line(s) end in a lone CR: line readers that split on LF only (aiohttp's "
            "StreamReader) merge them, and several parsers break",
            offset=cr.offset,
            event=cr.event,
        )
    if len(used) > 1:
        counts = ", ".join(f"{kind} {first.count}" for kind, first in used.items())
        later = max(used.values(), key=lambda first: first.offset)
        yield Finding(
            "W-mixed-line-ends",
            f"mixed line ends ({counts}): sseclient-py and other parsers merge or cut events",
            offset=later.offset,
            event=later.event,
        )


def _size_findings(facts: BodyFacts, rules: Rules) -> Iterator[Finding]:
    for limit in rules.size_limits:
        if facts.largest_event > limit.size:
            yield Finding(
                f"W-event-{limit.label}",
                f"largest event is {_size(facts.largest_event)}, over {_size(limit.size)}: "
                f"fails in {limit.who}",
                offset=facts.largest_event_offset,
                event=facts.largest_event_index,
            )


def _openai_findings(openai: OpenAIFacts, complete: bool) -> Iterator[Finding]:
    if openai.not_json.count:
        yield Finding(
            "E-openai-json",
            f"{openai.not_json.count} event(s) with data that is not JSON, the first "
            f"{openai.not_json.value}: OpenAI-style clients fail to parse them",
            offset=openai.not_json.offset,
            event=openai.not_json.event,
        )
    if openai.errors.count:
        yield Finding(
            "E-openai-error",
            f"error inside the 200 stream: {openai.errors.value} ({openai.errors.count} "
            "error payload(s)): clients that only check the status miss it",
            offset=openai.errors.offset,
            event=openai.errors.event,
        )
    if openai.after_done.count:
        yield Finding(
            "W-after-done",
            f"{openai.after_done.count} event(s) after [DONE]: clients stop reading at [DONE]",
            offset=openai.after_done.offset,
            event=openai.after_done.event,
        )
    if not complete or openai.errors.count:
        return
    unfinished = sorted(index for index, reason in openai.finish.items() if reason is None)
    if unfinished or not openai.finish:
        which = f"choice(s) {unfinished}" if unfinished else "no choice"
        yield Finding(
            "E-openai-finish",
            f"{which} never got a finish_reason: the answer is truncated",
        )
    if openai.done_event is None:
        yield Finding(
            "E-openai-done",
            "the stream ends without data: [DONE]: clients that wait for it report the "
            "answer as truncated, or hang",
        )


def _silence(capture: Capture) -> tuple[float, float]:
    """The longest time without a byte on the wire, and when it began (a silence still
    going on when the checker stopped reading counts)."""
    times = [0.0, *capture.activity]
    if capture.ending in ("timeout", "duration"):
        times.append(capture.elapsed)
    longest, began = 0.0, 0.0
    for before, after in itertools.pairwise(times):
        if after - before > longest:
            longest, began = after - before, before
    return longest, began


def _keepalive_findings(
    facts: BodyFacts, rules: Rules, longest: float, began: float
) -> Iterator[Finding]:
    cut_by = [idle for idle in rules.idle_timeouts if longest >= idle.seconds]
    if cut_by:
        who = "; ".join(f"{idle.who} ({idle.seconds:g} s)" for idle in cut_by)
        yield Finding(
            "W-keepalive",
            f"longest silence {_seconds(longest)}, from t={began:.1f} s: would be cut by "
            f"{who}; send a comment line such as ': ping' more often",
        )
    if facts.comments > 1:
        every = (facts.last_comment_at - facts.first_comment_at) / (facts.comments - 1)
        rate = f", one every {_seconds(every)} on average"
    else:
        rate = ""
    yield Finding(
        "I-keepalive",
        f"{facts.comments} comment line(s) (keepalives){rate}; longest silence {_seconds(longest)}",
    )


def _timing_finding(stats: Stats) -> Finding:
    def shown(value: float | None) -> str:
        return "none" if value is None else _seconds(value)

    token = f", first token {shown(stats.first_token)}" if stats.openai else ""
    return Finding(
        "I-timing",
        f"first byte {shown(stats.first_byte)}, first event {shown(stats.first_event)}{token}, "
        f"total {_seconds(stats.duration)}",
    )


def _events_finding(stats: Stats, openai: OpenAIFacts | None) -> Finding:
    kind = ""
    if openai is not None:
        reasons = sorted({reason or "none" for reason in openai.finish.values()})
        done = "with" if openai.done_event is not None else "without"
        kind = (
            f"; OpenAI-style: {openai.chunks} chunk(s), finish_reason "
            f"{', '.join(reasons) or 'none'}, {done} [DONE]"
        )
    return Finding(
        "I-events",
        f"{stats.events} event(s), {stats.comments} comment line(s), {_size(stats.bytes)}, "
        f"largest event {_size(stats.largest_event)}{kind}",
    )


_ORDER = {"error": 0, "warning": 1, "info": 2}


def analyse(
    capture: Capture, *, openai: bool | None = None, rules: Rules = DEFAULT_RULES
) -> Report:
    """Every finding about ``capture``, errors first; ``openai``: apply the OpenAI-style
    rules (``None``: when the data holds ``chat.completion.chunk`` objects)."""
    response = capture.response
    longest, began = _silence(capture)
    stats = Stats(
        first_byte=capture.head_at,
        duration=capture.elapsed,
        bytes=len(capture.body),
        longest_silence=longest,
    )
    findings: list[Finding] = []
    framing = ""
    if response is None:
        findings.append(Finding("E-connect", f"no response: {capture.detail or 'no answer'}"))
    elif response.status_code != 200 or response.media_type != "text/event-stream":
        framing = framing_of(response)
        findings.extend(_head_findings(capture, response))
        if capture.ending == "invalid":
            findings.append(Finding("E-http", f"the server broke HTTP: {capture.detail}"))
        findings.append(_timing_finding(stats))
    else:
        framing = framing_of(response)
        findings.extend(_head_findings(capture, response))
        stats = _stream_findings(capture, framing, openai, rules, stats, findings, began)
    stop = _stop_finding(capture)
    if stop is not None:
        findings.append(stop)
    findings.sort(key=lambda finding: _ORDER[finding.severity])
    return Report(
        capture.method,
        redacted_url(capture.url),
        response,
        framing,
        capture.ending,
        stats,
        tuple(findings),
    )


def _stream_findings(
    capture: Capture,
    framing: str,
    openai: bool | None,
    rules: Rules,
    stats: Stats,
    findings: list[Finding],
    began: float,
) -> Stats:
    """Append the findings about a 200 event stream's body; return the full stats."""
    complete = capture.ending == "complete"
    findings.extend(_framing_findings(capture, framing))
    tracker = OpenAIFacts()
    facts = scan_body(capture.body, Clock(capture.arrivals, capture.elapsed), complete, tracker)
    findings.extend(_body_findings(capture, facts, complete))
    findings.extend(_size_findings(facts, rules))
    is_openai = tracker.chunks > 0 if openai is None else openai
    if is_openai:
        findings.extend(_openai_findings(tracker, complete))
    findings.extend(_keepalive_findings(facts, rules, stats.longest_silence, began))
    stats = replace(
        stats,
        first_event=facts.first_event_at,
        first_token=tracker.first_token_at if is_openai else None,
        events=facts.events,
        comments=facts.comments,
        largest_event=facts.largest_event,
        openai=is_openai,
    )
    findings.append(_timing_finding(stats))
    findings.append(_events_finding(stats, tracker if is_openai else None))
    return stats
