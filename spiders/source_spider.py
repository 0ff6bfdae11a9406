"""The Scrapy spider that crawls one batch of sources: feeds, sitemaps and listing pages, then their new articles."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import deferred_from_coro
from twisted.python.failure import Failure

from signpost.spiders.failures import describe_failure
from signpost.spiders.feeds import FeedError, charset_of, parse_feed
from signpost.spiders.listing import listing_links
from signpost.spiders.sitemaps import SitemapError, parse_sitemap
from signpost.spiders.urls import canonicalize_url, http_url
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
    # Said of a healthy source: a feed that had to be recovered, lines of a sitemap that were skipped.
    notes: list[str] = field(default_factory=list)
    # The new URL of a feed or sitemap that moved for good (301 or 308 all the way).
    moved_to: str | None = None
    # Set when the batch's deadline cut the crawl short: "running" (charged to it) or "waiting" (crawled next run).
    cut_off: str | None = None
    # Requests handed to Scrapy whose callback has not run yet, and of those, the ones being downloaded now.
    open_requests: int = 0
    downloading: int = 0


# Sent when the batch's deadline comes: the report is written and buffered pages saved then, since closing waits
# for downloads in flight and the parent's hard kill may come first.
batch_deadline = object()

# Statuses the callbacks see themselves; 3xx are left to the redirect middleware, which follows them.
INDEX_STATUSES = [304, *range(400, 600)]


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
        deadline_at: float | None = None,
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
        # A wall-clock time (time.time()) set by the parent, so the child's start-up counts against it too.
        self.deadline_at = deadline_at

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourcesSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._reached_downloader, signal=signals.request_reached_downloader)
        crawler.signals.connect(spider._left_downloader, signal=signals.request_left_downloader)
        crawler.signals.connect(spider._dropped, signal=signals.request_dropped)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        return spider

    # -- starting points -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources.values():
            yield self._index_request(source["url"], source, kind=source["kind"], depth=0, conditional=True)

    # -- the batch's deadline ---------------------------------------------------------------------------

    def _opened(self, spider: scrapy.Spider) -> None:
        if self.deadline_at:
            from twisted.internet import reactor

            reactor.callLater(max(0.0, self.deadline_at - time.time()), self._deadline_reached)  # type: ignore[attr-defined]

    def _deadline_reached(self) -> None:
        """Close before the parent's hard kill, saying which sources were still running and which never got a turn."""
        self.mark_cut_off()
        self.crawler.signals.send_catch_log(batch_deadline, spider=self)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="batch_deadline"))

    def mark_cut_off(self) -> None:
        """Sources with requests still open are "running" when one is at the downloader, else "waiting" for a turn."""
        for report in self.reports.values():
            if report.open_requests > 0:
                report.cut_off = "running" if report.downloading > 0 else "waiting"

    def _counted(self, request: scrapy.Request) -> scrapy.Request:
        self.reports[request.meta["source_id"]].open_requests += 1
        return request

    def _answered(self, meta: dict) -> None:
        self.reports[meta["source_id"]].open_requests -= 1

    def _reached_downloader(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        if request.meta.get("source_id") in self.reports:
            self.reports[request.meta["source_id"]].downloading += 1

    def _left_downloader(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        if request.meta.get("source_id") in self.reports:
            self.reports[request.meta["source_id"]].downloading -= 1

    def _dropped(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        if request.meta.get("source_id") in self.reports:
            self._answered(request.meta)

    def _index_request(self, url: str, source: dict, *, kind: str, depth: int, conditional: bool) -> scrapy.Request:
        headers = {}
        if conditional and kind in ("feed", "sitemap"):
            etag, last_modified = self._validators_for(url, source)
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
        callback = {"feed": self.parse_feed, "sitemap": self.parse_sitemap, "listing": self.parse_listing}[kind]
        request = scrapy.Request(
            url,
            callback=callback,
            errback=self.index_failed,
            headers=headers,
            dont_filter=True,
            meta={
                "source_id": source["id"],
                "depth_in_source": depth,
                "is_root": depth == 0,
                "handle_httpstatus_list": INDEX_STATUSES,
            },
        )
        return self._counted(request)

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
            reasons = response.meta.get("redirect_reasons", [])
            if reasons and all(reason in (301, 308) for reason in reasons) and not response.meta.get("is_fallback"):
                report.moved_to = response.url
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
        for request in self._fallback_requests(meta):
            report.error = f"{message}; used its {request.meta['fallback_kind']} {request.url} instead"
            yield request

    def _fallback_requests(self, meta: dict) -> Iterator[scrapy.Request]:
        source = self.sources[meta["source_id"]]
        fallbacks = (source.get("options") or {}).get("fallbacks", [])
        if fallbacks and not meta.get("is_fallback"):
            fallback = fallbacks[0]
            request = self._index_request(fallback["url"], source, kind=fallback["kind"], depth=1, conditional=True)
            request.meta.update(is_fallback=True, fallback_kind=fallback["kind"])
            yield request

    def parse_feed(self, response: Response) -> Iterator[scrapy.Request]:
        self._answered(response.meta)
        if response.status >= 400:
            yield from self._root_failed(response.meta, f"{response.url}: HTTP {response.status}")
            return
        if not self._check_index_response(response):
            return
        try:
            feed = parse_feed(response.body, response.url, _charset(response))
        except FeedError as error:
            yield from self._root_failed(response.meta, f"broken feed at {response.url}: {error}")
            return
        if feed.warnings:
            # A recovered feed may have lost its tail: the source is healthy, with a note, and its fallback is read too.
            report = self.reports[response.meta["source_id"]]
            report.notes.append(
                f"broken feed at {response.url}, recovered {len(feed.entries)} entries: {feed.warnings[0]}"
            )
            yield from self._fallback_requests(response.meta)
        yield from self._article_requests(response.meta["source_id"], feed.entries)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        self._answered(response.meta)
        if response.status >= 400:
            yield from self._root_failed(response.meta, f"{response.url}: HTTP {response.status}")
            return
        if not self._check_index_response(response):
            return
        source = self.sources[response.meta["source_id"]]
        try:
            sitemap = parse_sitemap(response.body, response.url, _charset(response))
        except SitemapError as error:
            yield from self._root_failed(response.meta, f"broken sitemap at {response.url}: {error}")
            return
        if sitemap.warnings:
            self.reports[source["id"]].notes.append(f"sitemap at {response.url}: {sitemap.warnings[0]}")
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
        self._answered(response.meta)
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
        self._answered(request.meta)
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
            # Parsers hand over checked URLs; a listing's or a fallback's could still be unusable: skip it.
            if http_url(entry.url):
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
            yield self._counted(
                scrapy.Request(
                    entry.url,
                    callback=self.parse_article,
                    errback=self.article_failed,
                    dont_filter=True,
                    meta={"source_id": source_id, "canonical_url": url, "feed_entry": _entry_json(entry, via)},
                )
            )

    def parse_article(self, response: Response) -> Iterator[FetchedPage]:
        self._answered(response.meta)
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
        self._answered(request.meta)
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


def _charset(response: Response) -> str | None:
    return charset_of(response.headers.get("Content-Type", b"").decode("latin-1"))


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
