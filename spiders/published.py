"""The publication date of an article: the page's, the feed's and the sitemap's dates reconciled, with reasons kept."""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from htmldate import find_date
from htmldate.extractors import custom_parse
from lxml.html import HtmlElement

from signpost.spiders.shown_dates import ShownDate, calendar_day, shown_dates

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
# A printed date this many text chunks from the headline belongs to the article only when nothing else dates it.
FAR_FROM_HEADLINE = 12
# A date above the headline counts as this many times further than one below it.
ABOVE_WEIGHT = 3
WORDS = re.compile(r"\w+")
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


def _json_ld_objects(blocks: list[str]) -> list[dict]:
    """The JSON-LD objects of a page in document order, those nested in @graph, mainEntity and item lists included."""
    objects: list[dict] = []
    for block in blocks:
        try:
            data = json.loads(block)
        except (ValueError, RecursionError):
            continue
        queue = deque([data])
        while queue and len(objects) < 50:
            item = queue.popleft()
            if isinstance(item, list):
                queue.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                queue.extend(value for key, value in item.items() if key in ("@graph", "mainEntity", "itemListElement"))
    return objects


def _type_names(item: dict) -> str:
    kind = item.get("@type")
    return " ".join(kind) if isinstance(kind, list) else str(kind or "")


def json_ld_published(
    objects: list[dict], url: str | None = None, headline: str | None = None
) -> list[tuple[str, str]]:
    """(where, value) of each datePublished in the page's JSON-LD: the object that is this page (its URL or its
    headline) alone where there is one, else articles before other types: a list of teasers declares many dates."""
    page_url = (url or "").rstrip("/")
    headline_words = WORDS.findall((headline or "").lower())
    found: list[tuple[int, str, str]] = []
    for item in objects:
        value = item.get("datePublished") or item.get("dateCreated")
        if not isinstance(value, str) or not value.strip():
            continue
        kind = _type_names(item)
        if not (ARTICLE_TYPES.search(kind) or not kind):
            continue
        rank = 1 if re.search(r"article|posting|blog|report|news", kind, re.I) else 2
        if _names_page(item, page_url, headline_words):
            rank = 0
        found.append((rank, f"JSON-LD {kind or 'object'} datePublished", value))
    if any(rank == 0 for rank, _, _ in found):
        found = [entry for entry in found if entry[0] == 0]  # the others are teasers of other pages
    return [(where, value) for _, where, value in sorted(found, key=lambda entry: entry[0])]


def _names_page(item: dict, page_url: str, headline_words: list[str]) -> bool:
    entity = item.get("mainEntityOfPage")
    addresses = [item.get("url"), item.get("@id"), entity.get("@id") if isinstance(entity, dict) else entity]
    if page_url and any(isinstance(a, str) and a.split("#")[0].rstrip("/") == page_url for a in addresses):
        return True
    title = item.get("headline") or item.get("name")
    return bool(headline_words) and isinstance(title, str) and WORDS.findall(title.lower()) == headline_words


def meta_published(metas: list[HtmlElement]) -> list[tuple[str, str]]:
    """(where, value) of the publication dates the page's meta tags and itemprops declare, in order of trust."""
    found: dict[str, str] = {}
    for meta in metas:
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        value = meta.get("content") or meta.get("datetime")
        if key in META_PUBLISHED and value and value.strip() and key not in found:
            found[key] = value
    return [(f"meta {key}", found[key]) for key in META_PUBLISHED if key in found]


def url_date(url: str | None) -> datetime | None:
    """The /2025/09/04/ kind of date in an article's URL."""
    return calendar_day(URL_DATE.search(url or ""))


def meta_modified(metas: list[HtmlElement], objects: list[dict]) -> list[datetime]:
    """The modified dates the page declares (its JSON-LD objects' dateModified, meta modified_time): an update's."""
    values = [item.get("dateModified") for item in objects]
    for meta in metas:
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if "modified" in key or "updated" in key:
            values.append(meta.get("content"))
    return [moment for value in values if isinstance(value, str) and (moment := parse_moment(value)) is not None]


def _htmldate(tree: HtmlElement, url: str, latest: datetime) -> datetime | None:
    try:
        found = find_date(tree, url=url, extensive_search=False, original_date=True, max_date=latest.date().isoformat())
    except Exception as error:  # htmldate's guards miss some trees
        LOGGER.debug("date search failed on %s: %s", url, error)
        return None
    return parse_moment(found, latest)


def _same_day(first: datetime, second: datetime) -> bool:
    return first.date() == second.date()


def _within_a_day(first: datetime, second: datetime) -> bool:
    return abs((first.date() - second.date()).days) <= 1


def page_date(
    tree: HtmlElement,
    url: str,
    latest: datetime,
    headline: str | None = None,
    listed: tuple[str, datetime] | None = None,
    *,
    json_ld: list[str],
) -> tuple[datetime | None, str]:
    """The publication date the page states and where it says so; modified dates and copyright years never count.

    Four witnesses: the date printed beside the headline (what readers see), the dates the markup declares (JSON-LD,
    meta tags), htmldate's reading and the URL's. The printed date wins unless it is the declared modified date
    of a page that declares an earlier publication, or it is a day off a declared date (which has the zone); a
    printed date far below the headline counts only when nothing else dates the page. htmldate's reading gives way
    to a declared publication date when it matches nothing the page declares, prints or puts in its URL (it took
    an update or a teaser's date). A printed "03/11/2026" is read the page's country's way round unless the markup,
    the URL or the feed or sitemap that ``listed`` the page (where, date) dates it the other way. A date found only
    by searching the whole text is not trusted: on pages that state no date it is a copyright year or another
    article's date more often than the article's. ``json_ld`` is the text of the page's JSON-LD blocks.
    """
    dates = _page_witnesses(tree, url, latest, headline, listed, json_ld)
    found = _checked_htmldate(tree, url, latest, dates)
    witnesses = ([found] if found is not None else []) + dates.declared
    if dates.from_url is not None:
        witnesses.append(("the URL's date", dates.from_url))
    if (chosen := _from_printed(dates, witnesses)) is not None:
        return chosen[1], chosen[0]
    if found is not None:
        return found[1], found[0]
    if dates.publication is not None:
        return dates.publication[1], dates.publication[0]
    updated = [shown for shown in _nearest_first(dates.printed) if shown.kind == "updated"]
    if updated:
        return updated[0].moment, f"the only date printed by the headline, an update ({updated[0].text!r})"
    if dates.from_url is not None:
        return dates.from_url, "the URL's date"
    return None, ""


@dataclass
class _PageWitnesses:
    """What a page says of its date, before any is chosen."""

    declared: list[tuple[str, datetime]]  # (where, date) from JSON-LD, then meta tags
    publication: tuple[str, datetime] | None  # the first declared date that is not the modified one
    modified: list[datetime]
    printed: list[ShownDate]
    from_url: datetime | None
    listed: tuple[str, datetime] | None  # the feed's or sitemap's

    def is_modified(self, moment: datetime) -> bool:
        return any(_same_day(moment, other) for other in self.modified)

    def independent(self) -> list[tuple[str, datetime]]:
        """Dates that do not come from reading the page's printed digits: markup, URL, feed or sitemap."""
        url = [("the URL's date", self.from_url)] if self.from_url is not None else []
        return [*self.declared, *url, *([self.listed] if self.listed is not None else [])]


def _page_witnesses(
    tree: HtmlElement,
    url: str,
    latest: datetime,
    headline: str | None,
    listed: tuple[str, datetime] | None,
    json_ld: list[str],
) -> _PageWitnesses:
    objects = _json_ld_objects(json_ld)
    declared_json = _believable(json_ld_published(objects, url, headline), latest)
    metas = list(tree.iter("meta"))  # in the body too: itemprop dates are often there
    declared_meta = _believable(meta_published(metas), latest)
    modified = meta_modified(metas, objects)
    from_url = url_date(url)
    witnesses = _PageWitnesses(
        declared=declared_json + declared_meta,
        publication=None,
        modified=modified,
        printed=shown_dates(tree, headline, latest + SAME_DAY),
        from_url=from_url if from_url is not None and from_url <= latest + SAME_DAY else None,
        listed=listed,
    )
    # a page that stamps its update everywhere may still declare its publication in its JSON-LD or its meta tags
    firsts = [dates[0] for dates in (declared_json, declared_meta) if dates]
    witnesses.publication = next((d for d in firsts if not witnesses.is_modified(d[1])), firsts[0] if firsts else None)
    return witnesses


def _checked_htmldate(
    tree: HtmlElement, url: str, latest: datetime, dates: _PageWitnesses
) -> tuple[str, datetime] | None:
    """htmldate's reading, unless it matches nothing the page declares, prints or puts in its URL while the page
    declares a publication (it took an update or a teaser's date); a declared date of the same day gives the zone."""
    found = _htmldate(tree, url, latest)
    if found is None:
        return None
    where = "htmldate's reading of the page"
    publication = dates.publication
    if publication is not None and not _same_day(found, publication[1]):
        is_printed = any(_same_day(found, shown.moment) for shown in dates.printed)
        is_declared = any(_same_day(found, moment) for _, moment in dates.declared)
        url_agrees = dates.from_url is not None and _same_day(found, dates.from_url)
        if not is_printed and (dates.is_modified(found) or not (is_declared or url_agrees)):
            where = f"{publication[0]}, not htmldate's {found:%Y-%m-%d} (the page's update or another date)"
            found = publication[1]
    same_day = [(w, moment) for w, moment in dates.declared if _same_day(moment, found)]
    return same_day[0] if same_day else (where, found)


def _from_printed(dates: _PageWitnesses, witnesses: list[tuple[str, datetime]]) -> tuple[str, datetime] | None:
    """(where, date) from the dates printed by the headline, nearest first, weighed against the other witnesses."""
    for shown in _nearest_first(dates.printed):
        if shown.kind == "updated":
            continue
        agrees = [(where, moment) for where, moment in witnesses if _within_a_day(shown.moment, moment)]
        if not agrees and shown.other_reading is not None:
            # "03/11/2026" means 3 November on a page that declares 3 November, whatever its language says (not
            # htmldate's reading, which may only have read the same digits its own way round)
            agrees = [(w, moment) for w, moment in dates.independent() if _within_a_day(shown.other_reading, moment)]
        if abs(shown.distance) > FAR_FROM_HEADLINE and witnesses and not agrees:
            continue
        if agrees:
            return f"the date printed by the headline ({shown.text!r}), confirmed by {agrees[0][0]}", agrees[0][1]
        if dates.is_modified(shown.moment) and dates.publication is not None:
            where, moment = dates.publication
            return f"{where}; the date printed ({shown.text!r}) is the page's update", moment
        return f"the date printed by the headline ({shown.text!r})", shown.moment
    return None


def _believable(found: list[tuple[str, str]], latest: datetime) -> list[tuple[str, datetime]]:
    return [
        (where, moment)
        for where, value in found
        if (moment := parse_moment(value, latest)) is not None and moment <= latest + SAME_DAY
    ]


def _nearest_first(printed: list[ShownDate]) -> list[ShownDate]:
    """Dates below the headline before those above it: above it sit tickers, section dates and breadcrumbs."""
    return sorted(printed, key=lambda shown: shown.distance if shown.distance >= 0 else -ABOVE_WEIGHT * shown.distance)


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
        if page < feed - RELISTED:
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
