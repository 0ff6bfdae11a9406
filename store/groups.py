"""Syndicated copies and stories: which articles still need grouping, their neighbours, and the saved result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Engine, func, select

from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import article_groups, article_sources, article_vectors, articles, sources, stories

CHUNK = 500


@dataclass(frozen=True)
class GroupingRow:
    """One article as the grouping stage reads it; ``vector`` is None when it has not been embedded."""

    id: int
    title: str
    text: str
    published: datetime
    source: str
    vector: np.ndarray | None
    story_id: int | None = None
    duplicate_of: int | None = None


def _when():
    return func.coalesce(articles.c.published_at, articles.c.first_seen_at)


def ungrouped_article_ids(engine: Engine) -> list[int]:
    """Articles no grouping has seen yet, oldest first."""
    with engine.connect() as connection:
        grouped = select(article_groups.c.article_id)
        query = select(articles.c.id).where(articles.c.id.not_in(grouped)).order_by(articles.c.id)
        return list(connection.scalars(query))


def grouping_rows(engine: Engine, article_ids: list[int], model: str) -> list[GroupingRow]:
    """The articles with their first source's name, their vector from ``model`` and any grouping they have."""
    rows: list[GroupingRow] = []
    with engine.connect() as connection:
        for start in range(0, len(article_ids), CHUNK):
            chunk = article_ids[start : start + CHUNK]
            first_source = (
                select(article_sources.c.article_id, func.min(article_sources.c.source_id).label("source_id"))
                .where(article_sources.c.article_id.in_(chunk))
                .group_by(article_sources.c.article_id)
                .subquery()
            )
            query = (
                select(
                    articles.c.id,
                    articles.c.title,
                    articles.c.text,
                    _when().label("published"),
                    articles.c.site_name,
                    sources.c.name.label("source_name"),
                    article_vectors.c.vector,
                    article_groups.c.story_id,
                    article_groups.c.duplicate_of,
                )
                .outerjoin(first_source, first_source.c.article_id == articles.c.id)
                .outerjoin(sources, sources.c.id == first_source.c.source_id)
                .outerjoin(
                    article_vectors,
                    (article_vectors.c.article_id == articles.c.id) & (article_vectors.c.model == model),
                )
                .outerjoin(article_groups, article_groups.c.article_id == articles.c.id)
                .where(articles.c.id.in_(chunk))
            )
            for row in connection.execute(query):
                rows.append(
                    GroupingRow(
                        id=row.id,
                        title=row.title or "",
                        text=row.text,
                        published=row.published,
                        source=row.source_name or row.site_name or "",
                        vector=None if row.vector is None else np.frombuffer(row.vector, dtype=np.float32),
                        story_id=row.story_id,
                        duplicate_of=row.duplicate_of,
                    )
                )
    rows.sort(key=lambda row: row.id)
    return rows


def grouped_ids_between(engine: Engine, since: datetime, until: datetime) -> list[int]:
    """Already-grouped articles dated in [since, until]: the neighbours new articles may copy or join."""
    with engine.connect() as connection:
        query = (
            select(articles.c.id)
            .join(article_groups, article_groups.c.article_id == articles.c.id)
            .where(_when() >= since, _when() <= until)
            .order_by(articles.c.id)
        )
        return list(connection.scalars(query))


def save_grouping(
    engine: Engine,
    story_of: dict[int, int],
    duplicate_of: dict[int, int],
    representative: dict[int, int],
    first_published: dict[int, datetime],
) -> None:
    """Write every article's story and original, and each story's representative; safe to repeat."""
    now = utcnow()
    story_rows = [
        {
            "id": story_id,
            "representative_id": representative[story_id],
            "first_published_at": first_published[story_id],
            "updated_at": now,
        }
        for story_id in sorted(representative)
    ]
    group_rows = [
        {
            "article_id": article_id,
            "story_id": story_id,
            "duplicate_of": duplicate_of.get(article_id),
            "grouped_at": now,
        }
        for article_id, story_id in sorted(story_of.items())
    ]
    with engine.begin() as connection:
        for start in range(0, len(story_rows), CHUNK):
            insert = dialect_insert(connection, stories)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[stories.c.id],
                    set_={
                        "representative_id": insert.excluded.representative_id,
                        "first_published_at": insert.excluded.first_published_at,
                        "updated_at": insert.excluded.updated_at,
                    },
                ),
                story_rows[start : start + CHUNK],
            )
        for start in range(0, len(group_rows), CHUNK):
            insert = dialect_insert(connection, article_groups)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[article_groups.c.article_id],
                    set_={"story_id": insert.excluded.story_id, "duplicate_of": insert.excluded.duplicate_of},
                ),
                group_rows[start : start + CHUNK],
            )


def story_sizes(engine: Engine, story_ids: list[int]) -> dict[int, dict]:
    """For each story: how many articles and how many distinct sources carried it."""
    found: dict[int, dict] = {}
    with engine.connect() as connection:
        for start in range(0, len(story_ids), CHUNK):
            query = (
                select(
                    article_groups.c.story_id,
                    func.count(func.distinct(article_groups.c.article_id)).label("articles"),
                    func.count(func.distinct(article_sources.c.source_id)).label("sources"),
                )
                .join(article_sources, article_sources.c.article_id == article_groups.c.article_id)
                .where(article_groups.c.story_id.in_(story_ids[start : start + CHUNK]))
                .group_by(article_groups.c.story_id)
            )
            for row in connection.execute(query):
                found[row.story_id] = {"articles": row.articles, "sources": row.sources}
    return found
