"""HTTP dates (RFC 9110 section 5.6.7), parsed without the ``email`` package.

``parse_http_date`` reads the three formats a recipient must accept: the
IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``), the obsolete RFC 850 form
(``Sunday, 06-Nov-94 08:49:37 GMT``) and the obsolete asctime form
(``Sun Nov  6 08:49:37 1994``), and returns seconds since the epoch, or
``None`` for anything else.  A two-digit year is taken as the most recent
year with those digits that is not more than 50 years after ``now``.  The
standard library's ``email.utils`` would do this too, but importing it loads
``socket``, which this sans-IO layer never does.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

__all__ = ["parse_http_date"]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_TIME = r"(?P<hour>\d\d):(?P<minute>\d\d):(?P<second>\d\d)"
_ZONE = r"(?:GMT|UTC|[+-]0000)"
_FIXDATE = re.compile(
    r"(?:[A-Za-z]{3}, )?(?P<day>\d{1,2}) (?P<month>[A-Za-z]{3}) (?P<year>\d{4}) "
    + _TIME
    + " "
    + _ZONE,
    re.ASCII,
)
_RFC850 = re.compile(
    rf"[A-Za-z]+, (?P<day>\d\d)-(?P<month>[A-Za-z]{{3}})-(?P<year>\d\d) {_TIME} {_ZONE}",
    re.ASCII,
)
_ASCTIME = re.compile(
    rf"[A-Za-z]{{3}} (?P<month>[A-Za-z]{{3}}) +(?P<day>\d{{1,2}}) {_TIME} (?P<year>\d{{4}})",
    re.ASCII,
)


def parse_http_date(value: str, now: float) -> float | None:
    """Seconds since the epoch for an HTTP date, or ``None`` when it is not one."""
    text = value.strip()
    for pattern in (_FIXDATE, _RFC850, _ASCTIME):
        match = pattern.fullmatch(text)
        if match is not None:
            break
    else:
        return None
    month = _MONTHS.get(match["month"].lower())
    if month is None:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:
        this_year = datetime.fromtimestamp(now, timezone.utc).year
        year += this_year - this_year % 100
        if year > this_year + 50:
            year -= 100
    try:
        moment = datetime(
            year,
            month,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            tzinfo=timezone.utc,
        )
    except ValueError:
        return None
    return moment.timestamp()
