"""Public keywords are checked when the call is made: a wrong type is a ``UsageError``.

Every keyword of ``connect_sse`` (and so of the clients, which share the
checks in ``sseio._http.arguments``) gets a wrong value; no socket is opened,
since the error comes before any connection.  ``timeout=`` also takes a
number of seconds, and ``params=`` query parameters, as in httpx.
"""

from __future__ import annotations

from typing import Any

import pytest

import sseio
from sseio._http.arguments import check_headers, check_params, coerce_timeout
from sseio._http.client_state import with_query

URL = "http://127.0.0.1:9/events"  # nothing is ever sent there: every call below fails first

BAD: list[tuple[str, Any, str]] = [
    ("method", 5, "invalid method"),
    ("headers", 5, "headers must be a mapping"),
    ("headers", "Accept: x", "headers must be a mapping"),
    ("headers", [("Accept",)], "headers must hold"),
    ("headers", {"X-Token": 5}, "headers must hold"),
    ("params", 5, "params must be a mapping"),
    ("params", {"q": object()}, "params['q'] must be"),
    ("json", object(), "cannot be sent as JSON"),
    ("content", 5, "content must be bytes or str"),
    ("timeout", "30", "timeout must be a number of seconds or a sseio.Timeout"),
    ("timeout", True, "timeout must be a number of seconds"),
    ("timeout", 0, "positive number of seconds"),
    ("reconnect", 3, "reconnect must be a sseio.Reconnect"),
    ("ssl_context", "ctx", "ssl_context must be an ssl.SSLContext"),
    ("verify", "yes", "verify must be True or False"),
    ("last_event_id", 5, "last_event_id must be a str"),
    ("retry", "10", "retry must be a non-negative int"),
    ("comments", "no", "comments must be True or False"),
    ("done_sentinel", 5, "done_sentinel must be a str or None"),
    ("max_redirects", "3", "max_redirects must be an int"),
    ("max_redirects", -1, "max_redirects must be 0 or more"),
    ("max_line_size", "big", "max_line_size must be a positive integer"),
    ("max_event_size", 1.5, "max_event_size must be a positive integer"),
    ("hooks", 1, "hooks must be a sseio.Hooks"),
    ("proxy", 5, "proxy must be a URL string or a sseio.Proxy"),
    ("trust_env", "x", "trust_env must be True or False"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_connect_sse_raises_usage_error_at_the_call(name: str, value: Any, message: str) -> None:
    with pytest.raises(sseio.UsageError, match=message.replace("[", r"\[")):
        sseio.connect_sse(URL, **{name: value})


@pytest.mark.parametrize(("name", "value", "message"), BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_aconnect_sse_raises_usage_error_at_the_call(name: str, value: Any, message: str) -> None:
    with pytest.raises(sseio.UsageError, match=message.replace("[", r"\[")):
        sseio.aconnect_sse(URL, **{name: value})


CLIENT_BAD = [
    ("base_url", 5, "base_url must be a str"),
    ("max_idle_per_origin", "8", "max_idle_per_origin must be an int"),
    *[(n, v, m) for n, v, m in BAD if n in {"headers", "params", "timeout", "proxy", "hooks"}],
]


@pytest.mark.parametrize("client", [sseio.Client, sseio.AsyncClient])
@pytest.mark.parametrize(("name", "value", "message"), CLIENT_BAD)
def test_clients_check_their_keywords(client: Any, name: str, value: Any, message: str) -> None:
    with pytest.raises(sseio.UsageError, match=message.replace("[", r"\[")):
        client(**{name: value})


@pytest.mark.parametrize("client", [sseio.Client, sseio.AsyncClient])
def test_client_stream_checks_url_and_timeout(client: Any) -> None:
    instance = client()
    with pytest.raises(sseio.UsageError, match="url must be a str"):
        instance.stream("GET", None)
    with pytest.raises(sseio.UsageError, match="timeout must be"):
        instance.stream("GET", URL, timeout="slow")


def test_a_header_value_is_never_shown_in_the_error() -> None:
    with pytest.raises(sseio.UsageError) as caught:
        sseio.connect_sse(URL, headers=[("Authorization", b"Bearer sk-secret")])
    assert "secret" not in str(caught.value)
    assert "Authorization" in str(caught.value)


def test_decoder_checks_its_keywords() -> None:
    with pytest.raises(sseio.UsageError, match="comments must be True or False"):
        sseio.SSEDecoder(comments="yes")  # type: ignore[call-overload]
    with pytest.raises(sseio.UsageError, match="max_line_size"):
        list(sseio.iter_sse([b"data: x\n\n"], max_line_size="1"))  # type: ignore[call-overload]


def test_a_number_is_seconds_for_connect_read_and_write() -> None:
    assert coerce_timeout(30) == sseio.Timeout(connect=30, read=30, write=30, event=None)
    assert coerce_timeout(2.5).read == 2.5
    given = sseio.Timeout(read=1)
    assert coerce_timeout(given) is given
    with pytest.raises(sseio.UsageError, match="got None"):
        coerce_timeout(None)


def test_headers_and_params_normalise_to_pairs() -> None:
    assert check_headers("headers", {"A": "1"}) == [("A", "1")]
    assert check_headers("headers", (("A", "1"), ("B", "2"))) == [("A", "1"), ("B", "2")]
    assert check_params("params", {"q": "x y", "n": 3, "f": 1.5, "on": True, "e": None}) == [
        ("q", "x y"),
        ("n", "3"),
        ("f", "1.5"),
        ("on", "true"),
        ("e", ""),
    ]
    assert check_params("params", [("tag", ["a", "b"])]) == [("tag", "a"), ("tag", "b")]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/p", "http://h/p?a=1&b=x+y"),
        ("http://h/p?z=0", "http://h/p?z=0&a=1&b=x+y"),
        ("http://h/p?", "http://h/p?a=1&b=x+y"),
        ("http://h/p?z=0&", "http://h/p?z=0&a=1&b=x+y"),
        ("http://h/p#top", "http://h/p?a=1&b=x+y#top"),
    ],
)
def test_params_join_the_query(url: str, expected: str) -> None:
    assert with_query(url, [("a", "1"), ("b", "x y")]) == expected
    assert with_query(url, []) == url


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sseio.SSEDecoder().feed("data: x\n\n"), "takes bytes, got a str"),
        (lambda: sseio.SSEDecoder().feed(5), "takes bytes, got int"),
        (lambda: list(sseio.iter_sse(["data: x\n\n"])), "chunks of bytes, got str: pass the raw"),
        (lambda: list(sseio.iter_sse(5)), "iterable of bytes, got int"),
        (lambda: sseio.Proxy(5), "Proxy url must be a str"),
        (lambda: sseio.Proxy("http://h:1", headers=[("a", "b")]), "Proxy headers must be a tuple"),
    ],
)
def test_core_values_check_their_input(call: Any, message: str) -> None:
    with pytest.raises(sseio.UsageError, match=message):
        call()


@pytest.mark.anyio
async def test_aiter_sse_names_text_chunks() -> None:
    async def texts() -> Any:
        yield "data: x\n\n"

    source = texts()
    items = sseio.aiter_sse(source)
    with pytest.raises(sseio.UsageError, match="chunks of bytes, got str"):
        await items.__anext__()
    await items.aclose()  # type: ignore[attr-defined]
    await source.aclose()


def test_a_bytearray_and_a_memoryview_are_fed_as_bytes() -> None:
    assert sseio.SSEDecoder().feed(bytearray(b"data: a\n\n")) == [sseio.ServerSentEvent(data="a")]
    assert sseio.SSEDecoder().feed(memoryview(b"data: b\n\n")) == [sseio.ServerSentEvent(data="b")]


def test_settings_reprs_hold_no_credentials() -> None:
    from sseio.chat import ChatClient, MessagesClient, ResponsesClient

    client = sseio.Client(headers={"Authorization": "Bearer sk-secret-1"})
    assert "sk-secret" not in repr(client.settings)
    for chat_client in (ChatClient, ResponsesClient, MessagesClient):
        with chat_client(base_url="http://127.0.0.1:9/v1", api_key="sk-secret-2") as made:
            assert "sk-secret" not in repr(made.settings)
            assert "sk-secret" not in repr(made)
