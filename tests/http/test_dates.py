"""HTTP dates (``sseio._http.dates``): the three formats RFC 9110 requires, nothing else."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sseio._http.dates import parse_http_date

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=timezone.utc).timestamp()
MOMENT = datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "  Sun, 06 Nov 1994 08:49:37 GMT\t",
        "06 Nov 1994 08:49:37 GMT",  # weekday left out, as email.utils allows
        "Sun, 6 Nov 1994 08:49:37 UTC",
        "Sun, 06 nov 1994 08:49:37 +0000",
    ],
)
def test_the_formats_give_the_same_moment(value: str) -> None:
    assert parse_http_date(value, NOW) == MOMENT


@pytest.mark.parametrize(
    "value",
    [
        "",
        "soon",
        "Wed, 99 Foo 2015 07:28:00 GMT",
        "Sun, 30 Feb 1994 08:49:37 GMT",  # no such day
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 +0100",  # HTTP dates are in GMT
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49 GMT",
        "1994-11-06T08:49:37Z",
        "Sun, \u0660\u0666 Nov 1994 08:49:37 GMT",  # Arabic-Indic digits
    ],
)
def test_anything_else_is_none(value: str) -> None:
    assert parse_http_date(value, NOW) is None


def test_two_digit_years_are_the_most_recent_not_over_50_years_ahead() -> None:
    def year(two_digits: str) -> int:
        seconds = parse_http_date(f"Sunday, 06-Nov-{two_digits} 08:49:37 GMT", NOW)
        assert seconds is not None
        return datetime.fromtimestamp(seconds, timezone.utc).year

    assert year("26") == 2026
    assert year("76") == 2076  # exactly 50 years ahead is still ahead
    assert year("77") == 1977
    assert year("94") == 1994
    assert year("00") == 2000


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 12, 31)))
def test_agrees_with_the_standard_library_on_imf_fixdates(moment: datetime) -> None:
    value = format_datetime(moment.replace(microsecond=0, tzinfo=timezone.utc), usegmt=True)
    assert parse_http_date(value, NOW) == parsedate_to_datetime(value).timestamp()
