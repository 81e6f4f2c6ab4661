"""Tests for ``sseio._http.reconnect``: time limits and the EventSource reconnection policy.

Covers ``Timeout`` and ``Reconnect`` validation and ``ReconnectState.decide``
with a seeded ``random.Random`` and explicit ``now`` / ``wall_clock`` (nothing
here reads a clock or sleeps): the reconnection time after a clean end, the
server's ``retry`` replacing the default, exponential backoff up to
``max_delay``, jitter bounds (a hypothesis property over seeds and attempts),
the reset after a stream that stayed up, giving up after ``max_attempts`` or
``max_elapsed``, ``on_end=False``, statuses that stop for good, 429 and 503
waiting for ``Retry-After`` (seconds and HTTP-date), which errors are retried,
requests with a body, ``NO_RECONNECT``, and ``retry_after_seconds``.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sseio
from sseio._http.reconnect import (
    DEFAULT_TIMEOUT,
    MAX_RECONNECT_WAIT,
    NO_RECONNECT,
    Reconnect,
    ReconnectState,
    Timeout,
    retry_after_seconds,
)

WALL = 1_700_000_000.0  # a wall-clock time (seconds since the epoch) for Retry-After dates

# --------------------------------------------------------------------------- helpers


def state(seed: int = 0, **policy: object) -> ReconnectState:
    """A fresh state for ``Reconnect(**policy)`` with a seeded random source."""
    return ReconnectState(Reconnect(**policy), random.Random(seed))  # type: ignore[arg-type]


def decide(
    source: ReconnectState,
    error: BaseException | None = None,
    *,
    now: float = 0.0,
    wall_clock: float = WALL,
    retry_ms: int | None = None,
    has_body: bool = False,
    response_started: bool = True,
) -> float | None:
    return source.decide(
        error,
        now=now,
        wall_clock=wall_clock,
        retry_ms=retry_ms,
        has_body=has_body,
        response_started=response_started,
    )


def response_error(status: int, *headers: tuple[str, str]) -> sseio.ResponseError:
    return sseio.ResponseError(
        f"server answered {status}",
        status_code=status,
        headers=[(k.lower(), v) for k, v in headers],
        content_type="application/json",
        body=b"",
    )


def http_date(timestamp: float) -> str:
    return format_datetime(datetime.fromtimestamp(timestamp, timezone.utc), usegmt=True)


def read_error() -> sseio.ReadError:
    error = sseio.ReadError("connection reset while reading")
    error.__cause__ = ConnectionResetError()
    return error


# --------------------------------------------------------------------------- Timeout


def test_timeout_defaults() -> None:
    assert Timeout() == DEFAULT_TIMEOUT
    assert DEFAULT_TIMEOUT.connect is not None
    assert DEFAULT_TIMEOUT.connect > 0
    assert DEFAULT_TIMEOUT.read is not None
    assert DEFAULT_TIMEOUT.read > 0
    assert DEFAULT_TIMEOUT.write is not None
    assert DEFAULT_TIMEOUT.write > 0
    assert DEFAULT_TIMEOUT.event is None
    assert sseio.Timeout is Timeout


def test_timeout_accepts_positive_numbers_and_none() -> None:
    limits = Timeout(connect=0.5, read=1, write=None, event=math.inf)
    assert (limits.connect, limits.read, limits.write, limits.event) == (0.5, 1, None, math.inf)
    assert Timeout(connect=None, read=None, write=None, event=None).read is None


@pytest.mark.parametrize("field", ["connect", "read", "write", "event"])
@pytest.mark.parametrize("value", [0, 0.0, -1, -0.001, math.nan, -math.inf, True, False])
def test_timeout_refuses(field: str, value: object) -> None:
    with pytest.raises(sseio.UsageError) as info:
        Timeout(**{field: value})  # type: ignore[arg-type]
    assert field in str(info.value)


def test_timeout_refuses_non_numbers() -> None:
    # A caller mistake is a UsageError, whatever the wrong type.
    for field in ("connect", "read", "write", "event"):
        with pytest.raises(sseio.UsageError):
            Timeout(**{field: "5"})  # type: ignore[arg-type]


def test_timeout_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Timeout().read = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- Reconnect


def test_reconnect_defaults() -> None:
    policy = Reconnect()
    # "A few seconds", as EventSource implementations use.
    assert 1 <= policy.delay <= 5
    assert policy.max_delay >= policy.delay
    assert policy.backoff >= 1
    assert 0 <= policy.jitter <= 1
    assert policy.on_end is True
    assert policy.retry_body is False
    assert sseio.Reconnect is Reconnect


@pytest.mark.parametrize(
    "options",
    [
        {"delay": 0, "max_delay": 0},
        {"delay": 5, "max_delay": 5},
        {"backoff": 1},
        {"jitter": 0},
        {"jitter": 1},
        {"max_attempts": 0},
        {"max_attempts": None},
        {"max_elapsed": 0.5},
    ],
)
def test_reconnect_accepts(options: dict[str, object]) -> None:
    Reconnect(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"delay": -1},
        {"delay": math.nan},
        {"delay": 10, "max_delay": 5},
        {"max_delay": math.nan},
        {"backoff": 0.5},
        {"backoff": 0},
        {"backoff": math.nan},
        {"jitter": -0.1},
        {"jitter": 1.5},
        {"jitter": math.nan},
        {"max_attempts": -1},
    ],
)
def test_reconnect_refuses(options: dict[str, object]) -> None:
    with pytest.raises(sseio.UsageError):
        Reconnect(**options)  # type: ignore[arg-type]


def test_reconnect_refuses_non_numbers() -> None:
    # A caller mistake is a UsageError, whatever the wrong type.
    for field in ("delay", "max_delay", "backoff", "jitter"):
        with pytest.raises(sseio.UsageError):
            Reconnect(**{field: "1"})  # type: ignore[arg-type]


def test_no_reconnect_never_reconnects() -> None:
    assert sseio.NO_RECONNECT is NO_RECONNECT
    for outcome in (None, read_error(), sseio.RemoteProtocolError("x"), response_error(503)):
        assert decide(ReconnectState(NO_RECONNECT, random.Random(1)), outcome) is None
    source = ReconnectState(NO_RECONNECT, random.Random(1))
    for now in range(5):
        assert decide(source, read_error(), now=float(now)) is None


# --------------------------------------------------------------------------- delays


def test_clean_end_waits_the_reconnection_time() -> None:
    assert decide(state(delay=3.0, jitter=0)) == 3.0


def test_first_failure_waits_the_reconnection_time() -> None:
    assert decide(state(delay=2.5, jitter=0), read_error()) == 2.5


@pytest.mark.parametrize(
    ("retry_ms", "seconds"), [(0, 0.0), (500, 0.5), (1, 0.001), (10_000, 10.0)]
)
def test_server_retry_replaces_the_default(retry_ms: int, seconds: float) -> None:
    assert decide(state(delay=3.0, jitter=0), retry_ms=retry_ms) == pytest.approx(seconds)


def test_server_retry_above_max_delay_is_honoured() -> None:
    # The server's reconnection time is a floor the client waits at least.
    source = state(delay=1.0, max_delay=5.0, jitter=0)
    assert decide(source, read_error(), retry_ms=30_000) == 30.0
    assert decide(source, read_error(), retry_ms=30_000) == 30.0


def test_exponential_backoff_capped_at_max_delay() -> None:
    source = state(delay=1.0, backoff=2.0, max_delay=10.0, jitter=0, max_attempts=None)
    delays = [decide(source, read_error(), now=float(i)) for i in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0]
    assert source.attempts == 8


def test_backoff_also_applies_to_quick_clean_ends() -> None:
    source = state(delay=1.0, backoff=3.0, max_delay=100.0, jitter=0)
    assert [decide(source, None, now=float(i)) for i in range(4)] == [1.0, 3.0, 9.0, 27.0]


def test_backoff_one_keeps_the_delay() -> None:
    source = state(delay=2.0, backoff=1.0, jitter=0, max_attempts=None)
    assert {decide(source, read_error()) for _ in range(20)} == {2.0}


def test_backoff_grows_from_the_server_retry() -> None:
    source = state(delay=3.0, backoff=2.0, max_delay=60.0, jitter=0)
    assert decide(source, read_error(), retry_ms=500) == 0.5
    assert decide(source, read_error(), retry_ms=500) == 1.0
    assert decide(source, read_error(), retry_ms=500) == 2.0


def test_long_outage_does_not_overflow() -> None:
    # ``max_attempts=None`` means no limit: a server down for a day (one attempt
    # a minute at the cap) must still get a delay, not an arithmetic error.
    source = state(delay=3.0, backoff=2.0, max_delay=60.0, jitter=0.2, max_attempts=None)
    delays = [decide(source, read_error(), now=60.0 * i) for i in range(1500)]
    assert all(d is not None and 48.0 <= d <= 72.0 for d in delays[10:])


def test_jitter_is_reproducible_with_a_seed() -> None:
    first = state(seed=7, jitter=0.5, max_attempts=None)
    second = state(seed=7, jitter=0.5, max_attempts=None)
    a = [decide(first, read_error()) for _ in range(10)]
    b = [decide(second, read_error()) for _ in range(10)]
    assert a == b
    assert len(set(a)) > 1  # it does vary


def test_jitter_spreads_the_delay_only_upwards() -> None:
    """The reconnection time is a minimum (WHATWG): jitter may only lengthen it."""
    delays = [decide(state(seed=s, delay=10.0, jitter=0.3)) for s in range(200)]
    assert all(d is not None and 10.0 <= d <= 13.0 for d in delays)
    assert min(d for d in delays if d is not None) < 10.5
    assert max(d for d in delays if d is not None) > 12.5


@settings(deadline=None)
@given(
    seed=st.integers(0, 2**32),
    attempts=st.integers(1, 30),
    delay=st.floats(0, 100, allow_nan=False),
    extra=st.floats(0, 1000, allow_nan=False),
    backoff=st.floats(1, 5, allow_nan=False),
    jitter=st.floats(0, 1, allow_nan=False),
    retry_ms=st.one_of(st.none(), st.integers(0, 200_000)),
)
def test_jitter_bounds(
    seed: int,
    attempts: int,
    delay: float,
    extra: float,
    backoff: float,
    jitter: float,
    retry_ms: int | None,
) -> None:
    max_delay = delay + extra
    source = state(
        seed,
        delay=delay,
        max_delay=max_delay,
        backoff=backoff,
        jitter=jitter,
        max_attempts=None,
    )
    base = delay if retry_ms is None else retry_ms / 1000
    for attempt in range(1, attempts + 1):
        got = decide(source, read_error(), now=float(attempt), retry_ms=retry_ms)
        assert got is not None
        # Backoff grows from the reconnection time up to the cap (or the server's
        # own reconnection time when that is longer); jitter spreads it evenly.
        capped = min(base * backoff ** (attempt - 1), max(max_delay, base))
        slack = 1e-9 * max(1.0, capped)
        assert capped * (1 - jitter) - slack <= got <= capped * (1 + jitter) + slack
        assert got >= 0


@settings(deadline=None)
@given(seed=st.integers(0, 2**32), retry_ms=st.integers(1, 120_000))
def test_jitter_never_waits_less_than_the_servers_retry(seed: int, retry_ms: int) -> None:
    # WHATWG: wait the reconnection time (the server's ``retry``), then
    # optionally longer; backoff and jitter may only add to it.
    source = state(seed, delay=3.0, max_delay=60.0, jitter=0.2)
    got = decide(source, read_error(), retry_ms=retry_ms)
    assert got is not None
    assert got >= retry_ms / 1000


# --------------------------------------------------------------------------- reset and giving up


def test_reset_after_a_stream_that_stayed_up() -> None:
    source = state(delay=1.0, backoff=2.0, jitter=0, reset_after=30.0, max_attempts=None)
    assert [decide(source, read_error(), now=float(i)) for i in range(3)] == [1.0, 2.0, 4.0]
    source.connected(now=100.0)
    assert decide(source, read_error(), now=130.0) == 1.0  # up for reset_after: start again
    assert source.attempts == 1
    assert decide(source, read_error(), now=131.0) == 2.0


def test_short_lived_stream_does_not_reset() -> None:
    source = state(delay=1.0, backoff=2.0, jitter=0, reset_after=30.0)
    assert [decide(source, read_error(), now=float(i)) for i in range(3)] == [1.0, 2.0, 4.0]
    source.connected(now=100.0)
    assert decide(source, None, now=129.0) == 8.0


def test_connection_counts_only_once() -> None:
    source = state(delay=1.0, backoff=2.0, jitter=0, reset_after=30.0)
    source.connected(now=0.0)
    assert decide(source, read_error(), now=40.0) == 1.0
    # A failure to connect later is not "a stream that stayed up".
    assert decide(source, read_error(), now=80.0) == 2.0


def test_max_attempts_gives_up() -> None:
    source = state(delay=1.0, jitter=0, max_attempts=3)
    assert [decide(source, read_error()) is not None for _ in range(3)] == [True] * 3
    assert decide(source, read_error()) is None
    assert decide(source, None) is None


def test_max_attempts_counts_again_after_a_stable_stream() -> None:
    source = state(delay=1.0, jitter=0, max_attempts=2, reset_after=10.0)
    assert decide(source, read_error(), now=0.0) is not None
    assert decide(source, read_error(), now=1.0) is not None
    source.connected(now=2.0)
    assert decide(source, read_error(), now=20.0) is not None
    assert decide(source, read_error(), now=21.0) is not None
    assert decide(source, read_error(), now=22.0) is None


def test_max_attempts_none_never_gives_up() -> None:
    source = state(delay=0.0, jitter=0, max_attempts=None)
    assert all(decide(source, read_error()) == 0.0 for _ in range(1000))


def test_max_elapsed_gives_up() -> None:
    source = state(delay=1.0, jitter=0, max_attempts=None, max_elapsed=10.0)
    assert decide(source, read_error(), now=100.0) is not None
    assert decide(source, read_error(), now=105.0) is not None
    assert decide(source, read_error(), now=109.5) is not None
    assert decide(source, read_error(), now=110.5) is None


def test_max_elapsed_restarts_after_a_stable_stream() -> None:
    source = state(delay=1.0, jitter=0, max_elapsed=10.0, reset_after=30.0)
    assert decide(source, read_error(), now=0.0) is not None
    source.connected(now=5.0)
    assert decide(source, read_error(), now=50.0) is not None
    assert decide(source, read_error(), now=55.0) is not None


# --------------------------------------------------------------------------- what is retried


def test_on_end_false_stops_after_a_clean_end() -> None:
    source = state(on_end=False, jitter=0, delay=1.0)
    assert decide(source, None) is None
    assert decide(source, read_error()) == 1.0  # failures are still retried


@pytest.mark.parametrize("status", [204, 205, 200, 201, 301, 400, 401, 403, 404, 410, 500, 502])
def test_status_answers_stop_for_good(status: int) -> None:
    source = state(max_attempts=None)
    assert decide(source, response_error(status, ("Retry-After", "1"))) is None


@pytest.mark.parametrize("status", [429, 503])
def test_429_503_retry_without_retry_after(status: int) -> None:
    assert decide(state(delay=2.0, jitter=0), response_error(status)) == 2.0


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("value", ["120", " 120 ", "0120"])
def test_429_503_honour_retry_after_seconds(status: int, value: str) -> None:
    source = state(delay=2.0, max_delay=10.0, jitter=0.2)
    assert decide(source, response_error(status, ("Retry-After", value))) == 120.0


@pytest.mark.parametrize("status", [429, 503])
def test_429_503_honour_retry_after_date(status: int) -> None:
    source = state(delay=2.0, max_delay=10.0, jitter=0)
    error = response_error(status, ("Retry-After", http_date(WALL + 90)))
    assert decide(source, error, wall_clock=WALL) == pytest.approx(90.0)
    # Measured from the wall clock given, not from the monotonic ``now``.
    again = state(delay=2.0, jitter=0)
    assert decide(again, error, now=5.0, wall_clock=WALL + 30) == pytest.approx(60.0)


def test_short_retry_after_does_not_shorten_the_delay() -> None:
    source = state(delay=5.0, jitter=0)
    assert decide(source, response_error(503, ("Retry-After", "1"))) == 5.0


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "", "\xb2", http_date(WALL - 3600)])
def test_unusable_or_past_retry_after_waits_the_normal_delay(value: str) -> None:
    source = state(delay=2.0, jitter=0)
    assert decide(source, response_error(503, ("Retry-After", value))) == 2.0


def test_429_counts_as_an_attempt() -> None:
    source = state(delay=1.0, jitter=0, max_attempts=2)
    assert decide(source, response_error(429, ("Retry-After", "3"))) == 3.0
    assert decide(source, response_error(429, ("Retry-After", "3"))) == 3.0
    assert decide(source, response_error(429, ("Retry-After", "3"))) is None


@pytest.mark.parametrize(
    "error",
    [
        sseio.LimitExceeded("max_event_size", 10, 11),
        sseio.TooManyRedirects("more than 10 redirects"),
        sseio.UsageError("bad argument"),
        sseio.EncodeError("bad event"),
        sseio.SSEError("something else"),
        ValueError("not ours"),
        KeyboardInterrupt(),
    ],
)
def test_errors_that_are_not_retried(error: BaseException) -> None:
    assert decide(state(max_attempts=None), error) is None


@pytest.mark.parametrize(
    "error",
    [
        sseio.TransportError("connection failed"),
        sseio.ConnectError("connection refused"),
        sseio.ConnectTimeout("connect timed out"),
        sseio.ReadError("connection reset"),
        sseio.ReadTimeout("read timed out"),
        sseio.WriteError("broken pipe"),
        sseio.WriteTimeout("write timed out"),
        sseio.EventTimeout("no event for 30 s"),
        sseio.RemoteProtocolError("server closed mid-chunk"),
        sseio.ProtocolError("bad framing"),
    ],
)
def test_errors_that_are_retried(error: BaseException) -> None:
    assert decide(state(delay=1.5, jitter=0), error) == 1.5


@pytest.mark.parametrize("outcome", [None, sseio.ReadError("reset"), sseio.EventTimeout("x")])
def test_request_with_a_body_is_not_repeated_once_answered(outcome: BaseException | None) -> None:
    assert decide(state(), outcome, has_body=True, response_started=True) is None


@pytest.mark.parametrize("outcome", [None, sseio.ReadError("reset")])
def test_request_with_a_body_repeated_when_allowed(outcome: BaseException | None) -> None:
    source = state(retry_body=True, delay=1.0, jitter=0)
    assert decide(source, outcome, has_body=True, response_started=True) == 1.0


def test_request_with_a_body_retried_before_any_response() -> None:
    source = state(delay=1.0, jitter=0)
    assert decide(source, sseio.ConnectError("refused"), has_body=True, response_started=False)
    assert decide(source, response_error(503), has_body=True, response_started=False) == 2.0


def test_bodiless_request_retried_after_its_response_started() -> None:
    assert decide(state(delay=1.0, jitter=0), read_error(), has_body=False) == 1.0


def test_refused_outcomes_do_not_count_as_attempts() -> None:
    source = state(delay=1.0, jitter=0)
    assert decide(source, response_error(404)) is None
    assert decide(source, read_error(), has_body=True) is None
    assert source.attempts == 0
    assert decide(source, read_error()) == 1.0


def test_default_random_source() -> None:
    source = ReconnectState(Reconnect(delay=1.0, jitter=0.5))
    got = decide(source, read_error())
    assert got is not None
    assert 0.5 <= got <= 1.5


# --------------------------------------------------------------------------- retry_after_seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        (" 120\t", 120.0),
        ("007", 7.0),
        ("86400", 86400.0),
    ],
)
def test_retry_after_delta_seconds(value: str, seconds: float) -> None:
    assert retry_after_seconds(value, WALL) == seconds


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "-1",
        "+1",
        "1.5",
        "1e3",
        "12 s",
        "soon",
        "0x10",
        "\xb2",  # superscript two: a Latin-1 header byte that str.isdigit() accepts
        "\xb9\xb3",
        "\u0661\u0662",  # Arabic-Indic digits: not HTTP's DIGIT
        "Wed, 99 Foo 2015 07:28:00 GMT",
    ],
)
def test_retry_after_invalid(value: str | None) -> None:
    assert retry_after_seconds(value, WALL) is None


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
        "Sun Nov  6 08:49:37 1994",  # obsolete asctime
    ],
)
def test_retry_after_http_date_formats(value: str) -> None:
    # RFC 9110: a recipient must accept all three HTTP-date formats.
    moment = datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc).timestamp()
    assert retry_after_seconds(value, moment - 45) == pytest.approx(45.0)
    assert retry_after_seconds(value, moment) == 0.0


def test_retry_after_date_in_the_past_is_zero() -> None:
    assert retry_after_seconds(http_date(WALL - 10), WALL) == 0.0
    assert retry_after_seconds(http_date(WALL + 10), WALL) == pytest.approx(10.0)


@pytest.mark.parametrize("retry_ms", [86_400_001, 2**63, 10**4000, sseio.MAX_RETRY])
def test_a_huge_retry_is_kept_but_the_wait_is_capped(retry_ms: int) -> None:
    # The server's value stays exact in the stream state; the wait never
    # becomes a float overflow or a sleep no event loop accepts.
    source = ReconnectState(Reconnect(delay=1.0, jitter=0.2))
    got = decide(source, read_error(), retry_ms=retry_ms)
    assert got == MAX_RECONNECT_WAIT


def test_a_wait_below_the_cap_is_the_servers() -> None:
    source = ReconnectState(Reconnect(delay=1.0, jitter=0))
    assert decide(source, read_error(), retry_ms=3_600_000) == 3600.0
