"""The mock chat API's requests (``sseio/testing/_mock_request.py``): its configuration,
request validation as the real API does it, and the fault syntax."""

from __future__ import annotations

import re
from typing import Any

import pytest
from mock_helpers import CONFIG, TOOLS, invalid

import sseio
from sseio.testing._mock_request import (
    FAULT_MODES,
    Fault,
    InvalidChatRequest,
    MockConfig,
    parse_chat_request,
    parse_fault,
)

# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"models": ()},
        {"models": ["a"]},
        {"models": ("a", "")},
        {"token_rate": -1},
        {"token_rate": float("inf")},
        {"first_token_delay": "1"},
        {"keepalive": 0},
        {"keepalive": True},
    ],
)
def test_config_rejects_bad_values(options: dict[str, Any]) -> None:
    with pytest.raises(sseio.UsageError):
        MockConfig(**options)


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ([1, 2], 400, None, None),
        (invalid(model=...), 400, "model", "missing_required_parameter"),
        (invalid(model=3), 400, "model", "invalid_type"),
        (invalid(model=""), 400, "model", "invalid_value"),
        (invalid(messages=...), 400, "messages", "missing_required_parameter"),
        (invalid(messages=[]), 400, "messages", "invalid_value"),
        (invalid(messages="hi"), 400, "messages", "invalid_value"),
        (invalid(messages=["hi"]), 400, "messages[0]", "invalid_value"),
        (
            invalid(messages=[{"role": "robot", "content": "x"}]),
            400,
            "messages[0]",
            "invalid_value",
        ),
        (invalid(n=0), 400, "n", "invalid_value"),
        (invalid(n=9), 400, "n", "invalid_value"),
        (invalid(n="2"), 400, "n", "invalid_type"),
        (invalid(n=True), 400, "n", "invalid_type"),
        (invalid(max_tokens=0), 400, "max_tokens", "invalid_value"),
        (invalid(max_tokens=100_001), 400, "max_tokens", "invalid_value"),
        (invalid(max_completion_tokens=10**9), 400, "max_completion_tokens", "invalid_value"),
        (invalid(stream="yes"), 400, "stream", "invalid_type"),
        (invalid(stream_options={"include_usage": True}), 400, "stream_options", "invalid_value"),
        (invalid(stream=True, stream_options=[]), 400, "stream_options", "invalid_type"),
        (
            invalid(stream=True, stream_options={"include_usage": 1}),
            400,
            "include_usage",
            "invalid_type",
        ),
        (invalid(hideThink="true"), 400, "hideThink", "invalid_type"),
        (invalid(tools={"a": 1}), 400, "tools", "invalid_type"),
        (invalid(tools=[{"type": "retrieval"}]), 400, "tools[0]", "invalid_value"),
        (invalid(tools=[{"type": "function", "function": {}}]), 400, "tools[0]", "invalid_value"),
        (
            invalid(tools=[{"type": "function", "function": {"name": "a b"}}]),
            400,
            "tools[0]",
            "invalid_value",
        ),
        (invalid(tools=TOOLS * 65), 400, "tools", "invalid_value"),
        (invalid(tool_choice="auto"), 400, "tool_choice", "invalid_value"),
        (
            invalid(tools=TOOLS, tool_choice={"type": "function"}),
            400,
            "tool_choice",
            "invalid_value",
        ),
        (invalid(tools=TOOLS, tool_choice="sometimes"), 400, "tool_choice", "invalid_value"),
    ],
)
def test_invalid_requests(body: Any, status: int, param: str | None, code: str | None) -> None:
    with pytest.raises(InvalidChatRequest) as caught:
        parse_chat_request(body, CONFIG)
    error = caught.value
    assert isinstance(error, sseio.UsageError)
    assert (error.status, error.param, error.code) == (status, param, code)
    payload = error.payload()["error"]
    assert payload == {
        "message": str(error),
        "type": "invalid_request_error",
        "param": param,
        "code": code,
    }
    assert str(error)


def test_error_messages_quote_values_briefly() -> None:
    with pytest.raises(InvalidChatRequest) as caught:
        parse_chat_request(invalid(model="m" * 500), KNOWN_ONLY)
    assert len(str(caught.value)) < 150
    assert "..." in str(caught.value)


KNOWN_ONLY = MockConfig(keepalive=None, known_models_only=True)


def test_any_model_is_served_unless_only_known_ones_are() -> None:
    assert parse_chat_request(invalid(model="gpt-4o-mini"), CONFIG).model == "gpt-4o-mini"
    with pytest.raises(InvalidChatRequest) as caught:
        parse_chat_request(invalid(model="gpt-4o-mini"), KNOWN_ONLY)
    assert (caught.value.status, caught.value.code) == (404, "model_not_found")
    assert parse_chat_request(invalid(model=CONFIG.models[0]), KNOWN_ONLY).model == CONFIG.models[0]


# -- faults ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", sorted(FAULT_MODES))
def test_every_fault_mode_parses(mode: str) -> None:
    fault = parse_fault(mode)
    assert fault.mode == mode
    assert (fault.after, fault.times, fault.key, fault.retry_after) == (3, None, mode, 1)
    assert fault.delay == {"slow": 2.0, "stall": 3600.0}.get(mode, 0.0)


def test_fault_parameters() -> None:
    fault = parse_fault(" STALL ; after=0; times=2 ;key=my key; retry_after=7; delay=0.25;")
    assert fault == Fault("stall", after=0, times=2, key="my key", retry_after=7, delay=0.25)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("explode", "unknown mock fault mode 'explode'"),
        ("", "unknown mock fault mode ''"),
        ("drop; after", "not name=value"),
        ("drop; after=-1", "after must be an integer >= 0"),
        ("drop; after=1.5", "after must be an integer"),
        ("drop; times=0", "times must be an integer >= 1"),
        ("429; retry_after=soon", "retry_after must be an integer"),
        ("slow; delay=-2", "delay must be seconds"),
        ("slow; delay=nan", "delay must be seconds"),
        ("slow; delay=inf", "delay must be seconds"),
        ("slow; delay=x", "delay must be seconds"),
        ("stall; delay=86401", "delay must be seconds from 0 to 86400"),
        ("slow; colour=red", "unknown mock fault parameter 'colour=red'"),
        ("429; key=", "key must not be empty"),
        ("slow; " + "x" * 300, "longer than 200"),
    ],
)
def test_invalid_faults(text: str, message: str) -> None:
    with pytest.raises(InvalidChatRequest, match=re.escape(message)) as caught:
        parse_fault(text)
    assert (caught.value.status, caught.value.param, caught.value.code) == (
        400,
        "mock_fault",
        "invalid_fault",
    )
