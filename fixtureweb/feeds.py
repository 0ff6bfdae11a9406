"""Rendering a site's feed in one of five formats: RSS 2.0, Atom 1.0, JSON Feed 1.1, RSS 1.0 (RDF) and RSS 0.91."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape
from urllib.parse import urlsplit

FEED_CONTENT_TYPES = {
    "rss2": "application/rss+xml",
    "atom": "application/atom+xml",
    "jsonfeed": "application/feed+json",
    "rss1": "application/xml",
    "rss091": "application/rss+xml",
}
# What a home page's <link rel="alternate" type=...> says for each kind.
FEED_LINK_TYPES = {**FEED_CONTENT_TYPES, "rss1": "application/rss+xml"}
BROKEN_FEED_KEEPS = 0.6  # share of the feed's characters a broken feed keeps before it stops


@dataclass
class Channel:
    title: str
    description: str
    home_url: str
    feed_url: str
    updated: datetime
    encoding: str = "UTF-8"


@dataclass
class FeedItem:
    title: str
    url: str
    summary: str
    published: datetime
    author: str
    category: str


def render_feed(kind: str, channel: Channel, items: list[FeedItem]) -> str:
    renderers = {"rss2": rss2, "atom": atom, "jsonfeed": json_feed, "rss1": rss1, "rss091": rss091}
    return renderers[kind](channel, items)


def broken(feed: str) -> str:
    """The feed cut off part-way, as a timed-out cache or a PHP fatal error leaves it."""
    return feed[: int(len(feed) * BROKEN_FEED_KEEPS)]


def xml_declaration(channel: Channel) -> str:
    return f'<?xml version="1.0" encoding="{channel.encoding}"?>\n'


def rss2(channel: Channel, items: list[FeedItem]) -> str:
    entries = "".join(
        f"<item>\n<title>{escape(item.title)}</title>\n<link>{escape(item.url)}</link>\n"
        f'<guid isPermaLink="true">{escape(item.url)}</guid>\n<pubDate>{format_datetime(item.published)}</pubDate>\n'
        f"<dc:creator>{escape(item.author)}</dc:creator>\n<category>{escape(item.category)}</category>\n"
        f"<description>{escape(item.summary)}</description>\n</item>\n"
        for item in items
    )
    return (
        f'{xml_declaration(channel)}<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n<title>{escape(channel.title)}</title>\n'
        f"<link>{escape(channel.home_url)}</link>\n<description>{escape(channel.description)}</description>\n"
        f"<language>en-gb</language>\n<lastBuildDate>{format_datetime(channel.updated)}</lastBuildDate>\n<atom:link "
        f'href="{escape(channel.feed_url)}" rel="self" type="application/rss+xml"/>\n'
        f"<generator>https://wordpress.org/?v=6.6.2</generator>\n{entries}</channel>\n</rss>\n"
    )


def atom(channel: Channel, items: list[FeedItem]) -> str:
    host = urlsplit(channel.home_url).hostname
    entries = "".join(
        f'<entry>\n<title type="text">{escape(item.title)}</title>\n<link rel="alternate" type="text/html" '
        f'href="{escape(item.url)}"/>\n<id>tag:{host},{item.published:%Y-%m-%d}:{escape(urlsplit(item.url).path)}'
        f"</id>\n<published>{item.published.isoformat()}</published>\n<updated>{item.published.isoformat()}"
        f"</updated>\n<author><name>{escape(item.author)}</name></author>\n"
        f'<category term="{escape(item.category)}"/>\n<summary type="html">{escape(escape(item.summary))}</summary>\n'
        "</entry>\n"
        for item in items
    )
    return (
        f'{xml_declaration(channel)}<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-GB">\n'
        f"<title>{escape(channel.title)}</title>\n<subtitle>{escape(channel.description)}</subtitle>\n"
        f'<link rel="alternate" type="text/html" href="{escape(channel.home_url)}"/>\n'
        f'<link rel="self" type="application/atom+xml" href="{escape(channel.feed_url)}"/>\n'
        f"<id>{escape(channel.home_url)}</id>\n<updated>{channel.updated.isoformat()}</updated>\n"
        f'<generator uri="https://getpelican.com/">Pelican</generator>\n{entries}</feed>\n'
    )


def json_feed(channel: Channel, items: list[FeedItem]) -> str:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": channel.title,
        "home_page_url": channel.home_url,
        "feed_url": channel.feed_url,
        "description": channel.description,
        "language": "en-GB",
        "items": [
            {
                "id": item.url,
                "url": item.url,
                "title": item.title,
                "summary": item.summary,
                "content_html": f"<p>{escape(item.summary)}</p>",
                "date_published": item.published.isoformat(),
                "authors": [{"name": item.author}],
                "tags": [item.category],
            }
            for item in items
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def rss1(channel: Channel, items: list[FeedItem]) -> str:
    sequence = "".join(f'<rdf:li rdf:resource="{escape(item.url)}"/>\n' for item in items)
    entries = "".join(
        f'<item rdf:about="{escape(item.url)}">\n<title>{escape(item.title)}</title>\n<link>{escape(item.url)}</link>'
        f"\n<description>{escape(item.summary)}</description>\n<dc:date>{item.published.isoformat()}</dc:date>\n"
        f"<dc:creator>{escape(item.author)}</dc:creator>\n<dc:subject>{escape(item.category)}</dc:subject>\n</item>\n"
        for item in items
    )
    return (
        f'{xml_declaration(channel)}<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'<channel rdf:about="{escape(channel.feed_url)}">\n<title>{escape(channel.title)}</title>\n'
        f"<link>{escape(channel.home_url)}</link>\n<description>{escape(channel.description)}</description>\n"
        f"<dc:date>{channel.updated.isoformat()}</dc:date>\n<items>\n<rdf:Seq>\n{sequence}</rdf:Seq>\n</items>\n"
        f"</channel>\n{entries}</rdf:RDF>\n"
    )


def rss091(channel: Channel, items: list[FeedItem]) -> str:
    # RSS 0.91 items have no author element; pubDate is not in the spec but old generators wrote it anyway.
    entries = "".join(
        f"<item>\n<title>{escape(item.title)}</title>\n<link>{escape(item.url)}</link>\n"
        f"<description>{escape(item.summary)}</description>\n<pubDate>{format_datetime(item.published)}</pubDate>\n"
        "</item>\n"
        for item in items
    )
    return (
        f'{xml_declaration(channel)}<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss version="0.91">\n<channel>\n'
        f"<title>{escape(channel.title)}</title>\n<link>{escape(channel.home_url)}</link>\n"
        f"<description>{escape(channel.description)}</description>\n<language>en-gb</language>\n"
        f"<lastBuildDate>{format_datetime(channel.updated)}</lastBuildDate>\n{entries}</channel>\n</rss>\n"
    )


def sitemap(urls: list[tuple[str, datetime, str]], news_publication: str | None = None) -> str:
    """A urlset of (url, lastmod, title); with `news_publication`, in the Google News sitemap dialect."""
    news_namespace = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news_publication else ""
    entries = []
    for url, modified, title in urls:
        news = (
            f"<news:news><news:publication><news:name>{escape(news_publication)}</news:name><news:language>en"
            f"</news:language></news:publication><news:publication_date>{modified.isoformat()}"
            f"</news:publication_date><news:title>{escape(title)}</news:title></news:news>"
            if news_publication
            else ""
        )
        entries.append(f"<url><loc>{escape(url)}</loc><lastmod>{modified.isoformat()}</lastmod>{news}</url>\n")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        f"{news_namespace}>\n{''.join(entries)}</urlset>\n"
    )


def sitemap_index(parts: list[tuple[str, datetime]]) -> str:
    entries = "".join(
        f"<sitemap><loc>{escape(url)}</loc><lastmod>{modified.isoformat()}</lastmod></sitemap>\n"
        for url, modified in parts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{entries}</sitemapindex>\n"
    )


def robots_txt(disallowed_path: str, sitemap_url: str | None) -> str:
    lines = [
        "User-agent: *",
        f"Disallow: {disallowed_path}",
        "Disallow: /search",
        "",
        "User-agent: BadBot",
        "Disallow: /",
    ]
    if sitemap_url:
        lines += ["", f"Sitemap: {sitemap_url}"]
    return "\n".join(lines) + "\n"
