"""The Scrapy spider that crawls one batch of sources: feeds, sitemaps and listing pages, then their new articles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from signpost.spiders.feeds import FeedError, parse_feed
from signpost.spiders.listing import listing_links
from signpost.spiders.sitemaps import SitemapError, parse_sitemap
from signpost.spiders.urls import canonicalize_url
from signpost.store.db import make_engine
from signpost.store.pages import get_validators, known_urls, record_sightings, save_validators
from signpost.store.records import FeedEntry, FetchedPage


@dataclass
class SourceReport:
    """What one crawl found for one source; the parent process turns it into the source's health."""

    source_id: int
    ok: bool = False
    not_modified: bool = False
    items_found: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    error: str | None = None
    page_errors: list[str] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    requested: int = 0


def describe_failure(failure: Failure) -> tuple[int, str]:
    """(HTTP status or 0, a sentence an admin understands) for a failed request."""
    error = failure.value
    if isinstance(error, HttpError):
        status = error.response.status
        return status, f"HTTP {status}"
    name = type(error).__name__
    message = str(error) or name
    if "robots.txt" in message or (name == "IgnoreRequest" and "Forbidden by robots" in message):
        return 0, "disallowed by robots.txt"
    if "max redirections" in message.lower() or "redirect" in message.lower():
        return 0, f"too many redirects ({message})"
    if (
        name == "DownloadCancelledError"
        or "maxsize" in message.lower()
        or "max size" in message.lower()
        or "larger than download max size" in message
    ):
        return 0, "response too large (over the size limit, SIGNPOST_MAX_PAGE_BYTES)"
    if "Timeout" in name or "timed out" in message.lower() or "took longer than" in message:
        return 0, f"timed out ({message})"
    return 0, f"{name}: {message}"


class SourcesSpider(scrapy.Spider):
    """Fetches each source's index (feed, sitemap or listing), then every article URL not yet stored."""

    name = "signpost"

    def __init__(
        self,
        sources: list[dict],
        store_url: str,
        max_pages: int = 200,
        max_depth: int = 2,
        sitemap_days: int = 45,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.sources = {source["id"]: source for source in sources}
        self.engine = make_engine(store_url)
        self.default_max_pages = max_pages
        self.default_max_depth = max_depth
        self.sitemap_since = datetime.now(UTC) - timedelta(days=sitemap_days)
        self.reports = {source_id: SourceReport(source_id) for source_id in self.sources}
        self.new_validators: dict[str, tuple[str | None, str | None]] = {}
        self.listing_pages_seen: dict[int, int] = {}
        self.requested_urls: set[str] = set()

    # -- starting points -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources.values():
            yield self._index_request(source["url"], source, kind=source["kind"], depth=0, conditional=True)

    def _index_request(self, url: str, source: dict, *, kind: str, depth: int, conditional: bool) -> scrapy.Request:
        headers = {}
        if conditional and kind in ("feed", "sitemap"):
            etag, last_modified = self._validators_for(url, source)
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
        callback = {"feed": self.parse_feed, "sitemap": self.parse_sitemap, "listing": self.parse_listing}[kind]
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.index_failed,
            headers=headers,
            dont_filter=True,
            meta={
                "source_id": source["id"],
                "depth_in_source": depth,
                "is_root": depth == 0,
                "handle_httpstatus_all": True,
            },
        )

    def _validators_for(self, url: str, source: dict) -> tuple[str | None, str | None]:
        if url == source["url"]:
            return source.get("etag"), source.get("last_modified")
        return get_validators(self.engine, [url]).get(url, (None, None))

    # -- index pages -----------------------------------------------------------------------------------

    def _check_index_response(self, response: Response) -> bool:
        """False (and the source's report updated) when the index response is not usable."""
        report = self.reports[response.meta["source_id"]]
        if response.status == 304:
            if response.meta["is_root"]:
                report.ok, report.not_modified = True, True
            return False
        if response.status >= 400:
            return False
        if response.meta["is_root"]:
            report.ok = True
            report.etag = response.headers.get("ETag", b"").decode("latin-1") or None
            report.last_modified = response.headers.get("Last-Modified", b"").decode("latin-1") or None
        else:
            etag = response.headers.get("ETag", b"").decode("latin-1") or None
            modified = response.headers.get("Last-Modified", b"").decode("latin-1") or None
            if etag or modified:
                self.new_validators[response.url] = (etag, modified)
        return True

    def _root_failed(self, meta: dict, message: str) -> Iterator[scrapy.Request]:
        """Record the failure; for the source's own URL, go in by its fallbacks so no article is missed."""
        report = self.reports[meta["source_id"]]
        if not meta.get("is_root"):
            report.page_errors.append(message)
            return
        report.ok = False
        report.error = message
        source = self.sources[meta["source_id"]]
        fallbacks = (source.get("options") or {}).get("fallbacks", [])
        if fallbacks and not meta.get("is_fallback"):
            fallback = fallbacks[0]
            report.error = f"{message}; used its {fallback['kind']} {fallback['url']} instead"
            request = self._index_request(fallback["url"], source, kind=fallback["kind"], depth=1, conditional=True)
            request.meta["is_fallback"] = True
            yield request

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status >= 400:
            yield from self._root_failed(response.meta, f"{response.url}: HTTP {response.status}")
            return
        if not self._check_index_response(response):
            return
        try:
            feed = parse_feed(response.body, response.url)
        except FeedError as error:
            yield from self._root_failed(response.meta, f"broken feed at {response.url}: {error}")
            return
        if feed.warnings:
            # A recovered feed may have lost its tail: take what it has, flag it, and go in another way too.
            warning = f"broken feed at {response.url} (read {len(feed.entries)} entries): {feed.warnings[0]}"
            yield from self._root_failed(response.meta, warning)
        yield from self._article_requests(response.meta["source_id"], feed.entries)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status >= 400:
            yield from self._root_failed(response.meta, f"{response.url}: HTTP {response.status}")
            return
        if not self._check_index_response(response):
            return
        source = self.sources[response.meta["source_id"]]
        try:
            sitemap = parse_sitemap(response.body, response.url)
        except SitemapError as error:
            yield from self._root_failed(response.meta, f"broken sitemap at {response.url}: {error}")
            return
        if sitemap.kind == "index":
            children = [
                entry for entry in sitemap.entries if entry.lastmod is None or entry.lastmod >= self.sitemap_since
            ]
            for entry in children[:50]:
                yield self._index_request(
                    entry.url, source, kind="sitemap", depth=response.meta["depth_in_source"] + 1, conditional=True
                )
            return
        recent = [entry for entry in sitemap.entries if entry.lastmod is None or entry.lastmod >= self.sitemap_since]
        recent.sort(key=lambda entry: entry.lastmod or datetime.min.replace(tzinfo=UTC), reverse=True)
        entries = [
            # lastmod says when the page changed, not when it was published: it travels apart
            FeedEntry(url=entry.url, title=entry.title, published=entry.published, modified=entry.lastmod)
            for entry in recent
        ]
        yield from self._article_requests(source["id"], entries, via="sitemap")

    def parse_listing(self, response: Response) -> Iterator[scrapy.Request]:
        if response.status >= 400:
            yield from self._root_failed(response.meta, f"{response.url}: HTTP {response.status}")
            return
        if not self._check_index_response(response):
            return
        source = self.sources[response.meta["source_id"]]
        options = source.get("options") or {}
        if not isinstance(response, TextResponse):
            yield from self._root_failed(response.meta, f"{response.url} is not an HTML page")
            return
        links = listing_links(response.body, response.url, options.get("allow", []), options.get("deny", []))
        depth = response.meta["depth_in_source"]
        self.listing_pages_seen[source["id"]] = self.listing_pages_seen.get(source["id"], 0) + 1
        yield from self._article_requests(
            source["id"], [FeedEntry(url=url) for url in links.article_links], via="listing"
        )
        max_depth = options.get("max_depth", self.default_max_depth)
        if depth < max_depth:
            for url in links.next_pages:
                if self.listing_pages_seen[source["id"]] + self.reports[source["id"]].requested >= self._max_pages(
                    source
                ):
                    break
                request = self._index_request(url, source, kind="listing", depth=depth + 1, conditional=False)
                request.dont_filter = False
                yield request

    def _max_pages(self, source: dict) -> int:
        return (source.get("options") or {}).get("max_pages") or self.default_max_pages

    def index_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        request = failure.request
        _, message = describe_failure(failure)
        yield from self._root_failed(request.meta, f"{request.url}: {message}")

    # -- articles --------------------------------------------------------------------------------------

    def _article_requests(
        self, source_id: int, entries: list[FeedEntry], via: str = "feed"
    ) -> Iterator[scrapy.Request]:
        report = self.reports[source_id]
        source = self.sources[source_id]
        by_url: dict[str, FeedEntry] = {}
        for entry in entries:
            by_url.setdefault(canonicalize_url(entry.url), entry)
        report.items_found += len(by_url)
        record_sightings(self.engine, [(url, source_id) for url in by_url])
        already = known_urls(self.engine, by_url) | self.requested_urls
        budget = self._max_pages(source) - report.requested
        for url, entry in by_url.items():
            if url in already or budget <= 0:
                continue
            budget -= 1
            report.requested += 1
            self.requested_urls.add(url)
            # dont_filter: the dupefilter would silently drop the second hop of a redirect loop; we dedupe above.
            yield scrapy.Request(
                entry.url,
                callback=self.parse_article,
                errback=self.article_failed,
                dont_filter=True,
                meta={"source_id": source_id, "canonical_url": url, "feed_entry": _entry_json(entry, via)},
            )

    def parse_article(self, response: Response) -> Iterator[FetchedPage]:
        report = self.reports[response.meta["source_id"]]
        report.pages_fetched += 1
        content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
        yield FetchedPage(
            url=response.meta["canonical_url"],
            final_url=response.url,
            source_id=response.meta["source_id"],
            status=response.status,
            fetched_at=datetime.now(UTC),
            content_type=content_type,
            encoding=response.encoding if isinstance(response, TextResponse) else None,
            body=response.body,
            feed_entry=response.meta["feed_entry"],
        )

    def article_failed(self, failure: Failure) -> Iterator[FetchedPage]:
        request = failure.request
        status, message = describe_failure(failure)
        report = self.reports[request.meta["source_id"]]
        report.pages_failed += 1
        report.page_errors.append(f"{request.url}: {message}")
        yield FetchedPage(
            url=request.meta["canonical_url"],
            source_id=request.meta["source_id"],
            status=status,
            fetched_at=datetime.now(UTC),
            error=message,
            feed_entry=request.meta["feed_entry"],
        )

    def closed(self, reason: str) -> None:
        save_validators(self.engine, self.new_validators)
        self.engine.dispose()

    def report_dicts(self) -> list[dict]:
        return [asdict(report) for report in self.reports.values()]


# The feed's full text rides with the page to the extract stage; past this it is not a post but a dump.
FEED_CONTENT_MAX_CHARS = 200_000


def _entry_json(entry: FeedEntry, via: str = "feed") -> dict:
    return {
        "url": entry.url,
        "title": entry.title,
        "summary": entry.summary,
        "published": entry.published.isoformat() if entry.published else None,
        "author": entry.author,
        "via": via,
        "modified": entry.modified.isoformat() if entry.modified else None,
        "content": entry.content[:FEED_CONTENT_MAX_CHARS] if entry.content else None,
    }
