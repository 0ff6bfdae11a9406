"""Topic scores of articles, and the community articles and decisions the scoring stage reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, func, or_, select

from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import (
    article_groups,
    article_sources,
    articles,
    community_sources,
    decisions,
    topic_scores,
    topics,
)

CHUNK = 500
DECISION_KINDS = {"approve": 1, "reject": -1, "click": 1}


@dataclass(frozen=True)
class ScoreRow:
    article_id: int
    topic_id: int
    score: float
    similarity: float
    excluded: bool
    reasons: list[str]


@dataclass(frozen=True)
class Decision:
    """A curator's approve or reject (or a member's click) of an article for a topic."""

    topic_id: int
    article_id: int
    value: int
    kind: str
    weight: float
    actor: str | None
    decided_at: datetime


def _dated():
    return func.coalesce(articles.c.published_at, articles.c.first_seen_at)


def community_article_ids(engine: Engine, community_id: int, since: datetime | None = None) -> list[int]:
    """Originals (not syndicated copies) brought by the community's sources, or by sources serving everyone."""
    serves_everyone = (
        ~select(community_sources.c.source_id)
        .where(community_sources.c.source_id == article_sources.c.source_id)
        .exists()
    )
    serves_community = article_sources.c.source_id.in_(
        select(community_sources.c.source_id).where(community_sources.c.community_id == community_id)
    )
    query = (
        select(articles.c.id)
        .join(article_sources, article_sources.c.article_id == articles.c.id)
        .outerjoin(article_groups, article_groups.c.article_id == articles.c.id)
        .where(or_(serves_community, serves_everyone), article_groups.c.duplicate_of.is_(None))
        .distinct()
        .order_by(articles.c.id)
    )
    if since is not None:
        query = query.where(_dated() >= since)
    with engine.connect() as connection:
        return list(connection.scalars(query))


def article_texts(engine: Engine, article_ids: list[int]) -> dict[int, dict]:
    """Title, text, date, story and source count of each article, for keyword rules and explanations."""
    found: dict[int, dict] = {}
    with engine.connect() as connection:
        for start in range(0, len(article_ids), CHUNK):
            chunk = article_ids[start : start + CHUNK]
            query = (
                select(
                    articles.c.id,
                    articles.c.title,
                    articles.c.text,
                    articles.c.canonical_url,
                    _dated().label("dated"),
                    article_groups.c.story_id,
                )
                .outerjoin(article_groups, article_groups.c.article_id == articles.c.id)
                .where(articles.c.id.in_(chunk))
            )
            for row in connection.execute(query):
                found[row.id] = dict(row._mapping)
    return found


def article_ids_by_url(engine: Engine, urls: list[str]) -> dict[str, int]:
    """Stored articles among these canonical URLs (topic examples are given as URLs)."""
    if not urls:
        return {}
    with engine.connect() as connection:
        query = select(articles.c.canonical_url, articles.c.id).where(articles.c.canonical_url.in_(urls))
        return dict(connection.execute(query).all())


def save_scores(engine: Engine, rows: list[ScoreRow]) -> None:
    """Insert or replace the scores of these (article, topic) pairs."""
    now = utcnow()
    values = [
        {
            "article_id": row.article_id,
            "topic_id": row.topic_id,
            "score": row.score,
            "similarity": row.similarity,
            "excluded": row.excluded,
            "reasons": row.reasons,
            "scored_at": now,
        }
        for row in rows
    ]
    with engine.begin() as connection:
        for start in range(0, len(values), CHUNK * 4):
            insert = dialect_insert(connection, topic_scores)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[topic_scores.c.article_id, topic_scores.c.topic_id],
                    set_={
                        name: getattr(insert.excluded, name)
                        for name in ("score", "similarity", "excluded", "reasons", "scored_at")
                    },
                ),
                values[start : start + CHUNK * 4],
            )


def record_decision(
    engine: Engine, topic_id: int, article_id: int, kind: str, actor: str | None = None, weight: float = 1.0
) -> None:
    """Record an approve, reject or click; a curator's newer decision on the same item replaces the older one."""
    with engine.begin() as connection:
        save_decision(connection, topic_id, article_id, kind, actor, weight)


def save_decision(
    connection: Connection,
    topic_id: int,
    article_id: int,
    kind: str,
    actor: str | None = None,
    weight: float = 1.0,
) -> None:
    """``record_decision`` in the caller's transaction, so a digest item's state and its label change together."""
    if kind not in DECISION_KINDS:
        raise ValueError(f"unknown decision {kind!r}; expected one of {sorted(DECISION_KINDS)}")
    if kind != "click":
        # One label per (topic, article): the latest curator decision, never an approve and a reject at once.
        withdraw_decision(connection, topic_id, article_id)
    connection.execute(
        decisions.insert().values(
            topic_id=topic_id,
            article_id=article_id,
            value=DECISION_KINDS[kind],
            kind=kind,
            weight=weight,
            actor=actor,
            decided_at=utcnow(),
        )
    )


def withdraw_decision(connection: Connection, topic_id: int, article_id: int) -> int:
    """Take back the curators' label of an article for a topic (members' clicks stay); how many rows went."""
    # The label table holds only what the ranking should learn now; the history of who decided what is in
    # the digest's audit log (digest_events).
    result = connection.execute(
        delete(decisions).where(
            decisions.c.topic_id == topic_id,
            decisions.c.article_id == article_id,
            decisions.c.kind != "click",
        )
    )
    return result.rowcount


def community_decisions(engine: Engine, community_id: int) -> list[Decision]:
    """Every decision on the community's topics, oldest first: the labels the ranking learns from."""
    query = (
        select(decisions)
        .join(topics, topics.c.id == decisions.c.topic_id)
        .where(topics.c.community_id == community_id)
        .order_by(decisions.c.id)
    )
    with engine.connect() as connection:
        return [
            Decision(row.topic_id, row.article_id, row.value, row.kind, row.weight, row.actor, row.decided_at)
            for row in connection.execute(query)
        ]
