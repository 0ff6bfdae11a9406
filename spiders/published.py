"""The publication date of an article: the page's, the feed's and the sitemap's dates reconciled, with reasons kept."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from htmldate import find_date
from htmldate.extractors import custom_parse
from lxml.html import HtmlElement

LOGGER = logging.getLogger(__name__)

EARLIEST = datetime(1995, 1, 1)
# Zones put a date a day either side of UTC; dates this close are the same publication.
SAME_DAY = timedelta(days=1, hours=12)
# An item a feed or sitemap dates this much later than the page is an old page listed again, not news.
RELISTED = timedelta(days=2)

ARTICLE_TYPES = re.compile(r"article|posting|blog|report|review|news|creativework|webpage|recipe|howto", re.I)
META_PUBLISHED = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "published",
    "published_time",
    "publication_date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "citation_publication_date",
    "citation_date",
    "article.published",
    "date",
)
# Where a date was read from the text rather than from the page's markup: weaker than a feed's date.
IN_TEXT = "a date in the page's text"
URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|[-_]|$)")


@dataclass
class DateChoice:
    """The date an article is filed under, where it came from, and why the others were set aside."""

    published_at: datetime | None
    basis: str  # "feed", "sitemap", "page" or "first seen"
    reasons: list[str] = field(default_factory=list)


def parse_moment(value: str | None, latest: datetime | None = None) -> datetime | None:
    """An ISO date-time, or any date htmldate can read ("July 17, 2025"), as an aware UTC datetime."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" +0000", "+00:00"))
    except ValueError:
        ceiling = (latest or datetime.now(UTC)).replace(tzinfo=None) + timedelta(days=1)
        parsed = custom_parse(value[:60], "%Y-%m-%d", EARLIEST, ceiling)
        if parsed is None:
            return None
        moment = datetime.fromisoformat(parsed)
    # the offset is kept: the day the page was published is the day in its own zone
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _json_ld_objects(tree: HtmlElement) -> list[dict]:
    objects: list[dict] = []
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack and len(objects) < 50:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                stack.extend(value for key, value in item.items() if key in ("@graph", "mainEntity", "itemListElement"))
    return objects


def _type_names(item: dict) -> str:
    kind = item.get("@type")
    return " ".join(kind) if isinstance(kind, list) else str(kind or "")


def json_ld_published(tree: HtmlElement) -> list[tuple[str, str]]:
    """(where, value) of each datePublished in the page's JSON-LD, articles before other types."""
    found: list[tuple[int, str, str]] = []
    for item in _json_ld_objects(tree):
        value = item.get("datePublished") or item.get("dateCreated")
        if isinstance(value, str) and value.strip():
            kind = _type_names(item)
            rank = 0 if re.search(r"article|posting|blog|report|news", kind, re.I) else 1
            if ARTICLE_TYPES.search(kind) or not kind:
                found.append((rank, f"JSON-LD {kind or 'object'} datePublished", value))
    return [(where, value) for _, where, value in sorted(found, key=lambda entry: entry[0])]


def meta_published(tree: HtmlElement) -> list[tuple[str, str]]:
    """(where, value) of the publication dates the head's meta tags and itemprops declare, in order of trust."""
    found: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        value = meta.get("content") or meta.get("datetime")
        if key in META_PUBLISHED and value and value.strip() and key not in found:
            found[key] = value
    return [(f"meta {key}", found[key]) for key in META_PUBLISHED if key in found]


def url_date(url: str | None) -> datetime | None:
    """The /2025/09/04/ kind of date in an article's URL."""
    match = URL_DATE.search(url or "")
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
    except ValueError:
        return None


def _htmldate(tree: HtmlElement, url: str, latest: datetime, extensive: bool) -> datetime | None:
    try:
        found = find_date(
            tree, url=url, extensive_search=extensive, original_date=True, max_date=latest.date().isoformat()
        )
    except Exception as error:  # htmldate's guards miss some trees
        LOGGER.debug("date search failed on %s: %s", url, error)
        return None
    return parse_moment(found, latest)


def page_date(tree: HtmlElement, url: str, latest: datetime) -> tuple[datetime | None, str]:
    """The publication date the page states and where it says so; modified dates and copyright years never count.

    htmldate reads the date the page shows as its original one; a declared date of the same day (JSON-LD, meta
    tags) gives it its time of day, and the URL's date stands in when the page shows none.
    """
    declared = [
        (where, moment)
        for where, value in [*json_ld_published(tree), *meta_published(tree)]
        if (moment := parse_moment(value, latest)) is not None and moment <= latest + SAME_DAY
    ]
    from_url = url_date(url)
    shown = _htmldate(tree, url, latest, extensive=False)
    if shown is None and not declared and from_url is None:
        # the search through the text also reads copyright years and "2024" in a headline as 1 January:
        # a first of the month from there is a date the page does not state
        found = _htmldate(tree, url, latest, extensive=True)
        if found is not None and found.day != 1:
            return found, f"{IN_TEXT} (htmldate)"
    if shown is not None:
        same_day = [(where, moment) for where, moment in declared if moment.date() == shown.date()]
        if same_day:
            return same_day[0][1], same_day[0][0]
        others = f"; the page also declares {declared[0][1]:%Y-%m-%d} ({declared[0][0]})" if declared else ""
        return shown, f"the date the page shows (htmldate){others}"
    if declared:
        return declared[0][1], declared[0][0]
    if from_url is not None and from_url <= latest + SAME_DAY:
        return from_url, "the URL's date"
    return None, ""


def reconcile_dates(
    page: datetime | None,
    page_where: str,
    feed: datetime | None,
    feed_kind: str,
    first_seen: datetime,
) -> DateChoice:
    """The date to file the article under: the feed's or sitemap's, checked against the page's, never after first seen.

    An old page that a feed or sitemap lists again with a new date keeps the page's date, so it never comes back as
    news; without any date to trust, the article is dated by when it was first seen, and says so.
    """
    reasons: list[str] = []
    latest = first_seen + SAME_DAY
    if feed is not None and feed > latest:
        reasons.append(f"the {feed_kind}'s date {feed:%Y-%m-%d} is after the article was first seen")
        feed = None
    if page is not None and page > latest:
        reasons.append(f"the page's date {page:%Y-%m-%d} is after the article was first seen")
        page = None
    if feed is not None and page is not None:
        if abs(feed - page) <= SAME_DAY:
            reasons.append(f"the page agrees ({page_where})")
            return DateChoice(min(feed, first_seen), feed_kind, reasons)
        if page < feed - RELISTED and not page_where.startswith(IN_TEXT):
            reasons.append(f"the {feed_kind} dates it {feed:%Y-%m-%d}, but the page was published {page:%Y-%m-%d}")
            return DateChoice(page, "page", [f"from {page_where}", *reasons])
        reasons.append(f"the page says {page:%Y-%m-%d} ({page_where}), later than the {feed_kind}: an update")
        return DateChoice(min(feed, first_seen), feed_kind, reasons)
    if feed is not None:
        reasons.append("the page states no publication date")
        return DateChoice(min(feed, first_seen), feed_kind, reasons)
    if page is not None:
        return DateChoice(min(page, first_seen), "page", [f"from {page_where}", *reasons])
    reasons.append("no publication date in the page, feed or sitemap")
    return DateChoice(None, "first seen", reasons)
