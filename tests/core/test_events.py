"""sseio._core.events: the immutable values decoders produce."""

from __future__ import annotations

import dataclasses
import json

import pytest

import sseio


def test_defaults() -> None:
    event = sseio.ServerSentEvent()
    assert (event.event, event.data, event.id, event.retry) == ("message", "", "", None)


def test_events_are_immutable() -> None:
    event = sseio.ServerSentEvent(data="x")
    with pytest.raises(AttributeError):
        event.data = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        event.extra = 1  # type: ignore[attr-defined]
    assert event._replace(data="y") == sseio.ServerSentEvent(data="y")


def test_equality_needs_the_same_type() -> None:
    event = sseio.ServerSentEvent(data="x")
    assert event == sseio.ServerSentEvent("message", "x", "", None)
    assert event != ("message", "x", "", None)
    assert event != sseio.ServerSentEvent(data="y")
    assert (event != sseio.ServerSentEvent(data="x")) is False
    assert len({event, sseio.ServerSentEvent(data="x")}) == 1


def test_json_parses_data() -> None:
    assert sseio.ServerSentEvent(data='{"a": [1, 2]}').json() == {"a": [1, 2]}
    with pytest.raises(json.JSONDecodeError):
        sseio.ServerSentEvent(data="not json").json()


def test_done_and_comment_are_frozen_slotted_values() -> None:
    assert sseio.Done() == sseio.Done()
    assert sseio.Comment("a") == sseio.Comment("a") != sseio.Comment("b")
    assert sseio.Done() != sseio.Comment("")
    for value in (sseio.Done(), sseio.Comment("a")):
        assert not hasattr(value, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sseio.Comment("a").text = "b"  # type: ignore[misc]
    # Python 3.10/3.11 raise TypeError here for slotted frozen dataclasses, later ones
    # FrozenInstanceError (an AttributeError): either way nothing is set.
    done = sseio.Done()
    with pytest.raises((AttributeError, TypeError)):
        done.extra = 1  # type: ignore[attr-defined]
    assert not hasattr(done, "extra")
