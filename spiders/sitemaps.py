"""Parsing of XML sitemaps, sitemap indexes, news sitemaps and the Sitemap lines of robots.txt."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import lxml.etree

from signpost.spiders.dates import parse_date
from signpost.spiders.feed_text import TITLE_MAX_CHARS, plain
from signpost.spiders.urls import http_url
from signpost.spiders.xml_repair import BrokenXmlError, read_xml

SitemapKind = Literal["urlset", "index"]

# The sitemaps.org limit for one file, uncompressed; a bigger gzip is a bomb, not a sitemap.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class SitemapError(ValueError):
    """The body is not a sitemap or sitemap index."""


@dataclass
class SitemapEntry:
    url: str
    lastmod: datetime | None = None
    # From <news:news>, when the sitemap is a Google News sitemap.
    title: str | None = None
    published: datetime | None = None


@dataclass
class ParsedSitemap:
    kind: SitemapKind
    entries: list[SitemapEntry] = field(default_factory=list)
    # Set when lxml's recovering parser had to guess, or lines of a text sitemap were not URLs.
    warnings: list[str] = field(default_factory=list)


def looks_like_sitemap(body: bytes) -> bool:
    """Cheap sniffing before parse_sitemap: gzip, or an XML urlset / sitemapindex near the start."""
    if body[:2] == GZIP_MAGIC:
        return True
    head = body[:2048]
    return b"<urlset" in head or b"<sitemapindex" in head or b":urlset" in head or b":sitemapindex" in head


def parse_sitemap(body: bytes, base_url: str, charset: str | None = None) -> ParsedSitemap:
    """Read a sitemap (plain, gzipped or plain-text) or sitemap index; raise SitemapError when it is neither."""
    if body[:2] == GZIP_MAGIC:
        body = _gunzip(body)
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n\f")
    if not stripped:
        raise SitemapError("not a sitemap: the body is empty")
    if not stripped.startswith(b"<"):
        return _parse_text_sitemap(stripped, base_url)
    try:
        # A bare '&' in a URL is mended before the parse, so "?id=5&page=2" keeps its "&page".
        document = read_xml(stripped, base_url, charset)
    except BrokenXmlError as error:
        raise SitemapError(f"not a sitemap: {error}") from error
    root = document.root
    warnings = [document.recovered_from] if document.recovered_from else []
    name = _local(root)
    if name == "urlset":
        return ParsedSitemap("urlset", _entries(root, "url", base_url), warnings)
    if name == "sitemapindex":
        return ParsedSitemap("index", _entries(root, "sitemap", base_url), warnings)
    raise SitemapError(f"not a sitemap: the root element is <{name}>, not <urlset> or <sitemapindex>")


def sitemap_urls_from_robots_txt(text: str, base_url: str) -> list[str]:
    """The Sitemap: lines of a robots.txt, resolved against its URL, in order, without duplicates."""
    urls: list[str] = []
    for line in text.splitlines():
        directive, _, value = line.partition(":")
        if directive.strip().lower() == "sitemap":
            url = http_url(value.partition("#")[0], base_url)
            if url and url not in urls:
                urls.append(url)
    return urls


def newest_first(entries: list[SitemapEntry]) -> list[SitemapEntry]:
    """Entries sorted by publication (or last modification) date, undated ones last, stable otherwise."""
    dated = [entry for entry in entries if entry.published or entry.lastmod]
    undated = [entry for entry in entries if not (entry.published or entry.lastmod)]
    dated.sort(key=lambda entry: entry.published or entry.lastmod, reverse=True)  # type: ignore[arg-type, return-value]
    return dated + undated


def _gunzip(body: bytes, max_size: int = MAX_SITEMAP_BYTES) -> bytes:
    """Decompress gzip data a chunk at a time, stopping as soon as the output passes ``max_size``."""
    # 16 + MAX_WBITS: a gzip header and trailer; concatenated gzip members are read one after another.
    output = bytearray()
    remaining = body
    try:
        while remaining:
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            chunk = remaining
            while chunk:
                output += decompressor.decompress(chunk, max_size + 1 - len(output))
                if len(output) > max_size:
                    raise SitemapError(f"not a sitemap: more than {max_size} bytes once decompressed")
                chunk = decompressor.unconsumed_tail
            if not decompressor.eof:
                raise SitemapError("not a sitemap: broken gzip data (truncated)")
            # Zero padding after the last member is common and harmless (gzip(1) ignores it too).
            remaining = decompressor.unused_data.lstrip(b"\0")
    except zlib.error as error:
        raise SitemapError(f"not a sitemap: broken gzip data ({error})") from error
    return bytes(output)


def _parse_text_sitemap(body: bytes, base_url: str) -> ParsedSitemap:
    # sitemaps.org also allows a plain list of URLs, one a line; a stray line of anything else is skipped.
    lines = [line.strip() for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
    entries: list[SitemapEntry] = []
    seen: set[str] = set()
    skipped = 0
    for line in lines:
        url = http_url(line) if line[:4].lower() == "http" else None
        if url is None:
            skipped += 1
        elif url not in seen:
            seen.add(url)
            entries.append(SitemapEntry(url))
    if not entries:
        raise SitemapError("not a sitemap: neither XML nor a list of URLs")
    warnings = [f"skipped {skipped} line(s) that are not http(s) URLs"] if skipped else []
    return ParsedSitemap("urlset", entries, warnings)


def _entries(root: lxml.etree._Element, item_name: str, base_url: str) -> list[SitemapEntry]:
    entries: list[SitemapEntry] = []
    seen: set[str] = set()
    for item in root:
        if _local(item) != item_name:
            continue
        url = http_url(_child_text(item, "loc"), base_url)
        if not url or url in seen:
            continue
        seen.add(url)
        entry = SitemapEntry(url, lastmod=parse_date(_child_text(item, "lastmod")))
        news = _child(item, "news")
        if news is not None:
            entry.title = plain(_child_text(news, "title"), TITLE_MAX_CHARS)
            entry.published = parse_date(_child_text(news, "publication_date"))
        entries.append(entry)
    return entries


def _local(element: lxml.etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(element: lxml.etree._Element, name: str) -> lxml.etree._Element | None:
    return next((child for child in element if _local(child) == name), None)


def _child_text(element: lxml.etree._Element, name: str) -> str | None:
    child = _child(element, name)
    if child is None or child.text is None:
        return None
    # Only the direct text: entity references stay unexpanded child nodes.
    return " ".join(child.text.split()) or None
