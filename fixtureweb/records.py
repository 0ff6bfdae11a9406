"""The records of a fixture web: sites, what each published, the truth, the faults and the routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

FEED_KINDS = ("rss2", "atom", "jsonfeed", "rss1", "rss091")
FAULT_KINDS = (
    "broken_feed",
    "not_found",
    "slow",
    "oversized",
    "redirect_loop",
    "disallowed",
    "legacy_encoding",
)


@dataclass
class Site:
    """One sector website; each is served on its own loopback IP so per-domain politeness applies."""

    index: int
    name: str
    host: str
    port: int
    style: str
    article_pattern: str
    listing_path: str
    pagination: str  # "path" (/news/page/2/) or "query" (/blog/?page=2)
    listing_page_size: int
    feed_kind: str | None
    feed_path: str | None
    feed_linked: bool  # advertised with <link rel="alternate"> in the home page <head>
    has_sitemap: bool
    sitemap_index: bool  # /sitemap.xml is an index pointing to sub-sitemaps
    news_sitemap: bool  # uses the Google News sitemap namespace
    has_listing: bool  # the home page links to paginated listing pages
    encoding: str = "utf-8"
    disallowed_path: str = "/private/"
    authors: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def feed_url(self) -> str | None:
        return self.url(self.feed_path) if self.feed_path else None

    @property
    def sitemap_url(self) -> str | None:
        return self.url("/sitemap.xml") if self.has_sitemap else None

    @property
    def listing_url(self) -> str | None:
        return self.url(self.listing_path) if self.has_listing else None

    @property
    def robots_url(self) -> str:
        return self.url("/robots.txt")

    def listing_page_path(self, page: int) -> str:
        if page <= 1:
            return self.listing_path
        if self.pagination == "query":
            return f"{self.listing_path}?page={page}"
        return f"{self.listing_path}page/{page}/"


@dataclass
class Posting:
    """One article page as published on one site; fault pages are postings too, with `fault` set."""

    index: int
    site_index: int
    path: str
    slug: str
    title: str
    author: str
    published: datetime
    text: str  # paragraphs joined with "\n", exactly as the page shows them
    summary: str
    story: str
    label: str
    source_id: str
    reuse_round: int
    duplicate_of: int | None = None  # index of the earlier posting this one republishes
    fault: str | None = None
    position: int = 0  # place in its site's newest-first list, for related links and listings


@dataclass(frozen=True)
class TrueArticle:
    """What a perfect crawl and extraction would find at `url`."""

    url: str
    site: str
    site_base_url: str
    title: str
    author: str
    published: datetime
    text: str
    story: str  # same story id for a syndicated copy and its original
    duplicate_of: str | None  # URL of the earliest copy when this is a syndicated republication
    label: str
    summary: str
    source_id: str  # corpus article id; reused texts share it (see reuse_round)
    reuse_round: int  # 0 the first time a corpus article is used, n for its n-th edited reuse


@dataclass(frozen=True)
class Fault:
    """A page that misbehaves on purpose; its URL is never a true article."""

    kind: str
    site: str
    url: str
    detail: str = ""


class Route(NamedTuple):
    """What a path on a site serves: `kind` picks the renderer, the rest are its arguments."""

    kind: str
    posting: int = -1
    page: int = 0
    target: str = ""


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    site_index: int
    path: str
    detail: str


class FixtureWeb:
    """A generated web of sector sites: what the server renders and what a crawl should find."""

    def __init__(
        self,
        sites: list[Site],
        postings: list[Posting],
        site_postings: list[list[int]],
        routes: list[dict[str, Route]],
        fault_specs: list[FaultSpec],
        now: datetime,
        seed: int,
    ) -> None:
        self.sites = sites
        self.postings = postings
        self.site_postings = site_postings  # per site, posting indices newest first, fault pages included
        self.routes = routes
        self.fault_specs = fault_specs
        self.now = now
        self.seed = seed
        self.sites_by_host = {site.host: site for site in sites}
        self.truth: dict[str, TrueArticle] = {}
        self.faults: list[Fault] = []
        self._index_truth()

    @property
    def port(self) -> int:
        return self.sites[0].port if self.sites else 0

    def rebind(self, port: int) -> None:
        """Move every site to `port`; truth and fault URLs change with it (the server calls this on start)."""
        if port == self.port:
            return
        for site in self.sites:
            site.port = port
        self._index_truth()

    def posting_url(self, posting: Posting) -> str:
        return self.sites[posting.site_index].url(posting.path)

    def site_for_host(self, host: str) -> Site | None:
        return self.sites_by_host.get(host)

    def articles_of(self, site: Site) -> list[TrueArticle]:
        """The true articles of one site, newest first."""
        urls = (self.posting_url(self.postings[i]) for i in self.site_postings[site.index])
        return [self.truth[url] for url in urls if url in self.truth]

    def _index_truth(self) -> None:
        truth: dict[str, TrueArticle] = {}
        for posting in self.postings:
            if posting.fault:
                continue
            site = self.sites[posting.site_index]
            original = self.postings[posting.duplicate_of] if posting.duplicate_of is not None else None
            url = site.url(posting.path)
            truth[url] = TrueArticle(
                url=url,
                site=site.name,
                site_base_url=site.base_url,
                title=posting.title,
                author=posting.author,
                published=posting.published,
                text=posting.text,
                story=posting.story,
                duplicate_of=self.posting_url(original) if original else None,
                label=posting.label,
                summary=posting.summary,
                source_id=posting.source_id,
                reuse_round=posting.reuse_round,
            )
        self.truth = truth
        self.faults = [
            Fault(spec.kind, self.sites[spec.site_index].name, self.sites[spec.site_index].url(spec.path), spec.detail)
            for spec in self.fault_specs
        ]

    def fault_urls(self, kind: str | None = None) -> list[str]:
        return [fault.url for fault in self.faults if kind is None or fault.kind == kind]
