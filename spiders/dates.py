"""Dates as feeds and sitemaps write them (RFC 822 with any zone name, ISO 8601 and its shortenings), read as UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# Offsets in hours. US generic names (ET, CT, ...) take standard time: a date is off by an hour, never by eight.
ZONE_HOURS: dict[str, float] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "IST": 1, "CET": 1, "MET": 1,
    "CEST": 2, "MEST": 2, "MESZ": 2, "MEZ": 1, "EET": 2, "EEST": 3, "MSK": 3, "AST": -4, "ADT": -3,
    "EST": -5, "EDT": -4, "ET": -5, "CST": -6, "CDT": -5, "CT": -6, "MST": -7, "MDT": -6, "MT": -7,
    "PST": -8, "PDT": -7, "PT": -8, "AKST": -9, "AKDT": -8, "HST": -10, "NZST": 12, "NZDT": 13,
    "AEST": 10, "AEDT": 11, "ACST": 9.5, "AWST": 8, "JST": 9, "KST": 9, "HKT": 8, "SGT": 8, "NST": -3.5,
}  # fmt: skip
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip

# "Thu, 01 Jan 2004 10:00:00 EST", "Mon, 13 Feb, 2012 ...", "01-Jan-2004", "Thu, 01 Jan 2004" (no time).
RFC822 = re.compile(
    r"(?:[a-z]{2,9}\.?,?\s*)?(?P<day>\d{1,2})(?:st|nd|rd|th)?[\s-]+(?P<month>[a-z]{3,9})\.?,?[\s-]+(?P<year>\d{2,4}),?"
    r"(?:\s+(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d\d)(?::(?P<second>\d\d)(?:[.,]\d+)?)?)?\s*(?P<zone>.*)",
    re.IGNORECASE,
)
# "May 7, 2024 09:30 PDT" and asctime's "Tue May  7 09:30:00 2024".
MONTH_FIRST = re.compile(
    r"(?:[a-z]{2,9}\.?,?\s+)?(?P<month>[a-z]{3,9})\.?\s+(?P<day>\d{1,2}),?"
    r"(?:\s+(?P<year>\d{4}))?(?:,?\s+(?P<hour>\d{1,2}):(?P<minute>\d\d)(?::(?P<second>\d\d))?)?"
    r"(?:\s+(?P<year2>\d{4}))?\s*(?P<zone>.*)",
    re.IGNORECASE,
)
# ISO 8601 and W3C-DTF, including the shortened "2003-12" and "2003", a space for the T and a zone name.
ISO = re.compile(
    r"(?P<year>\d{4})(?:[-/]?(?P<month>\d\d)(?:[-/]?(?P<day>\d\d))?)?"
    r"(?:[t\s]+(?P<hour>\d\d):?(?P<minute>\d\d)(?::?(?P<second>\d\d)(?:[.,]\d+)?)?)?\s*(?P<zone>.*)",
    re.IGNORECASE,
)
OFFSET = re.compile(r"(?:(?:gmt|utc|ut)\s*)?(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d\d))?", re.IGNORECASE)
COMMENT = re.compile(r"\([^)]*\)")
NAME_AFTER_OFFSET = re.compile(r"(?<=\d)\s+[A-Za-z]{1,5}$")
# No date is longer; a longer text is not one, and is not worth a regular expression's time.
MAX_DATE_CHARS = 80


def parse_date(value: str | None) -> datetime | None:
    """A feed or sitemap date as an aware UTC datetime; None when it cannot be read or is out of range."""
    if not value:
        return None
    if len(value) > 10 * MAX_DATE_CHARS:
        return None
    value = " ".join(value.split())
    if not value or len(value) > MAX_DATE_CHARS:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    try:
        if parsed is None:
            parsed = _parse_loose(value)
        if parsed is None:
            return None
        if parsed.tzinfo is None:
            # Feeds without a zone are nearly always UTC; guessing the server's zone would be worse.
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        # 9999-12-31T23:59:59-05:00 is past the last instant Python can hold: a missing date, not a broken feed.
        return None


def _parse_loose(value: str) -> datetime | None:
    if value[4:5] in ("-", "/", "", "T", " ") and (match := ISO.fullmatch(value)):
        month = int(match["month"] or 1)
        return _build(int(match["year"]), month, int(match["day"] or 1), match, match["zone"])
    if match := RFC822.fullmatch(value):
        year = _full_year(match["year"])
        month = MONTHS.get(match["month"].lower())
        return _build(year, month, int(match["day"]), match, match["zone"]) if month else None
    if match := MONTH_FIRST.fullmatch(value):
        month = MONTHS.get(match["month"].lower())
        year = match["year"] or match["year2"]
        if month and year:
            return _build(int(year), month, int(match["day"]), match, match["zone"])
    return None


def _full_year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        # RFC 822's two-digit years: 70-99 are the 1900s, the rest this century.
        year += 1900 if year >= 70 else 2000
    return year


def _build(year: int, month: int, day: int, match: re.Match, zone_text: str) -> datetime | None:
    zone = _zone(zone_text)
    if zone is None:
        return None
    hour, minute, second = (int(match[name] or 0) for name in ("hour", "minute", "second"))
    if hour == 24 and minute == 0 and second == 0:
        return datetime(year, month, day, tzinfo=zone) + timedelta(days=1)
    return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=zone)


def _zone(text: str) -> timezone | None:
    """The zone after a date: empty (UTC), a name, an offset, or a name with an offset (GMT-07:00)."""
    text = COMMENT.sub(" ", text).strip().strip(",").strip()
    if not text:
        return UTC
    if (hours := ZONE_HOURS.get(text.upper())) is not None:
        return timezone(timedelta(hours=hours))
    # "+0000 GMT": the offset says it; the name after it is a reminder.
    if match := OFFSET.fullmatch(NAME_AFTER_OFFSET.sub("", text)):
        hours_text, minutes_text = match["hours"], match["minutes"]
        if minutes_text is None and len(hours_text) > 2:
            hours_text, minutes_text = hours_text[:-2], hours_text[-2:]
        offset = timedelta(hours=int(hours_text), minutes=int(minutes_text or 0))
        if offset >= timedelta(hours=24):
            return None
        return timezone(-offset if match["sign"] == "-" else offset)
    # An unknown zone name: better no date than one silently hours off.
    return None
