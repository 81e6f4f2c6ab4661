"""The pure parts of ``sseio.httpx``: httpx's errors as sseio's, time limits, response heads."""

from __future__ import annotations

import httpx
import pytest

import sseio
from sseio.httpx._errors import transport_error
from sseio.httpx._request import event_timeout, response_value, split_timeout

REQUEST = httpx.Request(
    "GET",
    "http://bob:pa55word@example.test:8080/x",
    extensions={"timeout": {"connect": 1.5, "read": 2.5, "write": 3.5, "pool": 4.5}},
)

CASES = {
    "connect timeout": (
        httpx.ConnectTimeout("timed out"),
        sseio.ConnectTimeout,
        "connecting to example.test:8080 took over 1.5s",
    ),
    "pool timeout": (
        httpx.PoolTimeout("timed out"),
        sseio.ConnectTimeout,
        "no connection to example.test:8080 free within 4.5s",
    ),
    "read timeout": (httpx.ReadTimeout("x"), sseio.ReadTimeout, "no data from the server for 2.5s"),
    "write timeout": (
        httpx.WriteTimeout("x"),
        sseio.WriteTimeout,
        "sending the request took over 3.5s",
    ),
    "connect error": (
        httpx.ConnectError("[Errno 111] refused"),
        sseio.ConnectError,
        "cannot connect to example.test:8080: [Errno 111] refused",
    ),
    "proxy": (httpx.ProxyError("407"), sseio.ProxyError, "proxy failed for example.test:8080: 407"),
    "read error": (
        httpx.ReadError("reset"),
        sseio.ReadError,
        "connection broke while reading: reset",
    ),
    "write error": (
        httpx.WriteError("pipe"),
        sseio.WriteError,
        "connection broke while sending the request: pipe",
    ),
    "remote protocol": (
        httpx.RemoteProtocolError("peer closed"),
        sseio.RemoteProtocolError,
        "server broke HTTP: peer closed",
    ),
    "decoding": (
        httpx.DecodingError("bad gzip"),
        sseio.RemoteProtocolError,
        "invalid encoded body: bad gzip",
    ),
    "redirects": (
        httpx.TooManyRedirects("20"),
        sseio.TooManyRedirects,
        "too many redirects: 20",
    ),
    "protocol": (
        httpx.UnsupportedProtocol("ftp"),
        sseio.UsageError,
        "url must start with http:// or https://: ftp",
    ),
    "local protocol": (
        httpx.LocalProtocolError("bad"),
        sseio.UsageError,
        "request breaks HTTP: bad",
    ),
    "other transport": (
        httpx.NetworkError("odd"),
        sseio.TransportError,
        "transport failed: odd",
    ),
    "credentials in httpx's message": (
        httpx.ConnectError("no route to bob:pa55word@example.test"),
        sseio.ConnectError,
        "cannot connect to example.test:8080: no route to [redacted]:[redacted]@example.test",
    ),
}


@pytest.mark.parametrize(("error", "kind", "message"), CASES.values(), ids=CASES)
def test_each_httpx_error_has_its_sseio_kind(
    error: httpx.RequestError, kind: type[sseio.SSEError], message: str
) -> None:
    translated = transport_error(error, REQUEST)
    assert type(translated) is kind
    assert str(translated) == message


def test_the_request_can_come_from_the_error() -> None:
    error = httpx.ReadTimeout("x", request=REQUEST)
    assert str(transport_error(error)) == "no data from the server for 2.5s"
    bare = transport_error(httpx.ConnectError("refused"))
    assert str(bare) == "cannot connect to the server: refused"


def test_a_sseio_timeout_is_split_between_httpx_and_sseio() -> None:
    limits, budget = split_timeout(sseio.Timeout(connect=1, read=60, write=3, event=5))
    assert limits == httpx.Timeout(None, connect=1, read=5, write=3, pool=1)
    assert budget == sseio.Timeout(None, None, None, 5)
    limits, budget = split_timeout(sseio.Timeout(connect=1, read=None, write=3))
    assert limits == httpx.Timeout(None, connect=1, read=None, write=3, pool=1)
    assert budget.event is None
    assert budget.read is None
    for given in (httpx.Timeout(7), 7.0, None):
        assert split_timeout(given)[0] is given


def test_a_read_timeout_is_an_event_timeout_once_the_event_budget_ran_out() -> None:
    budget = sseio.Timeout(None, None, None, 5)
    assert event_timeout(budget, now=14.99, last_event_at=10.0) is None
    late = event_timeout(budget, now=15.0 - 1e-9, last_event_at=10.0)
    assert isinstance(late, sseio.EventTimeout)
    assert str(late) == "no event for 5s"
    assert event_timeout(sseio.Timeout(None, None, None, None), 99.0, 0.0) is None


def test_response_head_as_sseios_value() -> None:
    response = httpx.Response(
        503,
        headers=[("Content-Type", "text/event-stream; charset=utf-8"), ("X-A", "1"), ("X-A", "2")],
        extensions={"http_version": b"HTTP/2"},
    )
    head = response_value(response)
    assert (head.status_code, head.reason, head.http_version) == (503, "Service Unavailable", "2")
    assert head.headers[-2:] == [("x-a", "1"), ("x-a", "2")]
    assert head.media_type == "text/event-stream"
