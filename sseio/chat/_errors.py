"""The chat layer's errors: branches of sseio's one error tree (``SSEError``).

- ``InvalidChunk`` (a ``ProtocolError``): a ``data`` payload that is not a chat chunk
  (``UnexpectedStream``, one of its kind, says the stream is another API's shape);
- ``StreamTruncated``: a chat stream ended early (no ``[DONE]``, no
  ``finish_reason``, or the connection broke after text was shown);
- ``APIError``: the API reported an error, inside the stream or as an HTTP
  status (``APIStatusError``, also a ``ResponseError``, and one subclass per
  status family); it carries the server's message, type, code and payload, and
  whether a retry can help.

Errors raised after some of the answer arrived carry it in ``partial``.
"""

from __future__ import annotations

from typing import Any

from .._core.errors import ProtocolError, ResponseError, SSEError

__all__ = [
    "APIError",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "InvalidChunk",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "StreamTruncated",
    "UnprocessableEntityError",
]


class InvalidChunk(ProtocolError):
    """A chat stream sent a ``data`` payload that is not a chat chunk (not JSON,
    or the wrong shape); ``payload`` holds what arrived (text, or the decoded JSON)."""

    def __init__(self, message: str, *, payload: Any = None) -> None:
        super().__init__(message)
        self.payload = payload
        self.partial: Any = None


class StreamTruncated(SSEError):
    """A chat stream ended before its end: the body stopped without ``[DONE]`` and
    without a ``finish_reason``, or the connection failed (``__cause__``) after
    part of the answer was shown.  ``partial`` is the ``ChatCompletion`` received
    so far, so nothing already shown is lost."""

    def __init__(self, message: str, *, partial: Any = None) -> None:
        super().__init__(message)
        self.partial = partial


class APIError(SSEError):
    """The API reported an error, inside the stream (``data: {"error": ...}`` or
    ``event: error``) or as an HTTP status (``APIStatusError``).

    ``message``, ``type``, ``code`` and ``param`` are the server's own;
    ``payload`` is the whole error object as sent; ``status_code`` is ``None``
    for an error inside a 200 stream; ``retryable`` says whether trying again
    later can help (rate limits, overload, server errors); ``partial`` is what
    the stream had delivered before the error.
    """

    def __init__(
        self,
        message: str,
        *,
        type: str | None = None,
        code: str | int | None = None,
        param: str | None = None,
        payload: Any = None,
        status_code: int | None = None,
        retryable: bool = False,
        partial: Any = None,
    ) -> None:
        where = f"status {status_code}" if status_code is not None else "error in stream"
        kind = f" ({type})" if type else ""
        SSEError.__init__(self, f"{where}{kind}: {message}")  # not the next class in a status MRO
        self.message: str | None = message
        self.type = type
        self.code = code
        self.param = param
        self.payload = payload
        self.status_code = status_code
        self.retryable = retryable
        self.partial = partial


class APIStatusError(APIError, ResponseError):
    """The API answered with an error status instead of a stream; also a ``ResponseError``
    (``headers``, ``content_type``, ``body``, ``json``).  ``retry_after`` is the
    ``Retry-After`` wait in seconds, if the server gave one."""

    status_code: int  # always set here, unlike an error inside a stream

    def __init__(
        self,
        message: str,
        *,
        response: ResponseError,
        type: str | None = None,
        code: str | int | None = None,
        param: str | None = None,
        payload: Any = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        APIError.__init__(
            self,
            message,
            type=type,
            code=code,
            param=param,
            payload=payload,
            status_code=response.status_code,
            retryable=retryable,
        )
        self.headers = response.headers
        self.content_type = response.content_type
        self.body = response.body
        self.json = response.json
        self.retry_after = retry_after


class BadRequestError(APIStatusError):
    """400: the request is invalid (unknown parameter, bad model name...)."""


class AuthenticationError(APIStatusError):
    """401: missing or wrong API key."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this model or endpoint."""


class NotFoundError(APIStatusError):
    """404: no such model or endpoint."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests or tokens; retryable after ``retry_after``."""


class InternalServerError(APIStatusError):
    """5xx: the server failed; retryable."""
