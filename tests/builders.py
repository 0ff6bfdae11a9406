"""Builders for tests: a store with articles credited to a source, an approved digest, as the stages leave them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from signpost.digests.compose import compose_draft
from signpost.digests.delivery import queue_digest, send_digest
from signpost.store.articles import save_article
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import Community
from signpost.store.db import open_current_store
from signpost.store.digests import approve_digest, save_draft
from signpost.store.pages import load_pages, pending_page_ids, save_pages
from signpost.store.records import ExtractedArticle, FetchedPage
from signpost.store.sources import save_source


def store_articles(engine: Engine, source_name: str, site: str, articles: Sequence[ExtractedArticle]) -> list[int]:
    """Put articles in the store as the extract stage would, credited to one source; returns their ids."""
    source_id = save_source(engine, url=f"{site}/feed", site_url=f"{site}/", name=source_name, kind="feed")
    now = datetime.now(UTC)
    save_pages(
        engine,
        [
            FetchedPage(url=article.canonical_url, source_id=source_id, status=200, fetched_at=now, body=b"-")
            for article in articles
        ],
    )
    page_ids = {page.url: page.id for page in load_pages(engine, pending_page_ids(engine))}
    return [
        save_article(
            engine,
            article,
            page_id=page_ids[article.canonical_url],
            source_id=source_id,
            page_url=article.canonical_url,
            extractor="bench",
        )[0]
        for article in articles
    ]


def approved_digest(
    engine: Engine,
    community: Community,
    candidates: Mapping[int, Sequence[DraftCandidate]],
    period_start: datetime,
    actor: str = "curator@example.org",
) -> int:
    """Compose, save and approve a digest from ready candidates (the ranking is not what is measured here)."""
    items = compose_draft(community.topics, candidates, per_topic=community.items_per_topic)
    digest_id = save_draft(engine, community.id, period_start, period_start + timedelta(days=7), items, actor=actor)
    approve_digest(engine, digest_id, actor)
    return digest_id


def in_process_publisher(settings):
    """The publishing flow's two email steps, run at once in the test's process (the CLI's hook starts
    `signpost digests publish` in a process of its own; the demo's browser test drives that one)."""

    def start(digest_id: int) -> None:
        engine = open_current_store(settings.store_url)
        queue_digest(engine, settings, digest_id)
        send_digest(engine, settings, digest_id)
        engine.dispose()

    return start
