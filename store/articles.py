"""Articles and the sources that carried them: each story's text is stored once, with every source."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Engine, func, or_, select

from signpost.store.db import dialect_insert, utcnow
from signpost.store.pages import set_extract_state
from signpost.store.records import ExtractedArticle
from signpost.store.schema import article_sources, articles, sightings, sources

WORD = re.compile(r"\w+")


def text_fingerprint(text: str) -> str:
    """A hash of the words of a text, blind to case, punctuation and white space."""
    words = " ".join(WORD.findall(text.lower()))
    return hashlib.sha1(words.encode("utf-8")).hexdigest()


def save_article(
    engine: Engine,
    article: ExtractedArticle,
    *,
    page_id: int,
    source_id: int | None,
    page_url: str,
    extractor: str,
) -> tuple[int, bool]:
    """Store an article unless its canonical URL or text is already there; link its source either way.

    Returns (article id, whether it was new).
    """
    fingerprint = text_fingerprint(article.text)
    now = utcnow()
    with engine.begin() as connection:
        existing = connection.scalar(
            select(articles.c.id)
            .where(or_(articles.c.canonical_url == article.canonical_url, articles.c.fingerprint == fingerprint))
            .order_by(articles.c.id)
            .limit(1)
        )
        is_new = existing is None
        if is_new:
            values = asdict(article)
            inserted = connection.execute(
                dialect_insert(connection, articles)
                .values(
                    **values,
                    fingerprint=fingerprint,
                    word_count=len(WORD.findall(article.text)),
                    first_seen_at=now,
                    extractor=extractor,
                )
                .on_conflict_do_nothing()
                .returning(articles.c.id)
            ).scalar()
            if inserted is None:
                # Another worker stored the same article between our look-up and insert.
                is_new = False
                inserted = connection.scalar(
                    select(articles.c.id).where(
                        or_(articles.c.canonical_url == article.canonical_url, articles.c.fingerprint == fingerprint)
                    )
                )
            existing = inserted
        # Credit every source that listed this URL, not only the one whose request fetched it.
        crediting = set(connection.scalars(select(sightings.c.source_id).where(sightings.c.url == page_url)))
        if source_id is not None:
            crediting.add(source_id)
        if crediting:
            connection.execute(
                dialect_insert(connection, article_sources).on_conflict_do_nothing(),
                [{"article_id": existing, "source_id": s, "url": page_url, "seen_at": now} for s in sorted(crediting)],
            )
    state_reason = None if is_new else f"duplicate of article {existing}"
    set_extract_state(engine, [(page_id, "done", state_reason, existing)])
    return existing, is_new


def known_article_urls(engine: Engine, canonical_urls: list[str]) -> set[str]:
    """The canonical URLs among these that already have an article."""
    with engine.connect() as connection:
        return set(
            connection.scalars(select(articles.c.canonical_url).where(articles.c.canonical_url.in_(canonical_urls)))
        )


def list_articles(engine: Engine, *, since: datetime | None = None, limit: int | None = None) -> list[dict]:
    """Articles newest first, each with the names of the sources that carried it."""
    with engine.connect() as connection:
        query = select(articles).order_by(articles.c.first_seen_at.desc(), articles.c.id.desc())
        if since is not None:
            query = query.where(articles.c.first_seen_at >= since)
        if limit:
            query = query.limit(limit)
        rows = [dict(row) for row in connection.execute(query).mappings()]
        ids = [row["id"] for row in rows]
        carried: dict[int, list[str]] = {}
        for start in range(0, len(ids), 500):
            linked = connection.execute(
                select(article_sources.c.article_id, sources.c.name)
                .join(sources, sources.c.id == article_sources.c.source_id)
                .where(article_sources.c.article_id.in_(ids[start : start + 500]))
                .order_by(sources.c.name)
            )
            for article_id, name in linked:
                carried.setdefault(article_id, []).append(name)
        for row in rows:
            row["sources"] = carried.get(row["id"], [])
        return rows


def count_articles(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(articles)) or 0
