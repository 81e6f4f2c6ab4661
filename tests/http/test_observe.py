"""What a source reports (``sseio._http.observe``): hook values, reasons, redaction."""

from __future__ import annotations

import pytest

import sseio
from sseio._http.observe import reconnect_reason, redacted_headers, redacted_url


def test_credential_headers_are_redacted_whatever_their_case() -> None:
    headers = [
        ("Authorization", "Bearer s3cret"),
        ("proxy-authorization", "Basic czNjcmV0"),
        ("COOKIE", "id=s3cret"),
        ("X-Api-Key", "s3cret"),
        ("Accept", "text/event-stream"),
    ]
    shown = redacted_headers(headers)
    assert "s3cret" not in repr(shown)
    assert "czNjcmV0" not in repr(shown)
    assert shown[-1] == ("Accept", "text/event-stream")
    assert [name for name, _ in shown] == [name for name, _ in headers]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@example.com:8080/a?b=c", "http://[redacted]@example.com:8080/a?b=c"),
        ("https://token@example.com/", "https://[redacted]@example.com/"),
        ("http://example.com/a@b", "http://example.com/a@b"),  # an @ in the path is no userinfo
        ("http://[::1]:80/x", "http://[::1]:80/x"),
        ("http://[::1/", "http://[::1/"),  # not a URL, and nothing to hide
        ("http://u:pw@[::1/", "[redacted]"),
    ],
)
def test_urls_lose_their_userinfo(url: str, shown: str) -> None:
    assert redacted_url(url) == shown


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (None, "stream ended"),
        (
            sseio.ResponseError("x", status_code=503, headers=[], content_type="", body=b""),
            "status 503",
        ),
        (sseio.EventTimeout("x"), "event timeout"),
        (sseio.ReadTimeout("x"), "read timeout"),
        (sseio.ReadError("x"), "connection dropped"),
        (sseio.ConnectTimeout("x"), "connect failed"),
        (sseio.ConnectError("x"), "connect failed"),
        (sseio.WriteTimeout("x"), "write failed"),
        (sseio.RemoteProtocolError("x"), "protocol error"),
        (sseio.TransportTimeout("x"), "transport error"),
        (ValueError("x"), "ValueError"),
    ],
)
def test_reconnect_reasons(error: BaseException | None, reason: str) -> None:
    assert reconnect_reason(error) == reason


def test_hooks_must_be_callables() -> None:
    with pytest.raises(sseio.UsageError, match=r"Hooks\.stream_ended must be callable"):
        sseio.Hooks(stream_ended="print")  # type: ignore[arg-type]
    with pytest.raises(sseio.UsageError, match=r"hooks must be a sseio\.Hooks"):
        sseio.Client(hooks=print)  # type: ignore[arg-type]


def test_hook_values_are_frozen_and_comparable() -> None:
    one = sseio.ReconnectScheduled("http://h/", "read timeout", 1, 0.5, None)
    assert one == sseio.ReconnectScheduled("http://h/", "read timeout", 1, 0.5, None)
    with pytest.raises(AttributeError):
        one.delay = 2.0  # type: ignore[misc]
