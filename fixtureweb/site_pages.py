"""Rendering any page of a fixture site on request: home, listings, articles, feed, sitemaps, robots.txt."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime
from html import escape

from signpost.fixtureweb.feeds import (
    FEED_CONTENT_TYPES,
    FEED_LINK_TYPES,
    Channel,
    FeedItem,
    broken,
    render_feed,
    robots_txt,
    sitemap,
    sitemap_index,
)
from signpost.fixtureweb.generator import SITEMAP_PART_SIZE
from signpost.fixtureweb.page_parts import ArticleView, ListItem, SiteView, pager, static_text
from signpost.fixtureweb.page_styles import PageStyle, page_style
from signpost.fixtureweb.records import FixtureWeb, Posting, Site
from signpost.fixtureweb.vocabulary import comments_for

TAGLINES = (
    "News and learning for the voluntary sector",
    "Ideas, evidence and stories from charities",
    "Supporting the people who support others",
    "Practical help for small charities",
    "Skills, leadership and learning for civil society",
)
HOME_ITEMS = 6
RELATED_ITEMS = 3


@dataclass
class Rendered:
    body: str
    content_type: str
    last_modified: datetime | None = None
    encoding: str = "utf-8"
    status: int = 200


class SiteRenderer:
    """Draws pages from a FixtureWeb's records; nothing is rendered until it is asked for."""

    def __init__(self, web: FixtureWeb) -> None:
        self.web = web
        self.styles: dict[str, PageStyle] = {}

    def style(self, site: Site) -> PageStyle:
        if site.style not in self.styles:
            self.styles[site.style] = page_style(site.style)
        return self.styles[site.style]

    def site_view(self, site: Site) -> SiteView:
        feed_link = ""
        if site.feed_linked and site.feed_kind and site.feed_url:
            feed_link = (
                f'<link rel="alternate" type="{FEED_LINK_TYPES[site.feed_kind]}" '
                f'title="{escape(site.name)} &raquo; Feed" href="{escape(site.feed_url)}">\n'
            )
        return SiteView(
            name=site.name,
            index=site.index,
            base_url=site.base_url,
            charset=site.encoding,
            listing_path=site.listing_path if site.has_listing else None,
            feed_link=feed_link,
            tagline=TAGLINES[site.index % len(TAGLINES)],
        )

    def html(self, site: Site, body: str, last_modified: datetime | None = None, status: int = 200) -> Rendered:
        return Rendered(body, "text/html", last_modified, site.encoding, status)

    def postings(self, site: Site) -> list[Posting]:
        return [self.web.postings[index] for index in self.web.site_postings[site.index]]

    def list_item(self, posting: Posting) -> ListItem:
        return ListItem(
            posting.title, self.web.posting_url(posting), posting.author, posting.published, posting.summary
        )

    def home(self, site: Site) -> Rendered:
        items = [self.list_item(posting) for posting in self.postings(site)[:HOME_ITEMS]] if site.has_listing else []
        return self.html(site, self.style(site).home(self.site_view(site), items, site.base_url))

    def listing(self, site: Site, page: int) -> Rendered | None:
        postings = self.postings(site)
        pages = max(1, math.ceil(len(postings) / site.listing_page_size))
        if not site.has_listing or not 1 <= page <= pages:
            return None
        shown = postings[(page - 1) * site.listing_page_size : page * site.listing_page_size]
        newer = site.listing_page_path(page - 1) if page > 1 else None
        older = site.listing_page_path(page + 1) if page < pages else None
        pager_html = pager(newer, older, page, pages, "navigation pagination")
        heading = "Latest news" if page == 1 else f"Latest news - page {page}"
        body = self.style(site).listing(
            self.site_view(site),
            heading,
            [self.list_item(posting) for posting in shown],
            pager_html,
            site.url(site.listing_page_path(page)),
        )
        return self.html(site, body)

    def article_view(self, site: Site, posting: Posting) -> ArticleView:
        neighbours = [
            self.web.postings[index]
            for index in self.web.site_postings[site.index][max(0, posting.position - 2) : posting.position + 3]
        ]
        related = [
            (other.title, self.web.posting_url(other))
            for other in neighbours
            if other.index != posting.index and not other.fault
        ][:RELATED_ITEMS]
        rng = random.Random(f"{self.web.seed}:comments:{posting.index}")
        return ArticleView(
            site_name=site.name,
            url=self.web.posting_url(posting),
            title=posting.title,
            author=posting.author,
            published=posting.published,
            paragraphs=posting.text.split("\n"),
            summary=posting.summary,
            section=posting.label.capitalize() or "News",
            related=related,
            comments=comments_for(rng, rng.randint(2, 5)),
            number=10_000 + posting.index,
        )

    def article(self, site: Site, posting: Posting) -> Rendered:
        body = self.style(site).article(self.site_view(site), self.article_view(site, posting))
        return self.html(site, body, posting.published)

    def static(self, site: Site, kind: str) -> Rendered:
        heading, paragraphs = static_text(kind, self.site_view(site))
        return self.html(site, self.style(site).static(self.site_view(site), heading, paragraphs))

    def not_found(self, site: Site) -> Rendered:
        return self.html(site, self.style(site).not_found(self.site_view(site)), status=404)

    def feed(self, site: Site, broken_feed: bool) -> Rendered:
        assert site.feed_kind and site.feed_url
        postings = self.postings(site)
        updated = postings[0].published if postings else self.web.now
        xml_encoding = site.encoding if site.feed_kind != "jsonfeed" else "utf-8"
        channel = Channel(
            title=site.name,
            description=TAGLINES[site.index % len(TAGLINES)],
            home_url=site.base_url,
            feed_url=site.feed_url,
            updated=updated,
            encoding=xml_encoding.upper(),
        )
        items = [
            FeedItem(
                title=posting.title,
                url=self.web.posting_url(posting),
                summary=posting.summary,
                published=posting.published,
                author=posting.author,
                category=posting.label.capitalize() or "News",
            )
            for posting in postings
        ]
        body = render_feed(site.feed_kind, channel, items)
        if broken_feed:
            body = broken(body)
        return Rendered(body, FEED_CONTENT_TYPES[site.feed_kind], updated, xml_encoding)

    def sitemap_postings(self, site: Site) -> list[Posting]:
        return [posting for posting in self.postings(site) if posting.fault != "disallowed"]

    def sitemap(self, site: Site, part: int) -> Rendered | None:
        postings = self.sitemap_postings(site)
        if part:
            postings = postings[(part - 1) * SITEMAP_PART_SIZE : part * SITEMAP_PART_SIZE]
            if not postings:
                return None
        urls = [(self.web.posting_url(posting), posting.published, posting.title) for posting in postings]
        body = sitemap(urls, site.name if site.news_sitemap else None)
        return Rendered(body, "application/xml", max((p.published for p in postings), default=self.web.now))

    def sitemap_index(self, site: Site) -> Rendered:
        postings = self.sitemap_postings(site)
        chunks = [postings[start : start + SITEMAP_PART_SIZE] for start in range(0, len(postings), SITEMAP_PART_SIZE)]
        parts = [(site.url(f"/sitemap-posts-{n}.xml"), chunk[0].published) for n, chunk in enumerate(chunks, 1)]
        updated = postings[0].published if postings else self.web.now
        return Rendered(sitemap_index(parts), "application/xml", updated)

    def robots(self, site: Site) -> Rendered:
        return Rendered(robots_txt(site.disallowed_path, site.sitemap_url), "text/plain")

    def oversized_parts(self, site: Site, posting: Posting) -> tuple[str, str, str]:
        """Head, a repeatable body chunk and the tail of a page too big to hold; the server streams the chunk."""
        view = self.article_view(site, posting)
        view.paragraphs = ["@@BODY@@"]
        page = self.style(site).article(self.site_view(site), view)
        head, tail = page.split("<p>@@BODY@@</p>", 1)
        paragraphs = posting.text.split("\n") * 40
        chunk = "".join(
            f"<p>{escape(text)} Table {n} of the annual data follows.</p>\n" for n, text in enumerate(paragraphs)
        )
        return head, chunk, tail
