"""Fetched pages (raw HTML, compressed) and conditional-GET validators: what the crawl writes."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, func, or_, select, update

from signpost.store.db import dialect_insert, utcnow
from signpost.store.records import FetchedPage
from signpost.store.schema import article_sources, http_validators, pages, sightings

# Failures worth no retry: the page is gone, or we may not fetch it.
PERMANENT_STATUSES = (404, 410, 451)
MAX_ATTEMPTS = 3


@dataclass
class StoredPage:
    id: int
    url: str
    final_url: str | None
    source_id: int | None
    encoding: str | None
    body: bytes
    feed_entry: dict | None
    fetched_at: datetime | None = None


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def known_urls(engine: Engine, urls: Iterable[str]) -> set[str]:
    """The URLs that need no fetch: stored, gone for good, or failed too often."""
    urls = list(dict.fromkeys(urls))
    found: set[str] = set()
    with engine.connect() as connection:
        for chunk in _chunks(urls):
            query = select(pages.c.url).where(
                pages.c.url.in_(chunk),
                or_(
                    pages.c.error.is_(None),
                    pages.c.status.in_(PERMANENT_STATUSES),
                    pages.c.attempts >= MAX_ATTEMPTS,
                ),
            )
            found.update(connection.scalars(query))
    return found


def save_pages(engine: Engine, fetched: list[FetchedPage]) -> int:
    """Store fetches, one row per URL; a refetch replaces a failure and counts the attempt. Returns rows written."""
    if not fetched:
        return 0
    with engine.begin() as connection:
        for page in fetched:
            body = zlib.compress(page.body, 6) if page.body is not None else None
            values = dict(
                final_url=page.final_url,
                source_id=page.source_id,
                fetched_at=page.fetched_at,
                status=page.status,
                error=page.error,
                content_type=page.content_type,
                encoding=page.encoding,
                body=body,
                feed_entry=page.feed_entry,
                extract_state="pending" if body is not None and page.error is None else "failed",
                extract_reason=None if page.error is None else "not fetched",
            )
            statement = dialect_insert(connection, pages).values(url=page.url, attempts=1, **values)
            statement = statement.on_conflict_do_update(
                index_elements=[pages.c.url],
                set_={**values, "attempts": pages.c.attempts + 1},
                # Never replace a good fetch by a failed one.
                where=pages.c.error.is_not(None),
            )
            connection.execute(statement)
    return len(fetched)


def pending_page_ids(engine: Engine, limit: int | None = None) -> list[int]:
    """Pages waiting for extraction, in URL order: articles then get the same ids whatever order the crawl
    fetched them in, and the first of two exact copies, which the other is recorded against, is always the same."""
    with engine.connect() as connection:
        query = select(pages.c.id).where(pages.c.extract_state == "pending").order_by(pages.c.url)
        if limit:
            query = query.limit(limit)
        return list(connection.scalars(query))


def load_pages(engine: Engine, page_ids: list[int]) -> list[StoredPage]:
    """Pages with their bodies decompressed, in the order of ``page_ids``."""
    loaded: dict[int, StoredPage] = {}
    with engine.connect() as connection:
        for chunk in _chunks(page_ids):
            query = select(
                pages.c.id,
                pages.c.url,
                pages.c.final_url,
                pages.c.source_id,
                pages.c.encoding,
                pages.c.body,
                pages.c.feed_entry,
                pages.c.fetched_at,
            ).where(pages.c.id.in_(chunk), pages.c.body.is_not(None))
            for row in connection.execute(query):
                loaded[row.id] = StoredPage(
                    id=row.id,
                    url=row.url,
                    final_url=row.final_url,
                    source_id=row.source_id,
                    encoding=row.encoding,
                    body=zlib.decompress(row.body),
                    feed_entry=row.feed_entry,
                    fetched_at=row.fetched_at,
                )
    return [loaded[page_id] for page_id in page_ids if page_id in loaded]


def stage_extractions(engine: Engine, staged: list[tuple[int, dict]]) -> None:
    """Keep (page id, extracted article as JSON) until `staged_page_ids`' order saves them."""
    with engine.begin() as connection:
        for page_id, extracted in staged:
            connection.execute(
                update(pages).where(pages.c.id == page_id).values(extract_state="extracted", extracted=extracted)
            )


def staged_page_ids(engine: Engine) -> list[int]:
    """Pages extracted by a fanned-out run and not yet saved, in URL order (see `pending_page_ids`)."""
    with engine.connect() as connection:
        return list(
            connection.scalars(select(pages.c.id).where(pages.c.extract_state == "extracted").order_by(pages.c.url))
        )


def load_staged(engine: Engine, page_ids: list[int]) -> list[tuple[StoredPage, dict]]:
    """Staged pages (without their bodies) and their extraction results, in the order of ``page_ids``."""
    loaded: dict[int, tuple[StoredPage, dict]] = {}
    with engine.connect() as connection:
        for chunk in _chunks(page_ids):
            query = select(pages.c.id, pages.c.url, pages.c.final_url, pages.c.source_id, pages.c.extracted).where(
                pages.c.id.in_(chunk), pages.c.extract_state == "extracted"
            )
            for row in connection.execute(query):
                page = StoredPage(row.id, row.url, row.final_url, row.source_id, None, b"", None)
                loaded[row.id] = (page, row.extracted)
    return [loaded[page_id] for page_id in page_ids if page_id in loaded]


def mark_all_for_reextraction(engine: Engine) -> int:
    """Queue every stored page for extraction again (after an extractor upgrade)."""
    with engine.begin() as connection:
        result = connection.execute(
            update(pages)
            .where(pages.c.body.is_not(None), pages.c.error.is_(None))
            .values(extract_state="pending", extract_reason=None)
        )
        return result.rowcount


def page_counts(engine: Engine) -> dict[str, int]:
    """How many pages are in each extraction state, and how many fetches failed."""
    with engine.connect() as connection:
        rows = connection.execute(select(pages.c.extract_state, func.count()).group_by(pages.c.extract_state))
        counts = {state: count for state, count in rows}
        counts["fetch_failed"] = connection.scalar(
            select(func.count()).select_from(pages).where(pages.c.error.is_not(None))
        )
        return counts


def fetch_failures(engine: Engine, source_id: int | None = None) -> list[dict]:
    """Failed fetches with their status and error, for the source's health view and the tests."""
    with engine.connect() as connection:
        query = select(pages.c.url, pages.c.source_id, pages.c.status, pages.c.error, pages.c.attempts).where(
            pages.c.error.is_not(None)
        )
        if source_id is not None:
            query = query.where(pages.c.source_id == source_id)
        return [dict(row) for row in connection.execute(query.order_by(pages.c.id)).mappings()]


def get_validators(engine: Engine, urls: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """ETag and Last-Modified last seen for each URL polled with conditional GET."""
    found = {}
    with engine.connect() as connection:
        for chunk in _chunks(urls):
            query = select(http_validators).where(http_validators.c.url.in_(chunk))
            for row in connection.execute(query):
                found[row.url] = (row.etag, row.last_modified)
    return found


def save_validators(engine: Engine, validators: dict[str, tuple[str | None, str | None]]) -> None:
    if not validators:
        return
    now = utcnow()
    with engine.begin() as connection:
        for url, (etag, last_modified) in validators.items():
            statement = dialect_insert(connection, http_validators).values(
                url=url, etag=etag, last_modified=last_modified, checked_at=now
            )
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[http_validators.c.url],
                    set_=dict(etag=etag, last_modified=last_modified, checked_at=now),
                )
            )


def set_extract_state(engine: Engine, states: list[tuple[int, str, str | None, int | None]]) -> None:
    """(page id, state, reason, article id) for each page handled by extraction."""
    with engine.begin() as connection:
        for page_id, state, reason, article_id in states:
            connection.execute(
                update(pages)
                .where(and_(pages.c.id == page_id))
                .values(extract_state=state, extract_reason=reason, article_id=article_id, extracted=None)
            )


def record_sightings(engine: Engine, sighted: list[tuple[str, int]]) -> None:
    """Note that each source listed each URL; credit already-extracted articles to the source at once."""
    if not sighted:
        return
    now = utcnow()
    sighted = list(dict.fromkeys(sighted))
    with engine.begin() as connection:
        for chunk in _chunks(sighted):
            connection.execute(
                dialect_insert(connection, sightings).on_conflict_do_nothing(),
                [{"url": url, "source_id": source_id, "first_seen_at": now} for url, source_id in chunk],
            )
            urls = [url for url, _ in chunk]
            done = connection.execute(
                select(pages.c.url, pages.c.article_id).where(pages.c.url.in_(urls), pages.c.article_id.is_not(None))
            ).all()
            article_of = dict(done)
            links = [
                {"article_id": article_of[url], "source_id": source_id, "url": url, "seen_at": now}
                for url, source_id in chunk
                if url in article_of
            ]
            if links:
                connection.execute(dialect_insert(connection, article_sources).on_conflict_do_nothing(), links)


def sources_that_listed(engine: Engine, url: str) -> list[int]:
    with engine.connect() as connection:
        return list(connection.scalars(select(sightings.c.source_id).where(sightings.c.url == url)))
