"""Errors and the retry policy (``sseio.chat._retry``): typed status errors, what is retryable."""

from __future__ import annotations

from typing import Any

import pytest
from chat_helpers import response_error

import sseio
import sseio.chat
from sseio.chat._retry import ChatRetry, retryable, status_error


@pytest.mark.parametrize(
    ("status", "cls", "retry"),
    [
        (400, sseio.chat.BadRequestError, False),
        (401, sseio.chat.AuthenticationError, False),
        (403, sseio.chat.PermissionDeniedError, False),
        (404, sseio.chat.NotFoundError, False),
        (409, sseio.chat.ConflictError, False),
        (422, sseio.chat.UnprocessableEntityError, False),
        (429, sseio.chat.RateLimitError, True),
        (408, sseio.chat.APIStatusError, True),
        (418, sseio.chat.APIStatusError, False),
        (500, sseio.chat.InternalServerError, True),
        (503, sseio.chat.InternalServerError, True),
    ],
)
def test_status_errors_are_typed(
    status: int, cls: type[sseio.chat.APIStatusError], retry: bool
) -> None:
    body = {"error": {"message": "the reason", "type": "some_type", "code": "c"}}
    error = status_error(response_error(status, body, retry_after="3"), wall_clock=0.0)
    assert type(error) is cls
    assert isinstance(error, sseio.ResponseError)
    assert isinstance(error, sseio.chat.APIError)
    assert error.status_code == status
    assert error.message == "the reason"
    assert (error.type, error.code) == ("some_type", "c")
    assert error.retryable is retry
    assert error.retry_after == 3.0
    assert error.header("retry-after") == "3"
    assert str(error) == f"status {status} (some_type): the reason"


def test_status_error_without_json_body() -> None:
    error = status_error(response_error(502), wall_clock=0.0)
    assert isinstance(error, sseio.chat.InternalServerError)
    assert error.message == "the server answered 502"


def test_a_200_that_is_not_a_stream_stays_a_response_error() -> None:
    original = response_error(200)
    assert status_error(original, wall_clock=0.0) is original
    assert not retryable(original)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sseio.ConnectError("x"), True),
        (sseio.ReadTimeout("x"), True),
        (sseio.EventTimeout("x"), True),
        (sseio.RemoteProtocolError("x"), True),
        (sseio.chat.StreamTruncated("x"), True),
        (sseio.chat.APIError("x", retryable=True), True),
        (sseio.chat.APIError("x"), False),
        (sseio.chat.InvalidChunk("x"), False),
        (sseio.LimitExceeded("max_line_size", 1, 2), False),
        (sseio.UsageError("x"), False),
    ],
)
def test_what_is_retryable(error: sseio.SSEError, expected: bool) -> None:
    assert retryable(error) is expected


def test_retry_policy_validation() -> None:
    for bad in [
        {"max_retries": -1},
        {"max_retries": True},
        {"delay": 5, "max_delay": 1},
        {"backoff": 0.5},
        {"jitter": 2},
    ]:
        with pytest.raises(sseio.UsageError):
            ChatRetry(**bad)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_retries", "2"),
        ("max_retries", True),
        ("delay", "1"),
        ("backoff", None),
        ("max_delay", float("nan")),
        ("jitter", True),
        ("max_retry_after", None),
        ("max_retry_after", -1),
        ("max_elapsed", "x"),
        ("max_elapsed", float("nan")),
    ],
)
def test_retry_policy_types_are_checked(name: str, value: Any) -> None:
    with pytest.raises(sseio.UsageError, match=rf"^{name} must be"):
        ChatRetry(**{name: value})


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("api_error", True), ("overloaded_error", True), ("invalid_request_error", False)],
)
def test_anthropic_error_types_in_a_stream(kind: str, expected: bool) -> None:
    from sseio._core.events import make_event
    from sseio.chat._retry import stream_error

    payload = {"type": "error", "error": {"type": kind, "message": "m"}}
    error = stream_error(make_event("error", "", "", None), payload)
    assert error is not None
    assert error.retryable is expected
