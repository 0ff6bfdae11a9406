"""Typed records that cross room boundaries: what the store takes and gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class FeedEntry:
    """What a feed, sitemap or listing said about one item before its page was fetched."""

    url: str
    title: str | None = None
    summary: str | None = None
    published: datetime | None = None
    author: str | None = None
    # a sitemap's lastmod: when the page last changed, never taken as its publication date
    modified: datetime | None = None
    # the feed's own full text (content:encoded, JSON Feed content_html), a strong hint of the article's text
    content: str | None = None


@dataclass
class FetchedPage:
    """One fetch of an article URL, successful or not."""

    url: str
    source_id: int | None
    status: int
    fetched_at: datetime
    final_url: str | None = None
    error: str | None = None
    content_type: str | None = None
    encoding: str | None = None
    body: bytes | None = None
    feed_entry: dict | None = None


@dataclass
class ExtractedArticle:
    """The article trafilatura found in a page."""

    canonical_url: str
    text: str
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    site_name: str | None = None
    language: str | None = None
    image_url: str | None = None
    summary: str | None = None
    date_basis: str | None = None
    date_reasons: list[str] = field(default_factory=list)


@dataclass
class Skipped:
    """A page that is not an article, and why (a listing, an error page, too short)."""

    reason: str


@dataclass
class SourceHealth:
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    last_item_count: int | None = None
    next_check_at: datetime | None = None


@dataclass
class Source:
    id: int
    url: str
    site_url: str
    name: str
    kind: str
    enabled: bool
    options: dict = field(default_factory=dict)
    communities: list[str] = field(default_factory=list)
    health: SourceHealth = field(default_factory=SourceHealth)
    etag: str | None = None
    last_modified: str | None = None
