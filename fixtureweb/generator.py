"""Generating a deterministic fixture web of sector sites from ranking-set corpora, with syndication and faults."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from signpost.fixtureweb.corpus import (
    CorpusArticle,
    drop_last_sentence,
    load_corpora,
    reused_paragraphs,
    reused_title,
    summarise,
    with_typographic_quotes,
)
from signpost.fixtureweb.records import FEED_KINDS, FaultSpec, FixtureWeb, Posting, Route, Site
from signpost.fixtureweb.vocabulary import FAULT_TITLES, filler_paragraphs, site_names, slugify, staff_names

REFERENCE_NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# Written for Signpost and shipped with it, so the demo and the benchmarks need nothing outside the install.
DEMO_CORPUS = Path(__file__).resolve().parent / "demo_corpus"
DEFAULT_PORT = 8470
SYNDICATION_SHARE = 0.05
SITEMAP_PART_SIZE = 25
LEGACY_ENCODING = "windows-1252"

STYLES = ("wordpress", "drupal", "magazine", "blogcms", "ghost", "table")
ARTICLE_PATTERNS = (
    ("/news/{yyyy}/{mm}/{slug}/", "/news/"),
    ("/blog/{slug}.html", "/blog/"),
    ("/articles/{slug}", "/articles/"),
    ("/{yyyy}/{mm}/{dd}/{slug}/", "/latest/"),
    ("/insights/{slug}/", "/insights/"),
    ("/stories/{number}-{slug}", "/stories/"),
)
# Where a site that does not advertise its feed still serves it: the paths a discoverer probes.
COMMON_FEED_PATHS = {
    "rss2": "/feed/",
    "atom": "/atom.xml",
    "jsonfeed": "/feed.json",
    "rss1": "/index.rdf",
    "rss091": "/rss.xml",
}
LINKED_FEED_PATHS = {
    "rss2": "/feed/",
    "atom": "/feeds/all.atom.xml",
    "jsonfeed": "/feed.json",
    "rss1": "/rss/news.rdf",
    "rss091": "/syndication/rss091.xml",
}
DISALLOWED_PATHS = ("/private/", "/members/", "/admin/")
SYNDICATION_PREFIXES = ("Republished: ", "Guest post: ", "Partner content: ", "Shared from the network: ")

# Which feed-carrying site (by rank among them) gets each fault; several faults share a site when there are few.
FAULT_SLOTS = {
    "not_found": 0,
    "disallowed": 0,
    "broken_feed": 1,
    "slow": 2,
    "oversized": 3,
    "redirect_loop": 4,
    "legacy_encoding": 5,
}
PAGE_FAULTS = ("not_found", "slow", "oversized", "redirect_loop", "disallowed")


def build_fixture_web(
    corpus_dirs: list[Path],
    sites: int,
    articles_per_site: int,
    seed: int = 7,
    faults: bool = True,
    now: datetime = REFERENCE_NOW,
    port: int = DEFAULT_PORT,
) -> FixtureWeb:
    """Plan `sites` sites with `articles_per_site` true articles each; the same arguments give the same web.

    URLs use `port`; a `FixtureServer` bound elsewhere moves the web to its port (`FixtureWeb.rebind`).
    """
    if sites < 1 or articles_per_site < 1:
        raise ValueError("need at least one site and one article per site")
    corpus = load_corpora([Path(folder) for folder in corpus_dirs], seed)
    site_list = plan_sites(sites, seed, port)
    fault_sites = place_faults(site_list) if faults else {}
    for kind, site_index in fault_sites.items():
        site = site_list[site_index]
        if kind == "legacy_encoding":
            site.encoding = LEGACY_ENCODING
            site.authors = staff_names(random.Random(f"{seed}:legacy"), len(site.authors), accented=True)
        elif kind == "broken_feed":
            site.has_listing = False  # leaves the sitemap as the only way in besides the broken feed
    planner = PostingPlanner(site_list, corpus, seed, now)
    planner.publish_articles(articles_per_site)
    fault_specs = [planner.publish_fault(kind, site_index) for kind, site_index in fault_sites.items()]
    site_postings = planner.newest_first()
    routes = [route_table(site, planner.postings, site_postings[site.index]) for site in site_list]
    return FixtureWeb(site_list, planner.postings, site_postings, routes, fault_specs, now, seed)


def plan_sites(count: int, seed: int, port: int) -> list[Site]:
    rng = random.Random(f"{seed}:sites")
    names = site_names(count, seed)
    sites = []
    for index in range(count):
        profile = index % 10  # 0-5 advertise a feed, 6-7 hide it at a common path, 8 sitemap only, 9 listings only
        feed_kind = FEED_KINDS[index % len(FEED_KINDS)] if profile < 8 else None
        feed_linked = profile < 6
        style = STYLES[index % len(STYLES)]
        pattern, listing_path = ARTICLE_PATTERNS[(index + index // len(STYLES)) % len(ARTICLE_PATTERNS)]
        feed_paths = LINKED_FEED_PATHS if feed_linked else COMMON_FEED_PATHS
        sites.append(
            Site(
                index=index,
                name=names[index],
                host=f"127.0.{1 + index // 250}.{1 + index % 250}",
                port=port,
                style=style,
                article_pattern=pattern,
                listing_path=listing_path,
                pagination="query" if style == "blogcms" else "path",
                listing_page_size=12 if style == "magazine" else 10,
                feed_kind=feed_kind,
                feed_path=feed_paths[feed_kind] if feed_kind else None,
                feed_linked=feed_linked and feed_kind is not None,
                has_sitemap=profile != 9,
                sitemap_index=index % 3 == 1,
                news_sitemap=style == "magazine",
                has_listing=True,
                disallowed_path=DISALLOWED_PATHS[index % len(DISALLOWED_PATHS)],
                authors=staff_names(rng, 4 + index % 3),
            )
        )
    return sites


def place_faults(sites: list[Site]) -> dict[str, int]:
    """Fault kind -> site index, on sites with a feed (and so a sitemap) so every fault is discoverable."""
    feed_sites = [site.index for site in sites if site.feed_kind]
    return {kind: feed_sites[slot % len(feed_sites)] for kind, slot in FAULT_SLOTS.items()}


class PostingPlanner:
    """Assigns corpus texts to sites, dates them, republishes some on a second site, and adds fault pages."""

    def __init__(self, sites: list[Site], corpus: list[CorpusArticle], seed: int, now: datetime) -> None:
        self.sites = sites
        self.corpus = corpus
        self.now = now
        self.rng = random.Random(f"{seed}:postings")
        self.postings: list[Posting] = []
        self.used_slugs: list[set[str]] = [set() for _ in sites]
        self.corpus_cursor = 0

    def publish_articles(self, articles_per_site: int) -> None:
        slots = len(self.sites) * articles_per_site
        copies = round(slots * SYNDICATION_SHARE) if len(self.sites) > 1 else 0
        copy_slots = set(self.rng.sample(range(slots), copies))
        copy_sites = []
        for slot in range(slots):
            site = self.sites[slot // articles_per_site]
            if slot in copy_slots:
                copy_sites.append(site)
            else:
                self.publish_original(site)
        originals = len(self.postings)
        republished: set[int] = set()
        for site in copy_sites:
            original = self.pick_original(site, originals, republished)
            if original is None:
                self.publish_original(site)
            else:
                republished.add(original.index)
                self.publish_copy(site, original)

    def next_story(self) -> tuple[CorpusArticle, int]:
        article = self.corpus[self.corpus_cursor % len(self.corpus)]
        reuse_round = self.corpus_cursor // len(self.corpus)
        self.corpus_cursor += 1
        return article, reuse_round

    def publish_original(self, site: Site) -> Posting:
        article, reuse_round = self.next_story()
        age = timedelta(seconds=self.rng.uniform(6 * 3600, 30 * 86400))
        story = article.id if reuse_round == 0 else f"{article.id}#r{reuse_round}"
        return self.add_posting(
            site,
            title=reused_title(article.title, reuse_round),
            paragraphs=reused_paragraphs(article.paragraphs, reuse_round),
            author=article.author or self.rng.choice(site.authors),
            published=(self.now - age).replace(second=0, microsecond=0),
            story=story,
            label=article.label,
            source_id=article.id,
            reuse_round=reuse_round,
        )

    def pick_original(self, site: Site, originals: int, republished: set[int]) -> Posting | None:
        for _ in range(50):
            candidate = self.postings[self.rng.randrange(originals)]
            if candidate.site_index != site.index and candidate.index not in republished:
                return candidate
        return None

    def publish_copy(self, site: Site, original: Posting) -> Posting:
        """Republish on `site` with small edits: a title prefix, and a sentence added or dropped at the end."""
        paragraphs = tuple(original.text.split("\n"))
        if self.rng.random() < 0.5:
            source = self.sites[original.site_index].name
            paragraphs = (*paragraphs, f"This article first appeared on {source} and is republished with permission.")
        else:
            paragraphs = drop_last_sentence(paragraphs)
        delay = timedelta(seconds=self.rng.uniform(2 * 3600, 3 * 86400))
        published = min(original.published + delay, self.now - timedelta(minutes=30))
        return self.add_posting(
            site,
            title=self.rng.choice(SYNDICATION_PREFIXES) + original.title,
            paragraphs=paragraphs,
            author=original.author,
            published=published.replace(second=0, microsecond=0),
            story=original.story,
            label=original.label,
            source_id=original.source_id,
            reuse_round=original.reuse_round,
            duplicate_of=original.index,
        )

    def publish_fault(self, kind: str, site_index: int) -> FaultSpec:
        site = self.sites[site_index]
        if kind == "broken_feed":
            return FaultSpec(kind, site_index, site.feed_path or "/", "feed is truncated mid-element")
        if kind == "legacy_encoding":
            return FaultSpec(kind, site_index, "/", f"every HTML page and XML feed is served as {site.encoding}")
        posting = self.add_posting(
            site,
            title=FAULT_TITLES[kind],
            paragraphs=filler_paragraphs(self.rng, 4),
            author=self.rng.choice(site.authors),
            published=(self.now - timedelta(seconds=self.rng.uniform(3600, 5 * 3600))).replace(second=0, microsecond=0),
            story=f"fault-{kind}",
            label="",
            source_id="",
            reuse_round=0,
            fault=kind,
        )
        details = {
            "not_found": "linked from the feed, sitemap and listing; answers 404",
            "slow": "answers after the server's slow_seconds",
            "oversized": "streams an endless-looking HTML page of the server's oversized_bytes",
            "redirect_loop": f"302 to /amp{posting.path}, which 302s back",
            "disallowed": f"robots.txt disallows {site.disallowed_path}; linked from the feed and listing",
        }
        return FaultSpec(kind, site_index, posting.path, details[kind])

    def add_posting(
        self,
        site: Site,
        *,
        title: str,
        paragraphs: tuple[str, ...],
        author: str,
        published: datetime,
        story: str,
        label: str,
        source_id: str,
        reuse_round: int,
        duplicate_of: int | None = None,
        fault: str | None = None,
    ) -> Posting:
        if site.encoding != "utf-8":
            title = with_typographic_quotes(title)
            paragraphs = tuple(with_typographic_quotes(paragraph) for paragraph in paragraphs)
        index = len(self.postings)
        slug = self.unique_slug(site, title)
        if fault == "disallowed":
            path = f"{site.disallowed_path}{slug}/"
        else:
            path = site.article_pattern.format(
                yyyy=f"{published.year:04d}",
                mm=f"{published.month:02d}",
                dd=f"{published.day:02d}",
                slug=slug,
                number=10_000 + index,
            )
        posting = Posting(
            index=index,
            site_index=site.index,
            path=path,
            slug=slug,
            title=title,
            author=author,
            published=published,
            text="\n".join(paragraphs),
            summary=summarise(paragraphs),
            story=story,
            label=label,
            source_id=source_id,
            reuse_round=reuse_round,
            duplicate_of=duplicate_of,
            fault=fault,
        )
        self.postings.append(posting)
        return posting

    def unique_slug(self, site: Site, title: str) -> str:
        base = slugify(title)
        slug, suffix = base, 2
        while slug in self.used_slugs[site.index]:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        self.used_slugs[site.index].add(slug)
        return slug

    def newest_first(self) -> list[list[int]]:
        per_site: list[list[int]] = [[] for _ in self.sites]
        for posting in self.postings:
            per_site[posting.site_index].append(posting.index)
        for indices in per_site:
            indices.sort(key=lambda index: (self.postings[index].published, index), reverse=True)
            for position, index in enumerate(indices):
                self.postings[index].position = position
        return per_site


def route_table(site: Site, postings: list[Posting], newest_first: list[int]) -> dict[str, Route]:
    """Every path the site answers; a path not here is a 404 (which is how the not_found fault works)."""
    routes = {
        "/": Route("home"),
        "/robots.txt": Route("robots"),
        "/about/": Route("static", target="about"),
        "/privacy/": Route("static", target="privacy"),
        "/contact/": Route("static", target="contact"),
    }
    if site.feed_path:
        routes[site.feed_path] = Route("feed")
    if site.has_sitemap:
        in_sitemap = [index for index in newest_first if postings[index].fault != "disallowed"]
        parts = max(1, math.ceil(len(in_sitemap) / SITEMAP_PART_SIZE))
        routes["/sitemap.xml"] = Route("sitemap_index" if site.sitemap_index else "sitemap", page=0)
        if site.sitemap_index:
            for part in range(1, parts + 1):
                routes[f"/sitemap-posts-{part}.xml"] = Route("sitemap", page=part)
    if site.has_listing:
        pages = max(1, math.ceil(len(newest_first) / site.listing_page_size))
        for page in range(1, pages + 1 if site.pagination == "path" else 2):
            routes[site.listing_page_path(page)] = Route("listing", page=page)
    for index in newest_first:
        posting = postings[index]
        if posting.fault == "not_found":
            continue
        if posting.fault == "redirect_loop":
            routes[posting.path] = Route("redirect", posting=index, target=f"/amp{posting.path}")
            routes[f"/amp{posting.path}"] = Route("redirect", posting=index, target=posting.path)
        elif posting.fault in ("slow", "oversized"):
            routes[posting.path] = Route(posting.fault, posting=index)
        else:
            routes[posting.path] = Route("article", posting=index)
    return routes
