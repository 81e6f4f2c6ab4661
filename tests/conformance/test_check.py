"""``sseio check``: the pure rules on hand-made captures, then the whole checker
against the mock OpenAI API in every fault mode and against a deliberately
broken raw-socket server, comparing the exact set of finding codes.

The idle timeouts are scaled down with ``Rules`` so that no test waits for a
real proxy timeout; every socket has a timeout and every server stops with
the test.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sseio._core.errors import UsageError
from sseio._http.exchange import Response
from sseio.cli.check import add_arguments, run
from sseio.conformance._check import Progress, capture_stream, check, format_report
from sseio.conformance._check_rules import (
    DEFAULT_RULES,
    Capture,
    Ending,
    IdleTimeout,
    Report,
    Rules,
    analyse,
    framing_of,
)
from sseio.testing._mock import mock_in_thread
from sseio.testing._mock_request import MockConfig

STREAM_HEADERS = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-store"),
    ("x-accel-buffering", "no"),
    ("transfer-encoding", "chunked"),
]
INFO = {"I-framing", "I-keepalive", "I-timing", "I-events"}
"""What every clean 200 event stream reports: info lines only."""
CLEAN = b": hello\n\nevent: greeting\ndata: one\nid: 1\n\ndata: two\ndata: lines\nretry: 3000\n\n"
FAST_RULES = Rules(
    idle_timeouts=(
        IdleTimeout(0.2, "proxy A"),
        IdleTimeout(0.4, "proxy B"),
        IdleTimeout(60.0, "proxy C"),
    )
)


def capture_of(
    body: bytes = CLEAN,
    *,
    headers: Sequence[tuple[str, str]] = STREAM_HEADERS,
    status: int = 200,
    ending: Ending = "complete",
    pieces: Sequence[tuple[float, bytes]] | None = None,
    elapsed: float | None = None,
    detail: str = "",
) -> Capture:
    """A capture as the checker would record it; ``pieces`` are (time, bytes) arrivals."""
    pieces = list(pieces) if pieces is not None else [(0.01, body)]
    body = b"".join(data for _, data in pieces)
    arrivals, offset = [], 0
    for at, data in pieces:
        arrivals.append((offset, at))
        offset += len(data)
    activity = [0.005, *(at for at, _ in pieces)]
    response = Response(status, "OK" if status == 200 else "Nope", list(headers), "1.1")
    return Capture(
        method="GET",
        url="http://127.0.0.1:1/events",
        response=response,
        body=body,
        arrivals=tuple(arrivals),
        activity=tuple(activity),
        head_at=0.005,
        elapsed=elapsed if elapsed is not None else activity[-1],
        ending=ending,
        detail=detail,
    )


def codes(body: bytes = CLEAN, **options: Any) -> set[str]:
    rules = options.pop("rules", DEFAULT_RULES)
    openai = options.pop("openai", None)
    return analyse(capture_of(body, **options), openai=openai, rules=rules).codes


def with_headers(**changes: str | None) -> list[tuple[str, str]]:
    """The stream headers with some replaced (``None`` removes one); names use ``_``."""
    names = {name.replace("_", "-"): value for name, value in changes.items()}
    headers = [(k, v) for k, v in STREAM_HEADERS if k not in names]
    return headers + [(k, v) for k, v in names.items() if v is not None]


def finding(report: Report, code: str) -> Any:
    (found,) = [f for f in report.findings if f.code == code]
    return found


# ---------------------------------------------------------------------------
# The pure rules: a clean stream, then each rule both ways


def test_clean_stream_has_only_info() -> None:
    report = analyse(capture_of())
    assert report.codes == INFO
    assert report.exit_code == 0
    assert report.stats.events == 2
    assert report.stats.comments == 1
    assert report.framing == "chunked"
    assert not report.stats.openai


def test_no_response_is_an_error() -> None:
    capture = Capture("GET", "http://127.0.0.1:1/", ending="no-response", detail="refused")
    report = analyse(capture)
    assert report.codes == {"E-connect"}
    assert "refused" in report.findings[0].message
    assert report.exit_code == 1
    assert report.as_dict()["status"] is None


def test_status_other_than_200_is_an_error_with_the_server_message() -> None:
    body = b'{"error": {"message": "slow down", "type": "rate_limit"}}'
    headers = [("content-type", "application/json"), ("retry-after", "7")]
    report = analyse(capture_of(body, headers=headers, status=429))
    assert report.codes == {"E-status", "I-timing"}
    message = finding(report, "E-status").message
    assert "429" in message
    assert "slow down" in message
    assert "Retry-After: 7" in message


def test_status_204_is_a_warning() -> None:
    assert codes(b"", status=204) == {"W-status-204", "I-timing"}


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", None, "text/plain"])
def test_content_type_other_than_event_stream_is_an_error(content_type: str | None) -> None:
    report = analyse(
        capture_of(b"<html>hi</html>", headers=with_headers(content_type=content_type))
    )
    assert report.codes == {"E-content-type", "I-timing"}
    assert "<html>hi</html>" in finding(report, "E-content-type").message


def test_content_type_is_compared_without_case_or_parameters() -> None:
    assert codes(headers=with_headers(content_type="Text/Event-Stream")) == INFO


@pytest.mark.parametrize("charset", ["iso-8859-1", "utf-16", '"latin1"'])
def test_charset_other_than_utf8_is_an_error(charset: str) -> None:
    headers = with_headers(content_type=f"text/event-stream; charset={charset}")
    assert codes(headers=headers) == INFO | {"E-charset"}


@pytest.mark.parametrize("charset", ["UTF-8", '"utf-8"', "utf8"])
def test_utf8_charset_is_fine(charset: str) -> None:
    assert codes(headers=with_headers(content_type=f"text/event-stream;charset={charset}")) == INFO


@pytest.mark.parametrize("value", [None, "max-age=0", "public", "no-transform"])
def test_missing_no_cache_is_a_warning(value: str | None) -> None:
    assert codes(headers=with_headers(cache_control=value)) == INFO | {"W-no-cache"}


@pytest.mark.parametrize("value", ["no-cache", "private, no-store", "No-Cache, max-age=0"])
def test_no_cache_or_no_store_is_enough(value: str) -> None:
    assert codes(headers=with_headers(cache_control=value)) == INFO


@pytest.mark.parametrize("value", [None, "yes"])
def test_proxy_buffering_not_disabled_is_a_warning(value: str | None) -> None:
    assert codes(headers=with_headers(x_accel_buffering=value)) == INFO | {"W-buffering"}


def test_compression_on_a_stream_is_a_warning() -> None:
    assert codes(headers=with_headers(content_encoding="gzip")) == INFO | {"W-compressed"}
    assert codes(headers=with_headers(content_encoding="identity")) == INFO


def test_content_length_on_a_stream_is_a_warning() -> None:
    headers = with_headers(transfer_encoding=None, content_length=str(len(CLEAN)))
    report = analyse(capture_of(headers=headers))
    assert report.codes == INFO | {"W-content-length"}
    assert report.framing == "content-length"


@pytest.mark.parametrize(
    "extra",
    [
        {"connection": "keep-alive"},
        {"keep_alive": "timeout=5"},
        {"transfer_encoding": "gzip, chunked"},
        {"upgrade": "h2c"},
        {"proxy_connection": "keep-alive"},
    ],
)
def test_connection_specific_headers_are_a_warning(extra: dict[str, str]) -> None:
    report = analyse(capture_of(headers=with_headers(**extra)))
    assert report.codes == INFO | {"W-http2-headers"}
    name, value = next(iter(extra.items()))
    assert f"{name.replace('_', '-')}: {value}" in finding(report, "W-http2-headers").message


def test_connection_close_and_chunked_are_not_flagged() -> None:
    assert codes(headers=with_headers(connection="close")) == INFO


def test_close_delimited_body_is_a_warning() -> None:
    report = analyse(capture_of(headers=with_headers(transfer_encoding=None)))
    assert report.codes == INFO | {"W-close-delimited"}
    assert report.framing == "close-delimited"


def test_dropped_connection_is_one_error() -> None:
    body = CLEAN + b"data: cut"
    report = analyse(capture_of(body, ending="dropped", detail="closed inside a chunk"))
    assert report.codes == INFO | {"E-dropped"}
    dropped = finding(report, "E-dropped")
    assert dropped.offset == len(body)
    assert "closed inside a chunk" in dropped.message


def test_invalid_http_is_an_error() -> None:
    assert codes(ending="invalid", detail="bad chunk size") == INFO | {"E-http"}


def test_leading_bom_is_a_warning_a_later_one_is_not() -> None:
    assert codes(b"\xef\xbb\xbf" + CLEAN) == INFO | {"W-bom"}
    # Anywhere else the BOM is part of a field name: an unknown field.
    assert codes(CLEAN + b"\xef\xbb\xbfdata: x\n\n") == INFO | {"I-unknown-field"}


def test_invalid_utf8_is_an_error_with_its_offset() -> None:
    body = b"data: ok\n\ndata: caf\xe9\n\ndata: \xff\xfe\n\n"
    report = analyse(capture_of(body))
    assert report.codes == INFO | {"E-utf8"}
    bad = finding(report, "E-utf8")
    assert bad.offset == body.index(b"\xe9")
    assert bad.message.startswith("3 invalid UTF-8 sequence(s)")
    assert codes("data: café ✓ 😀\n\n".encode()) == INFO


def test_utf8_sequence_cut_by_the_checker_is_not_an_error() -> None:
    body = b"data: ok\n\ndata: \xe2\x82"
    assert codes(body, ending="duration") == INFO | {"I-stopped"}
    # Cut by the server at a clean end, it is invalid, and the event unterminated.
    assert codes(body) == INFO | {"E-utf8", "E-unterminated"}


def test_nul_in_id_is_an_error() -> None:
    body = b"id: 1\n\ndata: a\nid: a\x00b\n\n"
    report = analyse(capture_of(body))
    assert report.codes == INFO | {"E-nul-id"}
    nul = finding(report, "E-nul-id")
    assert (nul.offset, nul.event) == (body.index(b"id: a"), 1)


@pytest.mark.parametrize("value", [b"+5", b" 5", b"5s", b"", b"-1", b"1.5", "\uff15".encode()])
def test_retry_that_is_not_ascii_digits_is_an_error(value: bytes) -> None:
    report = analyse(capture_of(b"retry: " + value + b"\ndata: a\n\n"))
    assert report.codes == INFO | {"E-retry"}
    assert finding(report, "E-retry").offset == 0


def test_retry_digits_are_fine() -> None:
    assert codes(b"retry: 0\n\nretry:15000\ndata: a\n\n") == INFO


def test_cr_line_ends_are_a_warning() -> None:
    report = analyse(capture_of(CLEAN.replace(b"\n", b"\r")))
    assert report.codes == INFO | {"W-cr-line-ends"}
    assert report.stats.events == 2


def test_crlf_line_ends_alone_are_fine() -> None:
    assert codes(CLEAN.replace(b"\n", b"\r\n")) == INFO


def test_mixed_line_ends_are_a_warning() -> None:
    body = b"data: a\n\ndata: b\r\n\r\n"
    report = analyse(capture_of(body))
    assert report.codes == INFO | {"W-mixed-line-ends"}
    assert "LF 2, CRLF 2" in finding(report, "W-mixed-line-ends").message
    assert codes(b"data: a\n\ndata: b\r\r") == INFO | {"W-mixed-line-ends", "W-cr-line-ends"}


def test_cr_at_the_end_of_a_cut_capture_is_not_judged() -> None:
    assert codes(b"data: a\r\n\r\ndata: b\r", ending="duration") == INFO | {"I-stopped"}


@pytest.mark.parametrize("name", [b"Data", b"ID", b"Event", b"RETRY"])
def test_field_name_in_the_wrong_case_is_a_warning(name: bytes) -> None:
    report = analyse(capture_of(b"data: a\n\n" + name + b": x\ndata: b\n\n"))
    assert report.codes == INFO | {"W-field-case"}
    assert finding(report, "W-field-case").event == 2


def test_unknown_fields_are_info() -> None:
    report = analyse(capture_of(b"foo: bar\nhello\ndata: a\n\n"))
    assert report.codes == INFO | {"I-unknown-field"}
    assert "'foo', 'hello'" in finding(report, "I-unknown-field").message


@pytest.mark.parametrize("tail", [b"data: last\n", b"data: last", b"event: x\ndata: y\n", b"id"])
def test_event_left_unterminated_is_an_error(tail: bytes) -> None:
    report = analyse(capture_of(CLEAN + tail))
    assert report.codes == INFO | {"E-unterminated"}
    assert finding(report, "E-unterminated").offset == len(CLEAN)


def test_trailing_comment_or_cut_capture_is_not_unterminated() -> None:
    assert codes(CLEAN + b": ping\n") == INFO
    # A block without data dispatches nothing even when terminated: nothing is lost.
    assert codes(CLEAN + b"event: x\n") == INFO
    assert codes(CLEAN + b"data: last\n", ending="duration") == INFO | {"I-stopped"}
    assert codes(CLEAN + b"data: last\n", ending="size") == INFO | {"I-stopped"}


def test_event_sizes_against_client_limits() -> None:
    def event(size: int) -> bytes:
        return b"data: " + b"x" * (size - 8) + b"\n\n"

    assert codes(event(60 * 1024)) == INFO
    assert codes(event(70 * 1024)) == INFO | {"W-event-64k"}
    assert codes(event(600 * 1024)) == INFO | {"W-event-64k", "W-event-512k"}
    big = b"data: small\n\n" + event(1100 * 1024)
    report = analyse(capture_of(big))
    assert report.codes == INFO | {"W-event-64k", "W-event-512k", "W-event-1m"}
    limit = finding(report, "W-event-1m")
    assert (limit.offset, limit.event) == (13, 2)
    assert report.stats.largest_event == 1100 * 1024


# ---------------------------------------------------------------------------
# OpenAI-style streams


def chunk(content: str = "", finish: str | None = None, index: int = 0) -> bytes:
    delta = {"content": content} if content else {}
    payload = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"
ANSWER = chunk() + b": keepalive\n\n" + chunk("Hel") + chunk("lo") + chunk(finish="stop")


def test_clean_openai_stream_has_only_info() -> None:
    report = analyse(capture_of(ANSWER + DONE))
    assert report.codes == INFO
    assert report.stats.openai
    assert "finish_reason stop, with [DONE]" in finding(report, "I-events").message


def test_openai_missing_done_and_finish_reason_are_errors() -> None:
    assert codes(ANSWER) == INFO | {"E-openai-done"}
    assert codes(chunk("Hel") + DONE) == INFO | {"E-openai-finish"}
    two_choices = chunk("a") + chunk("b", index=1) + chunk(finish="stop") + DONE
    report = analyse(capture_of(two_choices))
    assert report.codes == INFO | {"E-openai-finish"}
    assert "[1]" in finding(report, "E-openai-finish").message


def test_openai_error_inside_the_stream_is_an_error() -> None:
    error = b'data: {"error": {"message": "overloaded", "type": "overloaded_error"}}\n\n'
    report = analyse(capture_of(chunk("Hel") + error))
    # The error explains the missing finish_reason and [DONE]: one finding.
    assert report.codes == INFO | {"E-openai-error"}
    found = finding(report, "E-openai-error")
    assert "overloaded" in found.message
    assert found.event == 2
    as_event = b"event: error\ndata: upstream failed\n\n"
    assert codes(chunk("Hel") + as_event) == INFO | {"E-openai-error"}


def test_openai_data_that_is_not_json_is_an_error() -> None:
    report = analyse(capture_of(chunk("Hel") + b"data: oops\n\n" + chunk(finish="stop") + DONE))
    assert report.codes == INFO | {"E-openai-json"}
    assert "'oops'" in finding(report, "E-openai-json").message


@pytest.mark.parametrize(
    ("payload", "shown"),
    [
        (b'{"error": "boom"}', "'boom'"),
        (b'{"error": {"code": 42}}', "'{\"code\": 42}'"),
        (b'{"error": {"type": "server_error"}}', "'server_error'"),
    ],
)
def test_openai_error_payload_shapes(payload: bytes, shown: str) -> None:
    report = analyse(capture_of(chunk("Hel") + b"data: " + payload + b"\n\n"))
    assert report.codes == INFO | {"E-openai-error"}
    assert f"stream: {shown} (1 error" in finding(report, "E-openai-error").message


def test_openai_malformed_and_many_choices_are_tolerated() -> None:
    odd = b'data: {"object": "chat.completion.chunk", "choices": [1, {"index": "0"}]}\n\n'
    assert codes(odd + ANSWER + DONE) == INFO
    many = b"".join(chunk("x", index=n) + chunk(finish="stop", index=n) for n in range(30))
    report = analyse(capture_of(many + DONE))
    assert report.codes == INFO  # choices past the 20th are not tracked, nothing is flagged
    assert report.stats.events == 61


def test_events_after_done_are_a_warning() -> None:
    assert codes(ANSWER + DONE + chunk("late")) == INFO | {"W-after-done"}


def test_openai_rules_follow_the_detection_or_the_option() -> None:
    plain_json = b'data: {"temperature": 21}\n\n'
    assert codes(plain_json) == INFO
    forced = INFO | {"E-openai-finish", "E-openai-done"}
    assert codes(plain_json, openai=True) == forced
    assert codes(b"data: hello\n\n", openai=True) == forced | {"E-openai-json"}
    assert codes(ANSWER, openai=False) == INFO


def test_openai_stream_cut_short_is_not_judged_for_its_end() -> None:
    assert codes(ANSWER, ending="dropped") == INFO | {"E-dropped"}
    assert codes(ANSWER, ending="duration") == INFO | {"I-stopped"}


# ---------------------------------------------------------------------------
# Keepalive cadence and timings


def test_silence_longer_than_idle_timeouts_names_the_proxies() -> None:
    pieces = [(0.01, b"data: a\n\n"), (0.5, b"data: b\n\n")]
    report = analyse(capture_of(pieces=pieces), rules=FAST_RULES)
    assert report.codes == INFO | {"W-keepalive"}
    message = finding(report, "W-keepalive").message
    assert "proxy A (0.2 s)" in message
    assert "proxy B (0.4 s)" in message
    assert "proxy C" not in message
    assert report.stats.longest_silence == pytest.approx(0.49)


def test_short_silences_and_default_timeouts_are_fine() -> None:
    pieces = [(0.01, b"data: a\n\n"), (0.15, b": ping\n"), (0.3, b"data: b\n\n")]
    assert codes(pieces=pieces, rules=FAST_RULES) == INFO
    assert codes(pieces=[(0.01, b"data: a\n\n"), (20.0, b"data: b\n\n")]) == INFO


def test_silence_before_the_first_byte_and_at_the_stop_counts() -> None:
    late = capture_of(pieces=[(0.3, b"data: a\n\n")])
    late = Capture(**{**vars(late), "activity": (0.3,), "head_at": 0.3})
    assert analyse(late, rules=FAST_RULES).codes == INFO | {"W-keepalive"}
    ongoing = [(0.01, b"data: a\n\n")]
    report = analyse(capture_of(pieces=ongoing, ending="timeout", elapsed=0.5), rules=FAST_RULES)
    assert report.codes == INFO | {"W-keepalive", "I-stopped"}
    assert report.stats.longest_silence == pytest.approx(0.49)


def test_comment_rate_and_timings_are_reported() -> None:
    pieces = [(0.1, chunk())]
    pieces += [(0.1 + n, b": ping\n") for n in range(1, 4)]
    pieces += [(3.5, chunk("Hi")), (3.6, chunk(finish="stop") + DONE)]
    report = analyse(capture_of(pieces=pieces))
    assert report.codes == INFO
    assert "3 comment line(s) (keepalives), one every 1.0 s" in (
        finding(report, "I-keepalive").message
    )
    stats = report.stats
    assert (stats.first_byte, stats.first_event, stats.first_token) == (0.005, 0.1, 3.5)
    assert stats.duration == 3.6
    assert "first token 3.5 s" in finding(report, "I-timing").message


def test_stop_reasons_are_info() -> None:
    report = analyse(capture_of(ending="duration", elapsed=2.0))
    assert finding(report, "I-stopped").message == "stopped after 2.0 s (--duration)"
    assert (
        "no data"
        in finding(
            analyse(capture_of(ending="timeout", detail="no data for 1 s")), "I-stopped"
        ).message
    )
    assert report.exit_code == 0


def test_report_orders_errors_first_and_serializes() -> None:
    report = analyse(capture_of(b"\xef\xbb\xbfretry: +1\ndata: a\n\n"))
    severities = [f.severity for f in report.findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    data = json.loads(json.dumps(report.as_dict()))
    assert data["exit_code"] == 1
    assert (data["errors"], data["warnings"]) == (1, 1)
    assert {f["code"] for f in data["findings"]} == INFO | {"E-retry", "W-bom"}
    assert data["stats"]["events"] == 1
    text = format_report(report)
    assert "E-retry" in text
    assert "[offset 3, event 1]" in text
    assert text.endswith("1 error(s), 1 warning(s)")


def test_framing_of() -> None:
    def framing(*headers: tuple[str, str]) -> str:
        return framing_of(Response(200, "OK", list(headers), "1.1"))

    assert framing(("transfer-encoding", "gzip, Chunked")) == "chunked"
    assert framing(("content-length", "5")) == "content-length"
    assert framing() == "close-delimited"


def test_memory_is_bounded_by_aggregates() -> None:
    # 50 000 events and as many distinct unknown fields: only counts and a few names kept.
    body = b"".join(b"f%d: x\ndata: %d\n\n" % (n, n) for n in range(50_000))
    report = analyse(capture_of(body))
    assert report.stats.events == 50_000
    message = finding(report, "I-unknown-field").message
    assert message.startswith("50000 line(s)")
    assert message.count("'f") == 20


# ---------------------------------------------------------------------------
# The whole checker against the mock OpenAI-compatible API


CHAT = {
    "model": "sseio-mock-1",
    "stream": True,
    "messages": [{"role": "user", "content": "Tell me a story"}],
}


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with mock_in_thread(MockConfig(keepalive=None)) as (server, _):
        yield server.url + "/v1/chat/completions"


def check_mock(url: str, fault: str | None, **options: Any) -> Report:
    headers = [("Content-Type", "application/json")]
    if fault is not None:
        headers.append(("X-Mock-Fault", fault))
    options.setdefault("timeout", 5.0)
    options.setdefault("duration", 5.0)
    body = json.dumps(CHAT).encode()
    return check(url, method="POST", headers=headers, body=body, **options)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (None, INFO),
        ("truncate", INFO | {"E-openai-finish", "E-openai-done"}),
        ("drop", INFO | {"E-dropped"}),
        ("error", INFO | {"E-openai-error"}),
        ("error-event", INFO | {"E-openai-error"}),
        ("overload", INFO | {"E-openai-error"}),
        ("429", {"E-status", "I-timing"}),
        ("500", {"E-status", "I-timing"}),
        ("502", {"E-status", "I-timing"}),
        ("503", {"E-status", "I-timing"}),
        ("html", {"E-content-type", "I-timing"}),
    ],
)
def test_mock_fault_modes(mock_url: str, fault: str | None, expected: set[str]) -> None:
    report = check_mock(mock_url, fault)
    assert report.codes == expected, format_report(report)
    assert report.exit_code == (1 if fault else 0)
    if fault is None or fault not in ("429", "500", "502", "503", "html"):
        assert report.stats.openai
        assert report.stats.events > 3


def test_mock_status_error_names_the_server_message(mock_url: str) -> None:
    message = finding(check_mock(mock_url, "503; retry_after=4"), "E-status").message
    assert "503" in message
    assert "Retry-After: 4" in message


def test_mock_slow_first_event(mock_url: str) -> None:
    report = check_mock(mock_url, "slow; delay=0.3")
    assert report.codes == INFO
    stats = report.stats
    assert stats.first_byte is not None
    assert stats.first_event is not None
    assert stats.first_byte < 0.25
    assert stats.first_event >= 0.29
    assert stats.longest_silence >= 0.29


def test_mock_stall_without_keepalives(mock_url: str) -> None:
    report = check_mock(mock_url, "stall; delay=30", duration=0.6, rules=FAST_RULES)
    assert report.codes == INFO | {"W-keepalive", "I-stopped"}
    assert report.ending == "duration"
    assert "proxy B" in finding(report, "W-keepalive").message


def test_mock_stall_with_keepalives() -> None:
    with mock_in_thread(MockConfig(keepalive=0.1)) as (server, _):
        url = server.url + "/v1/chat/completions"
        report = check_mock(url, "stall; delay=30", duration=0.8, rules=FAST_RULES)
    assert report.codes == INFO | {"I-stopped"}
    assert report.stats.comments >= 3
    every = re.search(r"one every (\d+) ms", finding(report, "I-keepalive").message)
    assert every is not None
    assert 90 <= int(every.group(1)) <= 200


def test_progress_reports_each_stage_ticks_and_the_final_counts(mock_url: str) -> None:
    calls: list[Progress] = []
    report = check_mock(mock_url, "slow; delay=0.5", progress=calls.append)
    assert report.codes == INFO
    stages = [call.stage for call in calls]
    assert [s for i, s in enumerate(stages) if not i or stages[i - 1] != s] == [
        "connecting",
        "waiting",
        "reading",
        "done",
    ]
    assert stages.count("done") == 1
    # The body is held back for 0.5 s: the server is quiet, the ticks go on.
    quiet = [call for call in calls if call.stage == "reading" and call.bytes == 0]
    assert len(quiet) >= 3
    assert quiet[-1].elapsed - quiet[0].elapsed >= 0.25
    elapsed = [call.elapsed for call in calls]
    assert elapsed == sorted(elapsed)
    assert [call.events for call in calls] == sorted(call.events for call in calls)
    last = calls[-1]
    assert (last.bytes, last.events) == (report.stats.bytes, report.stats.events)
    assert last.events > 3


def test_progress_keeps_the_read_timeout(mock_url: str) -> None:
    calls: list[Progress] = []
    report = check_mock(
        mock_url, "stall; delay=30", timeout=0.3, rules=FAST_RULES, progress=calls.append
    )
    assert report.ending == "timeout"
    assert "no data for 0.3 s" in finding(report, "I-stopped").message
    assert calls[-1].stage == "done"
    assert calls[-1].events == report.stats.events > 0
    assert 0.3 <= calls[-1].elapsed < 2.0


def test_progress_ends_with_done_when_nothing_answers() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        calls: list[Progress] = []
        capture = capture_stream(
            f"http://127.0.0.1:{sock.getsockname()[1]}/", timeout=2, progress=calls.append
        )
    assert capture.ending == "no-response"
    assert [call.stage for call in calls] == ["connecting", "done"]
    assert (calls[-1].bytes, calls[-1].events) == (0, 0)


def test_progress_must_be_callable() -> None:
    with pytest.raises(UsageError, match="progress must be callable"):
        capture_stream("http://127.0.0.1:1/", progress="yes")  # type: ignore[arg-type]


def test_cli_rejects_a_header_without_colon(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("http://127.0.0.1:1/", "-H", "no colon")
    assert exit_info.value.code == 2
    assert "argument -H/--header: a header is 'Name: value'" in capsys.readouterr().err


def test_mock_stall_hits_the_read_timeout(mock_url: str) -> None:
    report = check_mock(mock_url, "stall; delay=30", timeout=0.3, rules=FAST_RULES)
    assert report.codes == INFO | {"W-keepalive", "I-stopped"}
    assert report.ending == "timeout"
    assert "no data for 0.3 s" in finding(report, "I-stopped").message


# ---------------------------------------------------------------------------
# A deliberately broken server: raw sockets, exact bytes and pauses


Action = bytes | float | str  # bytes to send, seconds to pause, "reset"


@dataclass
class RawServer:
    """Answers each path with its script; records the requests it got."""

    scripts: dict[str, list[Action]]
    tls: ssl.SSLContext | None = None
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def serve(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue  # look at the stop flag again
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5.0)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(4096)
                if not data:
                    return
                request += data
            self.requests.append(request)
            path = request.split(b" ")[1].decode()
            for action in self.scripts[path]:
                if isinstance(action, float):
                    stop_at = threading.Event()
                    stop_at.wait(action)
                elif action == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                    return
                else:
                    assert isinstance(action, bytes)
                    conn.sendall(action)
        except OSError:
            return
        finally:
            conn.close()


@contextmanager
def raw_server(scripts: dict[str, list[Action]], tls: ssl.SSLContext | None = None) -> Any:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    server = RawServer(scripts, tls, port=listener.getsockname()[1])
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(listener, stop), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(5.0)
        listener.close()


def head(*headers: str, status: str = "200 OK") -> bytes:
    return (f"HTTP/1.1 {status}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode()


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


GOOD_HEAD = head(
    "Content-Type: text/event-stream",
    "Cache-Control: no-cache",
    "X-Accel-Buffering: no",
    "Transfer-Encoding: chunked",
)
END = b"0\r\n\r\n"
BIG_EVENT = b"data: " + b"x" * (600 * 1024) + b"\n\n"


def broken_script() -> list[Action]:
    """Every body and header defect the checker finds, in one gzip-compressed stream."""
    gzip = zlib.compressobj(wbits=31)

    def gz(data: bytes) -> bytes:
        return http_chunk(gzip.compress(data) + gzip.flush(zlib.Z_SYNC_FLUSH))

    return [
        head(
            "Content-Type: text/event-stream; charset=iso-8859-1",
            "Content-Encoding: gzip",
            "Connection: keep-alive",
            "Transfer-Encoding: chunked",
        ),
        gz(b"\xef\xbb\xbfdata: first\n\n"),
        gz(b"id: a\x00b\ndata: nul id\n\n"),
        gz(b"retry: +5\ndata: bad retry\r\n\r\n"),
        gz(b"data: cr only\r\rData: wrong case\nfoo: unknown\ndata: caf\xe9\n\n"),
        0.5,  # longer than the scaled idle timeouts of proxies A and B
        gz(BIG_EVENT),
        gz(b"data: never terminated\n") + http_chunk(gzip.flush()),
        END,
    ]


BROKEN_CODES = {
    "E-charset",
    "W-no-cache",
    "W-buffering",
    "W-compressed",
    "W-http2-headers",
    "W-bom",
    "E-nul-id",
    "E-retry",
    "W-cr-line-ends",
    "W-mixed-line-ends",
    "W-field-case",
    "I-unknown-field",
    "E-utf8",
    "W-event-64k",
    "W-event-512k",
    "W-keepalive",
    "E-unterminated",
} | INFO


SCRIPTS: dict[str, list[Action]] = {
    "/broken": broken_script(),
    "/clean": [GOOD_HEAD, http_chunk(CLEAN), END],
    "/length": [
        head(
            "Content-Type: text/event-stream",
            "Cache-Control: no-cache",
            "X-Accel-Buffering: no",
            f"Content-Length: {len(CLEAN)}",
        ),
        CLEAN,
    ],
    "/short-length": [
        head(
            "Content-Type: text/event-stream",
            "Cache-Control: no-cache",
            "X-Accel-Buffering: no",
            "Content-Length: 1000",
        ),
        CLEAN,
    ],
    "/close-delimited": [
        head(
            "Content-Type: text/event-stream",
            "Cache-Control: no-cache",
            "X-Accel-Buffering: no",
            "Connection: close",
        ),
        CLEAN,
    ],
    "/dropped": [GOOD_HEAD, http_chunk(CLEAN), http_chunk(b"data: cut")],
    "/reset": [GOOD_HEAD, http_chunk(CLEAN), 0.05, "reset"],
    "/plain": [head("Content-Type: text/plain", "Content-Length: 9"), b"data: x\n\n"],
    "/no-content": [head(status="204 No Content")],
    "/moved": [head("Location: /clean", "Content-Length: 0", status="302 Found")],
    "/loop": [head("Location: /loop", "Content-Length: 0", status="307 Temporary Redirect")],
    "/garbage": [b"SSE/9 what\r\n\r\n"],
    "/silent": [1.0],
    "/bad-chunk": [GOOD_HEAD, b"zz\r\nhello\r\n"],
    "/endless": [GOOD_HEAD, *[x for _ in range(40) for x in (http_chunk(b": ping\n"), 0.05)]],
    "/big": [GOOD_HEAD, *[http_chunk(b"data: " + b"y" * 8000 + b"\n\n") for _ in range(20)], END],
}


@pytest.fixture(scope="module")
def broken() -> Iterator[RawServer]:
    with raw_server(SCRIPTS) as server:
        yield server


def check_raw(server: RawServer, path: str, **options: Any) -> Report:
    options.setdefault("timeout", 5.0)
    options.setdefault("duration", 5.0)
    options.setdefault("rules", FAST_RULES)
    return check(server.url + path, **options)


def test_broken_server_every_defect_and_nothing_else(broken: RawServer) -> None:
    report = check_raw(broken, "/broken")
    assert report.codes == BROKEN_CODES, format_report(report)
    assert report.stats.events == 6
    utf8 = finding(report, "E-utf8")
    body_before = b"\xef\xbb\xbfdata: first\n\nid: a\x00b\ndata: nul id\n\n"
    body_before += b"retry: +5\ndata: bad retry\r\n\r\ndata: cr only\r\rData: wrong case\n"
    body_before += b"foo: unknown\ndata: caf"
    assert utf8.offset == len(body_before)
    assert finding(report, "W-event-512k").event == 6
    assert "proxy B" in finding(report, "W-keepalive").message
    assert "proxy C" not in finding(report, "W-keepalive").message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/clean", INFO),
        ("/length", INFO | {"W-content-length"}),
        ("/short-length", INFO | {"W-content-length", "E-dropped"}),
        ("/close-delimited", INFO | {"W-close-delimited"}),
        ("/dropped", INFO | {"E-dropped"}),
        ("/reset", INFO | {"E-dropped"}),
        ("/plain", {"E-content-type", "I-timing"}),
        ("/no-content", {"W-status-204", "I-timing"}),
        ("/moved", INFO | {"I-redirect"}),
        ("/loop", {"E-status", "I-redirect", "E-http", "I-timing"}),
        ("/garbage", {"E-connect"}),
        ("/bad-chunk", INFO | {"E-http"}),
    ],
)
def test_broken_server_paths(broken: RawServer, path: str, expected: set[str]) -> None:
    report = check_raw(broken, path)
    assert report.codes == expected, format_report(report)


def test_redirect_is_followed_and_reported(broken: RawServer) -> None:
    report = check_raw(broken, "/moved")
    assert report.url == broken.url + "/clean"
    assert report.stats.events == 2
    assert "302 redirect to" in finding(report, "I-redirect").message


def test_silent_server_times_out_without_a_response(broken: RawServer) -> None:
    report = check_raw(broken, "/silent", timeout=0.2)
    assert report.codes == {"E-connect"}
    assert "no data for 0.2 s" in report.findings[0].message


def test_duration_and_size_caps_stop_the_capture(broken: RawServer) -> None:
    report = check_raw(broken, "/endless", duration=0.4)
    assert report.codes == INFO | {"I-stopped"}
    assert report.ending == "duration"
    # --duration bounds the whole capture, connect included; times count from the request.
    assert 0.35 <= report.stats.duration < 0.6  # the server would go on for 2 s
    capped = check_raw(broken, "/big", max_bytes=50_000)
    assert capped.codes == INFO | {"I-stopped"}
    assert capped.ending == "size"
    assert 50_000 <= capped.stats.bytes < 50_000 + 16 * 1024 + 16_000


def test_connection_refused_is_an_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: refused
        report = check(f"http://127.0.0.1:{port}/", timeout=2.0)
    assert report.codes == {"E-connect"}
    assert "cannot connect" in report.findings[0].message
    assert report.exit_code == 1
    # Time counts from the start of the check, not from the clock's zero.
    assert 0.0 <= report.stats.duration < 2.0


def test_request_is_sent_as_given(broken: RawServer) -> None:
    check_raw(broken, "/clean", method="POST", headers=[("X-Test", "yes")], body=b"{}")
    request = broken.requests[-1]
    assert request.startswith(b"POST /clean HTTP/1.1\r\n")
    assert b"X-Test: yes\r\n" in request
    assert b"Accept: text/event-stream\r\n" in request


def test_tls_verification_and_insecure() -> None:
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with raw_server({"/clean": SCRIPTS["/clean"]}, tls=context) as server:
        refused = check(server.url + "/clean", timeout=2.0)
        accepted = check(server.url + "/clean", timeout=2.0, verify=False)
    assert refused.codes == {"E-connect"}
    assert "TLS" in refused.findings[0].message
    assert accepted.codes == INFO


@pytest.mark.parametrize(
    "options",
    [{"timeout": 0}, {"duration": -1}, {"timeout": True}, {"max_bytes": 0}, {"max_bytes": 1.5}],
)
def test_capture_refuses_bad_arguments(options: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        capture_stream("http://127.0.0.1:1/", **options)


# ---------------------------------------------------------------------------
# The command line: run(args)


def cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = io.StringIO()
    status = run(parser.parse_args(argv), out)
    return status, out.getvalue()


def test_cli_text_and_exit_codes(broken: RawServer, mock_url: str) -> None:
    status, text = cli(broken.url + "/clean")
    assert status == 0
    assert text.startswith(f"GET {broken.url}/clean\n  HTTP/1.1 200 OK")
    assert text.rstrip().endswith("0 error(s), 0 warning(s)")
    status, text = cli(mock_url, "-d", json.dumps(CHAT), "-H", "X-Mock-Fault: drop")
    assert status == 1
    assert "E-dropped" in text


def test_cli_json(mock_url: str) -> None:
    status, text = cli(mock_url, "-d", json.dumps(CHAT), "--json")
    assert status == 0
    data = json.loads(text)
    assert data["method"] == "POST"  # -d implies POST; JSON got its content type
    assert data["status"] == 200
    assert data["stats"]["openai"] is True
    assert {f["code"] for f in data["findings"]} == INFO


def test_cli_body_from_a_file_and_openai_options(tmp_path: Path, mock_url: str) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(CHAT))
    status, text = cli(
        mock_url, "-d", f"@{request}", "-H", "X-Mock-Fault: truncate", "--no-openai", "--json"
    )
    assert (status, json.loads(text)["stats"]["openai"]) == (0, False)
    status, _ = cli(mock_url, "-d", f"@{request}", "-H", "X-Mock-Fault: truncate", "--openai")
    assert status == 1


def test_cli_body_from_stdin(broken: RawServer, monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(b"from stdin")

    monkeypatch.setattr("sys.stdin", Stdin())
    status, _ = cli(broken.url + "/clean", "-d", "@-")
    assert status == 0
    assert broken.requests[-1].endswith(b"\r\n\r\nfrom stdin")


def test_cli_non_json_body_keeps_the_content_type_it_was_given(broken: RawServer) -> None:
    status, _ = cli(broken.url + "/clean", "-X", "PUT", "-d", "a=b")
    assert status == 0
    assert broken.requests[-1].startswith(b"PUT /clean")
    assert b"application/json" not in broken.requests[-1]


@pytest.mark.parametrize(
    "argv",
    [
        ["ftp://127.0.0.1/"],
        ["http://127.0.0.1:1/", "--duration", "0"],
        ["http://127.0.0.1:1/", "-d", "@/nonexistent/file"],
        ["http://127.0.0.1:1/", "-X", "BAD METHOD"],
    ],
)
def test_cli_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status, text = cli(*argv)
    assert status == 2
    assert text == ""
    assert capsys.readouterr().err.startswith("sseio check: error:")
