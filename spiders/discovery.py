"""Discovery of what to crawl for a pasted site URL: its feeds, its sitemaps, or the page as a listing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html

from signpost.spiders.feed_text import TITLE_MAX_CHARS, plain
from signpost.spiders.feeds import FeedError, charset_of, looks_like_feed, parse_feed
from signpost.spiders.fetch import (
    DEFAULT_USER_AGENT,
    Fetcher,
    FetchError,
    FetchResult,
    FetchRules,
    HttpFetcher,
    check_url,
)
from signpost.spiders.listing import ListingLinks, listing_links, section_links
from signpost.spiders.sitemaps import (
    SitemapEntry,
    SitemapError,
    looks_like_sitemap,
    newest_first,
    parse_sitemap,
    sitemap_urls_from_robots_txt,
)
from signpost.spiders.urls import AddressRules, UnsafeURLError, canonicalize_url, http_url
from signpost.store.records import FeedEntry

log = logging.getLogger(__name__)

FEED_LINK_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json", "application/rdf+xml"}
)
COMMON_FEED_PATHS = ("/feed", "/feed/", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feed.json")
MAX_HEAD_FEEDS = 4
MAX_ROBOTS_SITEMAPS = 2
MIN_LISTING_LINKS = 3

CandidateKind = Literal["feed", "sitemap", "listing"]


@dataclass
class Candidate:
    kind: CandidateKind
    url: str
    title: str | None = None
    # Entries in the feed, URLs in the sitemap (for an index: in the sampled child), article links on the page.
    item_count: int = 0
    sample: list[FeedEntry] = field(default_factory=list)
    found_by: str = ""


@dataclass
class Discovery:
    input_url: str
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def discover(
    url: str,
    *,
    allow_private: bool,
    fetch: Fetcher | None = None,
    sample_size: int = 5,
    user_agent: str = DEFAULT_USER_AGENT,
    rules: FetchRules | None = None,
) -> Discovery:
    """Find the feeds, sitemaps and listing page worth crawling for a URL, best first; never raises for I/O."""
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    if http_url(url) is None:
        return Discovery(url, problems=[f"{url}: not a usable http(s) URL (a malformed host or port?)"])
    rules = rules or FetchRules(addresses=AddressRules(allow_private), user_agent=user_agent)
    try:
        check_url(url, rules)
    except UnsafeURLError as error:
        return Discovery(url, problems=[str(error)])
    own_fetcher = HttpFetcher(rules) if fetch is None else None
    try:
        discovery = _Run(fetch or own_fetcher, sample_size).discover(url)  # type: ignore[arg-type]
    finally:
        if own_fetcher is not None:
            own_fetcher.close()
    if not discovery.candidates:
        discovery.problems.append(f"{url}: found no feed, sitemap or list of articles to crawl")
    return discovery


class _Run:
    """The state of one discovery: what was fetched, found and went wrong."""

    def __init__(self, fetch: Fetcher, sample_size: int) -> None:
        self.fetch = fetch
        self.sample_size = sample_size
        self.candidates: list[Candidate] = []
        self.problems: list[str] = []
        self.fetched: dict[str, FetchResult | None] = {}

    def discover(self, url: str) -> Discovery:
        page = self.get(url, report=True)
        if page is None:
            return self.result(url)
        if page.ok and (self.add_feed(page, "the URL itself", quiet=True) or self.add_sitemap(page, "the URL itself")):
            return self.result(url)
        if not page.ok:
            self.problems.append(f"{url}: HTTP {page.status}")
        if page.ok:
            for feed_url in feed_links_in_head(page.body, page.final_url)[:MAX_HEAD_FEEDS]:
                linked = self.get(feed_url, report=True)
                if linked is not None:
                    self.add_feed(linked, "a <link> in the page head")
        if not self.candidates:
            self.probe_common_feed_paths(page.final_url)
        self.probe_sitemaps(page.final_url)
        if page.ok:
            self.add_listing(page)
        return self.result(url)

    def result(self, url: str) -> Discovery:
        order = {"feed": 0, "sitemap": 1, "listing": 2}
        return Discovery(url, sorted(self.candidates, key=lambda c: order[c.kind]), self.problems)

    def get(self, url: str, report: bool) -> FetchResult | None:
        key = canonicalize_url(url)
        if key not in self.fetched:
            try:
                self.fetched[key] = self.fetch(url)
            except (FetchError, UnsafeURLError) as error:
                self.fetched[key] = None
                if report:
                    self.problems.append(str(error))
                log.info("discovery could not fetch %s: %s", url, error)
        return self.fetched[key]

    def known(self, url: str) -> bool:
        return any(canonicalize_url(candidate.url) == canonicalize_url(url) for candidate in self.candidates)

    def add_feed(self, response: FetchResult, found_by: str, quiet: bool = False) -> bool:
        if not response.ok:
            if not quiet:
                self.problems.append(f"{response.url}: HTTP {response.status}")
            return False
        if self.known(response.final_url):
            return True
        if quiet and not looks_like_feed(response.body, response.content_type):
            return False
        try:
            feed = parse_feed(response.body, response.final_url, charset_of(response.content_type))
        except FeedError as error:
            self.problems.append(f"{response.final_url}: {error}")
            return False
        sample = feed.entries[: self.sample_size]
        self.candidates.append(Candidate("feed", response.final_url, feed.title, len(feed.entries), sample, found_by))
        return True

    def probe_common_feed_paths(self, page_url: str) -> None:
        paths = list(COMMON_FEED_PATHS)
        section = urlsplit(page_url).path
        if section.strip("/"):
            # A section page (/blog/) often has its own feed (/blog/feed/) before the site-wide one.
            paths.insert(0, section.rstrip("/") + "/feed/")
        root = _site_root(page_url)
        for path in paths:
            response = self.get(urljoin(root, path), report=False)
            if response is not None and self.add_feed(response, "a common feed path", quiet=True):
                return
        self.problems.append(f"{root}: no feed linked from the page or at {', '.join(paths)}")

    def probe_sitemaps(self, page_url: str) -> None:
        root = _site_root(page_url)
        robots = self.get(urljoin(root, "/robots.txt"), report=False)
        declared: list[str] = []
        if robots is not None and robots.ok:
            declared = sitemap_urls_from_robots_txt(robots.body.decode("utf-8", "replace"), robots.final_url)
        for sitemap_url in declared[:MAX_ROBOTS_SITEMAPS]:
            response = self.get(sitemap_url, report=True)
            if response is None:
                continue
            if not response.ok:
                self.problems.append(f"{sitemap_url} (named in robots.txt): HTTP {response.status}")
            elif self.add_sitemap(response, "robots.txt", report=True):
                return
        if declared:
            return
        response = self.get(urljoin(root, "/sitemap.xml"), report=False)
        if response is not None and response.ok:
            self.add_sitemap(response, "/sitemap.xml", report=looks_like_sitemap(response.body))

    def add_sitemap(self, response: FetchResult, found_by: str, report: bool = False) -> bool:
        if self.known(response.final_url):
            return True
        if found_by == "the URL itself" and not looks_like_sitemap(response.body):
            return False
        try:
            sitemap = parse_sitemap(response.body, response.final_url, charset_of(response.content_type))
        except SitemapError as error:
            if report:
                self.problems.append(f"{response.final_url}: {error}")
            return False
        entries = sitemap.entries
        title = f"sitemap of {len(entries)} URLs"
        if sitemap.kind == "index":
            title = f"sitemap index of {len(entries)} sitemaps"
            entries = self.sample_child_sitemap(entries)
        sample = [
            FeedEntry(entry.url, title=entry.title, published=entry.published or entry.lastmod)
            for entry in newest_first(entries)[: self.sample_size]
        ]
        self.candidates.append(Candidate("sitemap", response.final_url, title, len(entries), sample, found_by))
        return True

    def sample_child_sitemap(self, children: list[SitemapEntry]) -> list[SitemapEntry]:
        # One level only: the newest child sitemap, which is where recent articles are.
        if not children:
            return []
        child_url = newest_first(children)[0].url
        response = self.get(child_url, report=True)
        if response is None:
            return []
        if not response.ok:
            self.problems.append(f"{child_url}: HTTP {response.status}")
            return []
        try:
            child = parse_sitemap(response.body, response.final_url)
        except SitemapError as error:
            self.problems.append(f"{child_url}: {error}")
            return []
        return child.entries if child.kind == "urlset" else []

    def add_listing(self, page: FetchResult) -> None:
        if "html" not in page.content_type.lower() and b"<html" not in page.body[:4096].lower():
            return
        links = listing_links(page.body, page.final_url, allow=[], deny=[])
        section = self.best_section(page, len(links.article_links))
        if section is not None:
            page, links = section
        if len(links.article_links) < MIN_LISTING_LINKS:
            self.problems.append(
                f"{page.final_url}: only {len(links.article_links)} article-like links, not a listing page"
            )
            return
        sample = [FeedEntry(link) for link in links.article_links[: self.sample_size]]
        title = _page_title(page.body)
        self.candidates.append(
            Candidate("listing", page.final_url, title, len(links.article_links), sample, "links on the page")
        )

    def best_section(self, page: FetchResult, links_on_page: int) -> tuple[FetchResult, ListingLinks] | None:
        """The section page linked from the navigation that lists more articles, or paginates, if any."""
        best = None
        for url in section_links(page.body, page.final_url):
            response = self.get(url, report=False)
            if response is None or not response.ok:
                continue
            links = listing_links(response.body, response.final_url, allow=[], deny=[])
            score = len(links.article_links) + (100 if links.next_pages else 0)
            if score > links_on_page and (best is None or score > best[0]):
                best = (score, response, links)
        return None if best is None else (best[1], best[2])


def feed_links_in_head(html: bytes, page_url: str) -> list[str]:
    """The feeds a page advertises with <link rel="alternate" type="application/rss+xml" ...>, in order; never raises.

    Relative links resolve against the page's <base href>; WordPress's REST links (application/json, but no feed)
    and comments feeds are left out.
    """
    try:
        document = lxml.html.document_fromstring(html)
    except (lxml.etree.LxmlError, ValueError, LookupError):
        return []
    base = document.find(".//base[@href]")
    base_url = http_url(base.get("href"), page_url) if base is not None else None
    urls: list[str] = []
    for link in document.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        media_type = (link.get("type") or "").split(";")[0].strip().lower()
        url = http_url(link.get("href"), base_url or page_url)
        if "alternate" not in rels or media_type not in FEED_LINK_TYPES or url is None or url in urls:
            continue
        # WordPress links a comments feed next to the posts feed; it is rarely what anyone wants.
        if "comments" in (link.get("title") or "").lower():
            continue
        if media_type == "application/json" and _is_rest_api(url):
            continue
        urls.append(url)
    return urls


def _is_rest_api(url: str) -> bool:
    parts = urlsplit(url)
    return "/wp-json/" in parts.path or "rest_route=" in parts.query or "oembed" in parts.path


def _site_root(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))


def _page_title(html: bytes) -> str | None:
    try:
        document = lxml.html.document_fromstring(html)
    except (lxml.etree.LxmlError, ValueError, LookupError):
        return None
    return plain(document.findtext(".//title"), TITLE_MAX_CHARS)
