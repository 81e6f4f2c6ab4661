"""Checks of the chat clients' keyword arguments, made when the call is made.

``check_client_options`` covers what ``ChatClient(...)`` / ``AsyncChatClient(...)``
take beyond the transport's own keywords (those are ``AsyncClient``'s to check);
``check_call_options`` what ``stream()`` and ``create()`` take; ``encode_body``
turns the request body into the bytes sent, once.  A wrong type is a
``UsageError`` naming the argument, raised at the call, never a foreign
exception later (when the first attempt sends).  Values that may hold a
secret (``api_key``, header values) are named by their type only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .._core.errors import UsageError
from .._core.lines import check_limit
from .._http.arguments import (
    check_bool,
    check_headers,
    check_instance,
    check_optional_str,
    coerce_timeout,
)
from .._http.reconnect import Timeout
from ._retry import ChatRetry

__all__ = ["check_call_options", "check_client_options", "check_messages", "encode_body"]


def _a(value: object) -> str:
    """``None``, or ``a dict``: a value named by its type only."""
    return "None" if value is None else f"a {type(value).__name__}"


def _optional_bool(name: str, value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise UsageError(f"{name} must be True, False or None, got {value!r}")
    return value


def _optional_number(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise UsageError(f"{name} must be a number or None, got {value!r}")


def _optional_int(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise UsageError(f"{name} must be an int or None, got {value!r}")


def _optional_mapping(name: str, value: object) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise UsageError(f"{name} must be a mapping or None, got {_a(value)}")


def _think_tags(value: object) -> tuple[tuple[str, str], ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise UsageError(f"think_tags must be (open, close) pairs of str, got {value!r}")
    tags = tuple(value)
    for pair in tags:
        if (
            not isinstance(pair, (tuple, list))
            or len(pair) != 2
            or not all(isinstance(tag, str) for tag in pair)
        ):
            raise UsageError(f"think_tags must be (open, close) pairs of str, got {pair!r}")
    return tuple((open_tag, close_tag) for open_tag, close_tag in tags)


def check_client_options(
    *,
    base_url: object,
    api_key: object,
    headers: object,
    timeout: object,
    retry: object,
    split_think: object,
    think_tags: object,
    max_event_size: object,
) -> tuple[list[tuple[str, str]], Timeout, tuple[tuple[str, str], ...]]:
    """The client's headers as pairs, its ``Timeout`` and its think tags, once checked."""
    check_optional_str("base_url", base_url)
    if api_key is not None and not isinstance(api_key, str):
        raise UsageError(f"api_key must be a str or None, got {_a(api_key)}")
    pairs = check_headers("headers", headers)
    checked_timeout = coerce_timeout(timeout)
    check_instance("retry", retry, ChatRetry, "a sseio.chat.ChatRetry")
    check_bool("split_think", split_think)
    tags = _think_tags(think_tags)
    if not isinstance(max_event_size, int):
        raise UsageError(f"max_event_size must be a positive integer, got {max_event_size!r}")
    check_limit("max_event_size", max_event_size)
    return pairs, checked_timeout, tags


def check_messages(messages: object) -> list[Mapping[str, Any]]:
    """The messages as a list: an iterable of mappings (a list of dicts, usually), not empty."""
    if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
        raise UsageError(f"messages must be a list of message mappings, got {_a(messages)}")
    listed = list(messages)
    if not listed:
        raise UsageError("messages must not be empty")
    for position, message in enumerate(listed):
        if not isinstance(message, Mapping):
            raise UsageError(f"messages[{position}] must be a mapping (a dict), got {_a(message)}")
    return listed


def check_call_options(
    *,
    temperature: object,
    max_tokens: object,
    hide_think: object,
    tools: object,
    extra_headers: object,
    extra_query: object,
    extra_body: object,
    split_think: object,
    retry: object,
    timeout: object,
) -> Timeout | None:
    """Check one ``stream()`` / ``create()`` call's keywords; its ``Timeout``, if it gave one."""
    _optional_number("temperature", temperature)
    _optional_int("max_tokens", max_tokens)
    _optional_bool("hide_think", hide_think)
    if tools is not None and not isinstance(tools, (list, tuple)):
        raise UsageError(f"tools must be a list or None, got {_a(tools)}")
    if extra_headers is not None:
        check_headers("extra_headers", extra_headers)
    _optional_mapping("extra_query", extra_query)
    _optional_mapping("extra_body", extra_body)
    _optional_bool("split_think", split_think)
    check_instance("retry", retry, ChatRetry, "a sseio.chat.ChatRetry")
    return None if timeout is None else coerce_timeout(timeout)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The request body as sent (compact UTF-8 JSON); a value JSON cannot hold is a
    ``UsageError`` naming the parameter it is in."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as exc:
        culprit = next((name for name, value in body.items() if not _encodable(value)), None)
        where = f"parameter {culprit!r}" if culprit else "the request body"
        raise UsageError(f"{where} cannot be sent as JSON: {exc}") from exc


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
