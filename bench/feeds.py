"""The feeds benchmark: the pipeline's parse_feed over a folder of documents, beside feedparser when it is installed."""

from __future__ import annotations

import calendar
import html
import random
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from signpost.spiders.feeds import FeedError, ParsedFeed, parse_feed

BASE_URL = "https://bench.example.org/feed"
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
TAG = re.compile(r"<[^>]+>")


def make_bench_feeds(folder: Path, sites: int = 16, articles_per_site: int = 60, seed: int = 7) -> list[Path]:
    """Write real-size feeds into ``folder``: the fixture web's (every kind it publishes), and for each an RSS
    feed with full HTML content carrying the real web's breakage (bare '&', HTML entities, a stray byte)."""
    from signpost.fixtureweb import DEMO_CORPUS, build_fixture_web
    from signpost.fixtureweb.site_pages import SiteRenderer

    web = build_fixture_web([DEMO_CORPUS], sites=sites, articles_per_site=articles_per_site, seed=seed, faults=False)
    renderer = SiteRenderer(web)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    rng = random.Random(seed)
    for site in web.sites:
        if not site.feed_kind:
            continue
        rendered = renderer.feed(site, broken_feed=False)
        suffix = "json" if site.feed_kind == "jsonfeed" else "xml"
        written.append(folder / f"{site.index:02d}-{site.feed_kind}.{suffix}")
        written[-1].write_bytes(rendered.body.encode(rendered.encoding, "xmlcharrefreplace"))
        written.append(folder / f"{site.index:02d}-rss2-full-content.xml")
        written[-1].write_bytes(_full_content_rss(web, site, rng))
    return written


def _full_content_rss(web, site, rng: random.Random) -> bytes:
    items = []
    for index in web.site_postings[site.index]:
        posting = web.postings[index]
        paragraphs = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in posting.text.split("\n"))
        # The breakage real feeds carry: an HTML entity in a title, a bare '&' in a link, now and then.
        title = html.escape(posting.title) + (" &mdash; news" if rng.random() < 0.3 else "")
        link = web.posting_url(posting) + ("?ref=feed&utm_source=rss" if rng.random() < 0.3 else "")
        items.append(
            f"<item><title>{title}</title><link>{link}</link>"
            f"<pubDate>{posting.published.strftime('%a, %d %b %Y %H:%M:%S')} EST</pubDate>"
            f"<description>{html.escape(posting.summary)}</description>"
            f"<content:encoded><![CDATA[{paragraphs}]]></content:encoded><dc:creator>{posting.author}</dc:creator></item>"
        )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/'
        f'content/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>{html.escape(site.name)}</title>'
        f"<link>{site.base_url}</link>{''.join(items)}</channel></rss>"
    )
    return body.encode("utf-8")


def read_documents(folder: Path) -> list[tuple[str, bytes]]:
    """Every file under ``folder`` (recursively), by relative path, skipping anything over 50 MiB."""
    documents = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.stat().st_size <= MAX_DOCUMENT_BYTES:
            documents.append((str(path.relative_to(folder)), path.read_bytes()))
    return documents


def _time_signpost(documents: list[tuple[str, bytes]]) -> tuple[float, dict[str, ParsedFeed | str]]:
    results: dict[str, ParsedFeed | str] = {}
    began = time.perf_counter()
    for name, body in documents:
        try:
            results[name] = parse_feed(body, BASE_URL)
        except FeedError as error:
            results[name] = f"FeedError: {error}"
        except Exception as error:
            results[name] = f"CRASH {type(error).__name__}: {error}"
    return time.perf_counter() - began, results


def _time_feedparser(documents: list[tuple[str, bytes]]) -> tuple[float, dict[str, object]]:
    import feedparser

    results = {}
    began = time.perf_counter()
    for name, body in documents:
        try:
            results[name] = feedparser.parse(body, response_headers={"content-location": BASE_URL})
        except Exception as error:
            results[name] = f"CRASH {type(error).__name__}: {error}"
    return time.perf_counter() - began, results


def run_feeds_bench(folder: Path, repeat: int = 3, progress: Callable[[int, int], None] | None = None) -> dict:
    """Median time over ``repeat`` rounds of each parser on every document, entries found, and how they agree."""
    documents = read_documents(folder)
    try:
        import feedparser  # noqa: F401
    except ImportError:
        feedparser_available = False
    else:
        feedparser_available = True
    signpost_seconds, feedparser_seconds = [], []
    signpost_results: dict = {}
    feedparser_results: dict = {}
    for round_number in range(repeat):
        seconds, signpost_results = _time_signpost(documents)
        signpost_seconds.append(seconds)
        if feedparser_available:
            seconds, feedparser_results = _time_feedparser(documents)
            feedparser_seconds.append(seconds)
        if progress:
            progress(round_number + 1, repeat)
    parsed = {name: result for name, result in signpost_results.items() if isinstance(result, ParsedFeed)}
    result = {
        "documents": len(documents),
        "kib": round(sum(len(body) for _, body in documents) / 1024, 1),
        "repeat": repeat,
        "signpost_ms_per_feed": 1000 * statistics.median(signpost_seconds) / max(len(documents), 1),
        "signpost_entries": sum(len(feed.entries) for feed in parsed.values()),
        "signpost_refused": sum(isinstance(r, str) and r.startswith("FeedError") for r in signpost_results.values()),
        "crashes": [
            f"{name}: {r}" for name, r in signpost_results.items() if isinstance(r, str) and r.startswith("CRASH")
        ],
        "feedparser": feedparser_available,
    }
    if feedparser_available:
        result["feedparser_ms_per_feed"] = 1000 * statistics.median(feedparser_seconds) / max(len(documents), 1)
        result["speedup"] = statistics.median(feedparser_seconds) / statistics.median(signpost_seconds)
        result["feedparser_crashes"] = [f"{name}: {r}" for name, r in feedparser_results.items() if isinstance(r, str)]
        result.update(_agreement(parsed, feedparser_results))
    return result


def _agreement(parsed: dict[str, ParsedFeed], reference: dict[str, object]) -> dict:
    """Where feedparser read entries too: same entry count, same links, same titles, same dates (to the minute)."""
    counts = links = titles = dates = compared = entries = 0
    for name, feed in parsed.items():
        if isinstance(reference[name], str):
            continue
        theirs = [entry for entry in reference[name].entries if entry.get("link")]  # type: ignore[attr-defined]
        if not theirs:
            continue
        compared += 1
        counts += len(theirs) == len(feed.entries)
        ours = {entry.url: entry for entry in feed.entries}
        for entry in theirs:
            entries += 1
            mine = ours.get(entry["link"])
            links += mine is not None
            if mine is None:
                continue
            # feedparser keeps an HTML title's (sanitised) markup; Signpost gives its text.
            their_title = html.unescape(TAG.sub("", entry.get("title", "")))
            titles += " ".join(their_title.split()) == (mine.title or "")
            their_date = _their_date(entry)
            if their_date and mine.published:
                dates += abs(their_date - mine.published).total_seconds() < 60
            else:
                dates += their_date is None and mine.published is None
    return {
        "compared_documents": compared,
        "count_agreement": _share(counts, compared),
        "link_agreement": _share(links, entries),
        "title_agreement": _share(titles, entries),
        "date_agreement": _share(dates, entries),
    }


def _their_date(entry: dict) -> datetime | None:
    moment = entry.get("published_parsed") or entry.get("updated_parsed")
    try:
        return datetime.fromtimestamp(calendar.timegm(moment), UTC) if moment else None
    except (ValueError, OverflowError):
        # feedparser reads 9999-12-31T23:59:59-05:00 as a year 10000 that Python cannot hold.
        return None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def format_feeds_table(result: dict) -> str:
    """The benchmark's figures as a plain-text table."""
    lines = [f"feeds benchmark, {result['documents']} documents, {result['kib']} KiB, median of {result['repeat']}"]
    header = f"{'parser':<12} {'ms/feed':>9} {'entries':>8}"
    lines += [
        header,
        "-" * len(header),
        f"{'signpost':<12} {result['signpost_ms_per_feed']:>9.2f} {result['signpost_entries']:>8}",
    ]
    if result["feedparser"]:
        lines.append(f"{'feedparser':<12} {result['feedparser_ms_per_feed']:>9.2f}")
        lines.append(f"speed ratio (feedparser time / signpost time): {result['speedup']:.1f}x")
        agreement = ", ".join(
            f"{name} {result[name + '_agreement']:.1%}"
            for name in ("count", "link", "title", "date")
            if result[name + "_agreement"] is not None
        )
        lines.append(f"agreement with feedparser on {result['compared_documents']} documents: {agreement}")
        lines.append(f"feedparser crashes: {len(result['feedparser_crashes'])}")
        lines += [f"  {crash}" for crash in result["feedparser_crashes"][:10]]
    else:
        lines.append("feedparser is not installed (pip install feedparser): no anchor in this run")
    lines.append(f"refused as not a feed: {result['signpost_refused']}; crashes: {len(result['crashes'])}")
    lines += [f"  {crash}" for crash in result["crashes"][:10]]
    return "\n".join(lines)
