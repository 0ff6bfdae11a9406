"""What a draft is made from: each topic's best-scored articles of a period, with their story and sources."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from signpost.store.digests import CoveredBy
from signpost.store.schema import (
    article_groups,
    article_sources,
    articles,
    digest_items,
    digests,
    sources,
    topic_scores,
    topics,
)

# Weeks over which a source's posting rate is counted, for the rare-source boost.
RATE_WEEKS = 4


@dataclass(frozen=True)
class DraftCandidate:
    """An article ranked for a topic, with what a digest item needs to be written."""

    article_id: int
    title: str
    text: str
    url: str
    source: str
    published_at: datetime | None
    story_id: int | None
    score: float
    reasons: list = field(default_factory=list)
    # Where else the same story ran (other sources, other articles of the story), for "also covered by".
    other_sources: tuple[CoveredBy, ...] = ()
    # Articles a week the item's source published over the RATE_WEEKS before the period's end; None: unknown.
    source_weekly_posts: float | None = None


@dataclass(frozen=True)
class SentItem:
    """An item an earlier digest of the community sent: what a follow-up refers to."""

    article_id: int
    story_id: int | None
    title: str
    sent_on: datetime


def draft_candidates(
    engine: Engine, community_id: int, since: datetime, until: datetime, pool_per_topic: int = 30
) -> dict[int, list[DraftCandidate]]:
    """The ``pool_per_topic`` best-scored articles of each of the community's topics published in [since, until)."""
    when = func.coalesce(articles.c.published_at, articles.c.first_seen_at)
    rank = (
        func.row_number()
        .over(partition_by=topic_scores.c.topic_id, order_by=(topic_scores.c.score.desc(), articles.c.id))
        .label("rank")
    )
    ranked = (
        select(
            topic_scores.c.topic_id,
            topic_scores.c.score,
            topic_scores.c.reasons,
            articles.c.id.label("article_id"),
            articles.c.title,
            articles.c.text,
            articles.c.canonical_url,
            articles.c.site_name,
            articles.c.published_at,
            article_groups.c.story_id,
            rank,
        )
        .join(articles, articles.c.id == topic_scores.c.article_id)
        .join(topics, topics.c.id == topic_scores.c.topic_id)
        .outerjoin(article_groups, article_groups.c.article_id == articles.c.id)
        .where(
            topics.c.community_id == community_id,
            # An archived topic keeps its old scores but drafts nothing.
            topics.c.archived_at.is_(None),
            topic_scores.c.excluded.is_(False),
            when >= since,
            when < until,
            # A syndicated copy is covered by its original; it only shows up under "also covered by".
            article_groups.c.duplicate_of.is_(None),
        )
        .subquery()
    )
    with engine.connect() as connection:
        rows = connection.execute(
            select(ranked).where(ranked.c.rank <= pool_per_topic).order_by(ranked.c.topic_id, ranked.c.rank)
        ).all()
        article_ids = sorted({row.article_id for row in rows})
        story_ids = sorted({row.story_id for row in rows if row.story_id is not None})
        carried = _carried_by(connection, article_ids)
        story_coverage = _story_coverage(connection, story_ids)
        rates = _weekly_posts(connection, until)
    found: dict[int, list[DraftCandidate]] = {}
    for row in rows:
        candidate = draft_candidate(row, carried, story_coverage)
        candidate = replace(candidate, source_weekly_posts=rates.get(candidate.source, 0.0))
        found.setdefault(row.topic_id, []).append(candidate)
    return found


def _weekly_posts(connection, until: datetime) -> dict[str, float]:
    """Articles a week each source (by name) published over the RATE_WEEKS weeks before ``until``."""
    when = func.coalesce(articles.c.published_at, articles.c.first_seen_at)
    since = until - timedelta(weeks=RATE_WEEKS)
    query = (
        select(sources.c.name, func.count(func.distinct(article_sources.c.article_id)))
        .join(article_sources, article_sources.c.source_id == sources.c.id)
        .join(articles, articles.c.id == article_sources.c.article_id)
        .where(when >= since, when < until)
        .group_by(sources.c.name)
    )
    return {name: count / RATE_WEEKS for name, count in connection.execute(query)}


def sent_before(engine: Engine, community_id: int, before: datetime) -> tuple[set[int], dict[int, SentItem]]:
    """What earlier digests of the community sent (approved items of digests approved or sent, from periods
    that started before ``before``): their article ids, and per story the latest item sent on it."""
    query = (
        select(digest_items.c.article_id, digest_items.c.story_id, digest_items.c.title, digests.c.period_end)
        .join(digests, digests.c.id == digest_items.c.digest_id)
        .where(
            digests.c.community_id == community_id,
            digests.c.status.in_(("approved", "sent")),
            digests.c.period_start < before,
            digest_items.c.state == "approved",
        )
        .order_by(digests.c.period_start, digest_items.c.id)
    )
    article_ids: set[int] = set()
    stories: dict[int, SentItem] = {}
    with engine.connect() as connection:
        for row in connection.execute(query):
            article_ids.add(row.article_id)
            if row.story_id is not None:
                stories[row.story_id] = SentItem(row.article_id, row.story_id, row.title, row.period_end)
    return article_ids, stories


def decided_scores(engine: Engine, community_id: int) -> list[tuple[bool, float]]:
    """(approved?, score) of every item curators approved or rejected in the community's digests."""
    query = (
        select(digest_items.c.state, digest_items.c.score)
        .join(digests, digests.c.id == digest_items.c.digest_id)
        .where(digests.c.community_id == community_id, digest_items.c.state.in_(("approved", "rejected")))
    )
    with engine.connect() as connection:
        return [(state == "approved", float(score)) for state, score in connection.execute(query)]


def draft_candidate(row, carried: dict[int, list[CoveredBy]], coverage: dict[int, list[CoveredBy]]) -> DraftCandidate:
    """A candidate from a scored article row, credited to its first source; the story's others are "also"."""
    own = carried.get(row.article_id) or [CoveredBy(row.site_name or "", row.canonical_url)]
    primary = own[0]
    others: dict[str, CoveredBy] = {}
    for entry in [*own[1:], *coverage.get(row.story_id, [])]:
        if entry.source and entry.source != primary.source and entry.source not in others:
            others[entry.source] = entry
    return DraftCandidate(
        article_id=row.article_id,
        title=row.title or "",
        text=row.text,
        url=primary.url or row.canonical_url,
        source=primary.source,
        published_at=row.published_at,
        story_id=row.story_id,
        score=row.score,
        reasons=list(row.reasons or []),
        other_sources=tuple(others.values()),
    )


def _carried_by(connection, article_ids: list[int]) -> dict[int, list[CoveredBy]]:
    """Each article's sources with the URL each published it under, by source name."""
    carried: dict[int, list[CoveredBy]] = {}
    for start in range(0, len(article_ids), 500):
        query = (
            select(article_sources.c.article_id, sources.c.name, article_sources.c.url)
            .join(sources, sources.c.id == article_sources.c.source_id)
            .where(article_sources.c.article_id.in_(article_ids[start : start + 500]))
            .order_by(article_sources.c.article_id, sources.c.name)
        )
        for article_id, name, url in connection.execute(query):
            carried.setdefault(article_id, []).append(CoveredBy(name, url))
    return carried


def _story_coverage(connection, story_ids: list[int]) -> dict[int, list[CoveredBy]]:
    """Every (source, url) that carried any article of each story."""
    coverage: dict[int, list[CoveredBy]] = {}
    for start in range(0, len(story_ids), 500):
        query = (
            select(article_groups.c.story_id, sources.c.name, article_sources.c.url)
            .join(article_sources, article_sources.c.article_id == article_groups.c.article_id)
            .join(sources, sources.c.id == article_sources.c.source_id)
            .where(article_groups.c.story_id.in_(story_ids[start : start + 500]))
            .order_by(article_groups.c.story_id, article_sources.c.seen_at, sources.c.name)
        )
        for story_id, name, url in connection.execute(query):
            coverage.setdefault(story_id, []).append(CoveredBy(name, url))
    return coverage
