"""Parsing of RSS (0.9x, 1.0, 2.0), Atom 1.0 and JSON Feed documents into feed entries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from signpost.store.records import FeedEntry

FeedKind = Literal["rss", "rdf", "atom", "json"]

SUMMARY_MAX_CHARS = 1000
TITLE_MAX_CHARS = 500
FEED_CONTENT_TYPES = ("rss", "atom", "rdf", "feed+json")
_SNIFF_MARKERS = (b"<rss", b"<feed", b"<rdf:rdf", b"<rdf ", b"jsonfeed.org/version")


class FeedError(ValueError):
    """The body is not a feed, or is too broken to read."""


@dataclass
class ParsedFeed:
    kind: FeedKind
    title: str | None
    site_url: str | None
    entries: list[FeedEntry] = field(default_factory=list)
    # Set when the XML was broken and lxml's recovering parser had to guess.
    warnings: list[str] = field(default_factory=list)


def safe_xml_parser(recover: bool) -> lxml.etree.XMLParser:
    """An lxml parser that never loads a DTD, expands entities or touches the network."""
    return lxml.etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=recover,
        remove_comments=True,
        remove_pis=True,
    )


def looks_like_feed(body: bytes, content_type: str | None) -> bool:
    """Whether a response is worth handing to parse_feed (cheap sniffing, no parsing)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if any(marker in media_type for marker in FEED_CONTENT_TYPES):
        return True
    head = body[:2048].lower()
    if media_type in ("text/html", "application/xhtml+xml") and b"<html" in head:
        return False
    return any(marker in head for marker in _SNIFF_MARKERS)


def parse_feed(body: bytes, base_url: str) -> ParsedFeed:
    """Read a feed of any supported format; raise FeedError saying why when it is not one."""
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise FeedError("not a feed: the body is empty")
    if stripped[:1] in (b"{", b"["):
        return _parse_json_feed(stripped, base_url)
    return _parse_xml_feed(body, base_url)


def _parse_xml_feed(body: bytes, base_url: str) -> ParsedFeed:
    try:
        root = lxml.etree.fromstring(body, safe_xml_parser(recover=False), base_url=base_url)
        syntax_error = None
    except lxml.etree.XMLSyntaxError as error:
        syntax_error = f"XML syntax error at line {error.lineno}: {error.msg.split(', line ')[0]}"
        # Real feeds often carry a stray '&' or a bad byte; recover, but only trust the result if it has entries.
        try:
            root = lxml.etree.fromstring(body, safe_xml_parser(recover=True), base_url=base_url)
        except lxml.etree.XMLSyntaxError:
            root = None
    if root is None:
        raise FeedError(f"not a feed: {syntax_error or 'no XML document'}")
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
        raise FeedError(f"not a feed: {syntax_error or f'the root element is <{name}>'}")
    if syntax_error:
        if not parsed.entries:
            raise FeedError(f"not a feed: {syntax_error}")
        parsed.warnings.append(syntax_error)
    return parsed


def _parse_rss(root: lxml.etree._Element, base_url: str) -> ParsedFeed:
    channel = _child(root, "channel")
    if channel is None:
        raise FeedError("not a feed: <rss> has no <channel>")
    site_url = _resolve(base_url, _text(_child(channel, "link")))
    items = list(_children(channel, "item")) + list(_children(root, "item"))
    entries = [_rss_entry(item, site_url or base_url) for item in items]
    return ParsedFeed("rss", _clean_title(_text(_child(channel, "title"))), site_url, _keep_linked(entries))


def _parse_rdf(root: lxml.etree._Element, base_url: str) -> ParsedFeed:
    # RSS 0.90 and 1.0 put <item> next to <channel>, not inside it.
    channel = _child(root, "channel")
    site_url = _resolve(base_url, _text(_child(channel, "link"))) if channel is not None else None
    entries = [_rss_entry(item, site_url or base_url) for item in _children(root, "item")]
    title = _clean_title(_text(_child(channel, "title"))) if channel is not None else None
    return ParsedFeed("rdf", title, site_url, _keep_linked(entries))


def _rss_entry(item: lxml.etree._Element, base_url: str) -> FeedEntry:
    link = None
    for candidate in _children(item, "link"):
        # <atom:link href=...> shares the local name; the RSS one carries the URL as text.
        link = _text(candidate) or (candidate.get("href") if candidate.get("rel", "alternate") == "alternate" else None)
        if link:
            break
    guid = _child(item, "guid")
    if not link and guid is not None and guid.get("isPermaLink", "true").lower() != "false":
        link = _text(guid)
    about = item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about")
    summary = _text(_child(item, "description")) or _text(_child(item, "encoded"))
    date = _text(_child(item, "pubDate")) or _text(_child(item, "date")) or _text(_child(item, "published"))
    author = _text(_child(item, "creator")) or _rss_author(_text(_child(item, "author")))
    return FeedEntry(
        url=_resolve(base_url, link or about) or "",
        title=_clean_title(_text(_child(item, "title"))),
        summary=html_to_text(summary, SUMMARY_MAX_CHARS),
        published=parse_date(date),
        author=author,
        content=_text(_child(item, "encoded")),
    )


def _rss_author(value: str | None) -> str | None:
    # RSS 2.0 says "email (Name)"; show the name, not the address.
    if not value:
        return None
    match = re.fullmatch(r"\s*\S+@\S+\s*\((.+)\)\s*", value)
    return match.group(1).strip() if match else value.strip()


def _parse_atom(root: lxml.etree._Element, base_url: str) -> ParsedFeed:
    feed_author = _atom_author(root)
    entries = []
    for entry in _children(root, "entry"):
        summary = _atom_text(_child(entry, "summary")) or _atom_text(_child(entry, "content"))
        date = _text(_child(entry, "published")) or _text(_child(entry, "updated"))
        entries.append(
            FeedEntry(
                url=_atom_link(entry, base_url) or "",
                title=_clean_title(_atom_text(_child(entry, "title"))),
                summary=html_to_text(summary, SUMMARY_MAX_CHARS),
                published=parse_date(date),
                author=_atom_author(entry) or feed_author,
                content=_atom_text(_child(entry, "content")),
            )
        )
    title = _clean_title(_atom_text(_child(root, "title")))
    return ParsedFeed("atom", title, _atom_link(root, base_url), _keep_linked(entries))


def _atom_link(element: lxml.etree._Element, base_url: str) -> str | None:
    for link in _children(element, "link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            # element.base applies any xml:base on the way down, falling back to the document URL.
            return _resolve(link.base or base_url, link.get("href"))
    return None


def _atom_author(element: lxml.etree._Element) -> str | None:
    author = _child(element, "author")
    return _text(_child(author, "name")) if author is not None else None


def _atom_text(element: lxml.etree._Element | None) -> str | None:
    if element is None:
        return None
    if element.get("type") == "xhtml":
        return " ".join(_text(child) or "" for child in element if isinstance(child.tag, str)).strip() or None
    return _text(element)


def _parse_json_feed(body: bytes, base_url: str) -> ParsedFeed:
    try:
        document = json.loads(body)
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
        summary = _json_str(item, "summary") or _json_str(item, "content_text") or _json_str(item, "content_html")
        published = _json_str(item, "date_published") or _json_str(item, "date_modified")
        entries.append(
            FeedEntry(
                url=_resolve(base_url, _json_str(item, "url") or _json_str(item, "external_url")) or "",
                title=_clean_title(_json_str(item, "title")),
                summary=html_to_text(summary, SUMMARY_MAX_CHARS),
                published=parse_date(published),
                author=_json_author(item) or feed_author,
                content=_json_str(item, "content_html") or _json_str(item, "content_text"),
            )
        )
    site_url = _resolve(base_url, _json_str(document, "home_page_url"))
    return ParsedFeed("json", _clean_title(_json_str(document, "title")), site_url, _keep_linked(entries))


def _json_str(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def _json_author(mapping: dict[str, Any]) -> str | None:
    # 1.1 has an "authors" list, 1.0 a single "author".
    authors = mapping.get("authors")
    candidates = authors if isinstance(authors, list) else [mapping.get("author")]
    for author in candidates:
        if isinstance(author, dict) and (name := _json_str(author, "name")):
            return name
    return None


def parse_date(value: str | None) -> datetime | None:
    """An RFC 822 or ISO 8601 date as an aware UTC datetime; None when it cannot be read."""
    if not value:
        return None
    value = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            parsed = None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        # Feeds without a zone are nearly always UTC; guessing the server's zone would be worse.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def html_to_text(value: str | None, max_chars: int) -> str | None:
    """Plain text of an HTML fragment, whitespace collapsed and cut to max_chars."""
    if not value or not value.strip():
        return None
    if "<" in value or "&" in value:
        try:
            fragment = lxml.html.fragment_fromstring(value, create_parent="div")
            for unwanted in fragment.xpath(".//script|.//style"):
                unwanted.drop_tree()
            value = fragment.text_content()
        except (lxml.etree.ParserError, ValueError):
            value = re.sub(r"<[^>]*>", " ", value)
    text = " ".join(value.split())
    if len(text) > max_chars:
        text = text[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return text or None


def _clean_title(value: str | None) -> str | None:
    return html_to_text(value, TITLE_MAX_CHARS)


def _keep_linked(entries: list[FeedEntry]) -> list[FeedEntry]:
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry.url and entry.url not in seen:
            seen.add(entry.url)
            kept.append(entry)
    return kept


def _resolve(base_url: str, link: str | None) -> str | None:
    if not link or not link.strip():
        return None
    url = urljoin(base_url, link.strip())
    return url if urlsplit(url).scheme in ("http", "https") else None


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


def _text(element: lxml.etree._Element | None) -> str | None:
    """Text content, skipping entity references: they stay unexpanded (no billion laughs)."""
    if element is None:
        return None
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(_text(child) or "")
        parts.append(child.tail or "")
    return "".join(parts).strip() or None
