"""Parsing of RSS (0.9x, 1.0, 2.0), Atom (0.3, 1.0) and JSON Feed documents into feed entries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import lxml.etree

from signpost.spiders.dates import parse_date
from signpost.spiders.feed_text import (
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    atom_text,
    element_text,
    guessed_text,
    html_to_text,
    plain,
)
from signpost.spiders.urls import http_url
from signpost.spiders.xml_repair import BrokenXmlError, read_xml
from signpost.store.records import FeedEntry

FeedKind = Literal["rss", "rdf", "atom", "json"]

FEED_CONTENT_TYPES = ("rss", "atom", "rdf", "feed+json")
_SNIFF_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf", b"<rdf ", b"jsonfeed.org/version")
RSS_DATES = ("pubDate", "date", "published", "issued", "created", "modified", "updated")
ATOM_DATES = ("published", "updated", "issued", "created", "modified", "date")
RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"


class FeedError(ValueError):
    """The body is not a feed, or is too broken to read."""


@dataclass
class ParsedFeed:
    kind: FeedKind
    title: str | None
    site_url: str | None
    entries: list[FeedEntry] = field(default_factory=list)
    # Set when the XML was broken and lxml's recovering parser had to guess: the feed may have lost a part.
    warnings: list[str] = field(default_factory=list)
    # What was mended before a strict parse (bare '&', HTML entities, a stray byte): nothing was lost.
    repairs: list[str] = field(default_factory=list)
    # Entries left out, each with the reason: no usable link, or a link an earlier entry had.
    skipped: list[str] = field(default_factory=list)


def looks_like_feed(body: bytes, content_type: str | None) -> bool:
    """Whether a response is worth handing to parse_feed (cheap sniffing, no parsing)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if any(marker in media_type for marker in FEED_CONTENT_TYPES):
        return True
    head = body[:2048].lower()
    if media_type in ("text/html", "application/xhtml+xml") and b"<html" in head:
        return False
    return any(marker in head for marker in _SNIFF_MARKERS)


def charset_of(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if it names one."""
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def parse_feed(body: bytes, base_url: str, charset: str | None = None) -> ParsedFeed:
    """Read a feed of any supported format; raise FeedError saying why when it is not one.

    ``charset`` is the HTTP Content-Type's; the document's own declaration, when it has one, wins.
    """
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n\f")
    if not stripped:
        raise FeedError("not a feed: the body is empty")
    if stripped[:1] in (b"{", b"["):
        return _parse_json_feed(stripped, base_url, charset)
    if body[:2] == b"\x1f\x8b":
        raise FeedError("not a feed: gzip data the server did not decode")
    return _parse_xml_feed(body, base_url, charset)


def _parse_xml_feed(body: bytes, base_url: str, charset: str | None) -> ParsedFeed:
    try:
        document = read_xml(body, base_url, charset)
    except BrokenXmlError as error:
        raise FeedError(f"not a feed: {error}") from error
    root = document.root
    name = _local(root).lower()
    if name == "rss":
        parsed = _parse_rss(root, base_url)
    elif name == "rdf":
        parsed = _parse_rdf(root, base_url)
    elif name == "feed":
        parsed = _parse_atom(root, base_url)
    elif name == "html":
        raise FeedError("not a feed: this is an HTML page")
    else:
        raise FeedError(f"not a feed: {document.recovered_from or f'the root element is <{name}>'}")
    parsed.repairs = document.repairs
    if document.recovered_from:
        if not parsed.entries:
            raise FeedError(f"not a feed: {document.recovered_from}")
        parsed.warnings.append(document.recovered_from)
    return parsed


def _parse_rss(root: lxml.etree._Element, base_url: str) -> ParsedFeed:
    channel = _child(root, "channel")
    if channel is None:
        raise FeedError("not a feed: <rss> has no <channel>")
    site_url = http_url(element_text(_child(channel, "link")), base_url)
    items = list(_children(channel, "item")) + list(_children(root, "item"))
    entries = [_rss_entry(item, site_url or base_url) for item in items]
    title = guessed_text(element_text(_child(channel, "title")), TITLE_MAX_CHARS)
    return _feed("rss", title, site_url, entries)


def _parse_rdf(root: lxml.etree._Element, base_url: str) -> ParsedFeed:
    # RSS 0.90 and 1.0 put <item> next to <channel>, not inside it.
    channel = _child(root, "channel")
    site_url = http_url(element_text(_child(channel, "link")), base_url) if channel is not None else None
    entries = [_rss_entry(item, site_url or base_url) for item in _children(root, "item")]
    title = guessed_text(element_text(_child(channel, "title")), TITLE_MAX_CHARS) if channel is not None else None
    return _feed("rdf", title, site_url, entries)


def _rss_entry(item: lxml.etree._Element, base_url: str) -> FeedEntry:
    children = _by_name(item)
    url = None
    for candidate in children.get("link", ()):
        # <atom:link href=...> shares the local name; the RSS one carries the URL as text.
        href = candidate.get("href") if candidate.get("rel", "alternate") == "alternate" else None
        url = http_url(element_text(candidate) or href, base_url)
        if url:
            break
    guid = _first(children, "guid")
    if not url and guid is not None and guid.get("isPermaLink", "true").strip().lower() != "false":
        # A permalink guid must be a whole URL: "abc-123" resolved against the site would be an invented page.
        url = http_url(element_text(guid))
    url = url or http_url(item.get(RDF_ABOUT))
    summary = _first_text(children, ("description", "encoded", "summary")) or _media_description(children)
    author = element_text(_first(children, "creator")) or _rss_author(element_text(_first(children, "author")))
    return FeedEntry(
        url=url or "",
        title=guessed_text(element_text(_first(children, "title")), TITLE_MAX_CHARS),
        summary=html_to_text(summary, SUMMARY_MAX_CHARS),
        published=_first_date(children, RSS_DATES),
        author=plain(author, TITLE_MAX_CHARS),
        content=element_text(_first(children, "encoded")),
    )


def _rss_author(value: str | None) -> str | None:
    # RSS 2.0 says "email (Name)"; show the name, not the address.
    if not value:
        return None
    match = re.fullmatch(r"\s*\S+@\S+\s*\((.+)\)\s*", value) if len(value) < 300 else None
    return match.group(1).strip() if match else value.strip()


def _parse_atom(root: lxml.etree._Element, base_url: str) -> ParsedFeed:
    feed_author = _atom_author(root)
    entries = []
    for entry in _children(root, "entry"):
        children = _by_name(entry)
        summary = atom_text(_first(children, "summary"), SUMMARY_MAX_CHARS) or atom_text(
            _first(children, "content"), SUMMARY_MAX_CHARS
        )
        url = _atom_link(children.get("link", ()), entry, base_url) or http_url(element_text(_first(children, "id")))
        entries.append(
            FeedEntry(
                url=url or "",
                title=atom_text(_first(children, "title"), TITLE_MAX_CHARS),
                summary=summary or html_to_text(_media_description(children), SUMMARY_MAX_CHARS),
                published=_first_date(children, ATOM_DATES),
                author=_atom_author(entry) or feed_author,
                content=element_text(_first(children, "content")),
            )
        )
    title = atom_text(_child(root, "title"), TITLE_MAX_CHARS)
    return _feed("atom", title, _atom_link(_children(root, "link"), root, base_url), entries)


def _atom_link(links: Iterable[lxml.etree._Element], element: lxml.etree._Element, base_url: str) -> str | None:
    for link in links:
        if link.get("rel", "alternate").strip() == "alternate" and link.get("href"):
            # element.base applies any xml:base on the way down, falling back to the document URL.
            url = http_url(link.get("href"), http_url(link.base) or base_url)
            if url:
                return url
    return None


def _atom_author(element: lxml.etree._Element) -> str | None:
    author = _child(element, "author")
    return plain(element_text(_child(author, "name")), TITLE_MAX_CHARS) if author is not None else None


def _by_name(element: lxml.etree._Element) -> dict[str, list[lxml.etree._Element]]:
    """The element's children by local name, in one pass (an item is asked for a dozen names)."""
    found: dict[str, list[lxml.etree._Element]] = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            found.setdefault(tag.rpartition("}")[2], []).append(child)
    return found


def _first(children: dict[str, list[lxml.etree._Element]], name: str) -> lxml.etree._Element | None:
    found = children.get(name)
    return found[0] if found else None


def _first_text(children: dict[str, list[lxml.etree._Element]], names: tuple[str, ...]) -> str | None:
    for name in names:
        if text := element_text(_first(children, name)):
            return text
    return None


def _media_description(children: dict[str, list[lxml.etree._Element]]) -> str | None:
    # Media RSS puts it on the item, in <media:group> (YouTube) or in <media:content>.
    if text := element_text(_first(children, "description")):
        return text
    for holder in (_first(children, "group"), _first(children, "content")):
        if holder is not None and (text := element_text(_child(holder, "description"))):
            return text
    return None


def _first_date(children: dict[str, list[lxml.etree._Element]], names: tuple[str, ...]) -> datetime | None:
    for name in names:
        if (published := parse_date(element_text(_first(children, name)))) is not None:
            return published
    return None


def _parse_json_feed(body: bytes, base_url: str, charset: str | None) -> ParsedFeed:
    try:
        text = body.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        text = body.decode("utf-8", "signpost-cp1252")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise FeedError(f"not a feed: JSON syntax error: {error}") from error
    if not isinstance(document, dict) or "jsonfeed.org/version" not in str(document.get("version", "")):
        raise FeedError("not a feed: JSON without a jsonfeed.org version")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError("not a feed: JSON Feed without an items list")
    feed_author = _json_author(document)
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        summary = plain(_json_str(item, "summary") or _json_str(item, "content_text"), SUMMARY_MAX_CHARS)
        published = parse_date(_json_str(item, "date_published")) or parse_date(_json_str(item, "date_modified"))
        entries.append(
            FeedEntry(
                url=_json_url(item, base_url) or "",
                title=plain(_json_str(item, "title"), TITLE_MAX_CHARS),
                summary=summary or html_to_text(_json_str(item, "content_html"), SUMMARY_MAX_CHARS),
                published=published,
                author=_json_author(item) or feed_author,
                content=_json_str(item, "content_html") or _json_str(item, "content_text"),
            )
        )
    site_url = http_url(_json_str(document, "home_page_url"), base_url)
    return _feed("json", plain(_json_str(document, "title"), TITLE_MAX_CHARS), site_url, entries)


def _json_url(item: dict[str, Any], base_url: str) -> str | None:
    # The id is a last resort, and only when it is a whole web URL (it is often a number or a tag: URI).
    url = http_url(_json_str(item, "url"), base_url) or http_url(_json_str(item, "external_url"), base_url)
    return url or http_url(_json_str(item, "id"))


def _json_str(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def _json_author(mapping: dict[str, Any]) -> str | None:
    # 1.1 has an "authors" list, 1.0 a single "author".
    authors = mapping.get("authors")
    candidates = authors if isinstance(authors, list) else [mapping.get("author")]
    for author in candidates:
        if isinstance(author, dict) and (name := _json_str(author, "name")):
            return plain(name, TITLE_MAX_CHARS)
    return None


def _feed(kind: FeedKind, title: str | None, site_url: str | None, entries: list[FeedEntry]) -> ParsedFeed:
    """The feed with its linked entries, each URL once; the others are skipped, and why is said."""
    seen: set[str] = set()
    feed = ParsedFeed(kind, title, site_url)
    for number, entry in enumerate(entries, start=1):
        if not entry.url:
            feed.skipped.append(f"entry {number} ({entry.title or 'untitled'!r}): no usable http(s) link")
        elif entry.url in seen:
            feed.skipped.append(f"entry {number}: repeats {entry.url}")
        else:
            seen.add(entry.url)
            feed.entries.append(entry)
    return feed


def _local(element: lxml.etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(element: lxml.etree._Element, name: str) -> Iterator[lxml.etree._Element]:
    # Matching on local names tolerates feeds that forget or misspell their namespace.
    return (child for child in element if _local(child) == name)


def _child(element: lxml.etree._Element | None, name: str) -> lxml.etree._Element | None:
    if element is None:
        return None
    return next(_children(element, name), None)
