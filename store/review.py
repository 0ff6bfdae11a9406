"""What the web app reads and writes beyond drafting: items added or moved by curators, members' suggestions,
hand-added articles, clicks, and the published digests the archive and feeds show."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Engine, func, or_, select, update

from signpost.store.articles import text_fingerprint
from signpost.store.candidates import DraftCandidate, _carried_by, _story_coverage, draft_candidate
from signpost.store.db import utcnow
from signpost.store.digests import DigestItem, DigestLockedError, _item, record_event
from signpost.store.records import ExtractedArticle
from signpost.store.schema import (
    article_groups,
    articles,
    communities,
    digest_items,
    digests,
    item_clicks,
    members,
    suggestions,
    topic_scores,
    topics,
)

PUBLISHED = ("approved", "sent")


def item_with_digest(engine: Engine, item_id: int) -> tuple[int, DigestItem] | None:
    """(digest id, item), so callers can check who may touch it; None when there is no such item."""
    with engine.connect() as connection:
        row = connection.execute(select(digest_items).where(digest_items.c.id == item_id)).first()
    return (row.digest_id, _item(row)) if row else None


def _draft_status(connection, digest_id: int) -> None:
    status = connection.scalar(select(digests.c.status).where(digests.c.id == digest_id).with_for_update())
    if status is None:
        raise LookupError(f"no digest {digest_id}")
    if status != "draft":
        raise DigestLockedError(f"digest {digest_id} is {status}; its items can no longer change")


def _section_end(connection, digest_id: int, topic_id: int) -> int:
    last = connection.scalar(
        select(func.max(digest_items.c.position)).where(
            digest_items.c.digest_id == digest_id, digest_items.c.topic_id == topic_id
        )
    )
    return 0 if last is None else last + 1


def add_item(
    engine: Engine,
    digest_id: int,
    topic_id: int,
    *,
    article_id: int,
    title: str,
    blurb: str,
    url: str,
    source_name: str,
    actor: str,
    score: float = 0.0,
    reasons: list | None = None,
    story_id: int | None = None,
) -> int:
    """A curator puts an article in a section (at its end, approved); returns the item id.

    An article already in the section is approved where it stands instead of being added twice.
    """
    with engine.begin() as connection:
        _draft_status(connection, digest_id)
        existing = connection.execute(
            select(digest_items.c.id).where(
                digest_items.c.digest_id == digest_id,
                digest_items.c.topic_id == topic_id,
                digest_items.c.article_id == article_id,
            )
        ).scalar()
        if existing is not None:
            connection.execute(update(digest_items).where(digest_items.c.id == existing).values(state="approved"))
            record_event(connection, digest_id, "item_approved", actor, item_id=existing, article_id=article_id)
            return existing
        item_id = connection.execute(
            digest_items.insert().values(
                digest_id=digest_id,
                topic_id=topic_id,
                article_id=article_id,
                story_id=story_id,
                position=_section_end(connection, digest_id, topic_id),
                title=title,
                blurb=blurb,
                url=url,
                source_name=source_name,
                edited=False,
                state="approved",
                also_covered_by=[],
                score=score,
                reasons=list(reasons or []),
            )
        ).inserted_primary_key[0]
        record_event(
            connection, digest_id, "item_added", actor, item_id=item_id, article_id=article_id, topic_id=topic_id
        )
        return item_id


def move_item_to_topic(engine: Engine, item_id: int, topic_id: int, actor: str) -> None:
    """Move an item to another section of the same digest (at its end); a move is a decision, like a reorder."""
    with engine.begin() as connection:
        row = connection.execute(select(digest_items).where(digest_items.c.id == item_id)).first()
        if row is None:
            raise LookupError(f"no digest item {item_id}")
        _draft_status(connection, row.digest_id)
        if row.topic_id == topic_id:
            return
        community_id = connection.scalar(select(digests.c.community_id).where(digests.c.id == row.digest_id))
        if connection.scalar(select(topics.c.community_id).where(topics.c.id == topic_id)) != community_id:
            raise LookupError(f"topic {topic_id} is not a topic of this digest's community")
        clash = connection.scalar(
            select(digest_items.c.id).where(
                digest_items.c.digest_id == row.digest_id,
                digest_items.c.topic_id == topic_id,
                digest_items.c.article_id == row.article_id,
            )
        )
        if clash is not None:
            raise ValueError("that article is already in the other section")
        connection.execute(
            update(digest_items)
            .where(digest_items.c.id == item_id)
            .values(
                topic_id=topic_id,
                position=_section_end(connection, row.digest_id, topic_id),
                state="approved" if row.state == "proposed" else row.state,
            )
        )
        record_event(
            connection,
            row.digest_id,
            "item_moved_topic",
            actor,
            item_id=item_id,
            from_topic=row.topic_id,
            to_topic=topic_id,
        )


def save_manual_article(engine: Engine, article: ExtractedArticle, extractor: str = "manual") -> int:
    """Store an article a curator brought by hand (no source, no page); an article already stored is reused."""
    fingerprint = text_fingerprint(article.text)
    with engine.begin() as connection:
        existing = connection.scalar(
            select(articles.c.id)
            .where(or_(articles.c.canonical_url == article.canonical_url, articles.c.fingerprint == fingerprint))
            .order_by(articles.c.id)
            .limit(1)
        )
        if existing is not None:
            return existing
        return connection.execute(
            articles.insert().values(
                **asdict(article),
                fingerprint=fingerprint,
                word_count=len(article.text.split()),
                first_seen_at=utcnow(),
                extractor=extractor,
            )
        ).inserted_primary_key[0]


# Members' suggestions: the curators' queue.


def add_suggestion(
    engine: Engine, community_id: int, url: str, *, member_id: int | None, topic_id: int | None = None, note: str = ""
) -> int:
    with engine.begin() as connection:
        if topic_id is not None:
            owner = connection.scalar(select(topics.c.community_id).where(topics.c.id == topic_id))
            if owner != community_id:
                raise LookupError(f"topic {topic_id} is not a topic of community {community_id}")
        return connection.execute(
            suggestions.insert().values(
                community_id=community_id,
                topic_id=topic_id,
                member_id=member_id,
                url=url,
                note=note,
                state="pending",
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]


def list_suggestions(engine: Engine, community_id: int, state: str = "pending") -> list[dict]:
    """Suggestions of a community, newest first, each with who suggested it."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(suggestions, members.c.email.label("suggested_by"), members.c.name.label("suggested_by_name"))
            .outerjoin(members, members.c.id == suggestions.c.member_id)
            .where(suggestions.c.community_id == community_id, suggestions.c.state == state)
            .order_by(suggestions.c.id.desc())
        ).mappings()
        return [dict(row) for row in rows]


def get_suggestion(engine: Engine, suggestion_id: int) -> dict | None:
    with engine.connect() as connection:
        row = connection.execute(select(suggestions).where(suggestions.c.id == suggestion_id)).mappings().first()
        return dict(row) if row else None


def handle_suggestion(engine: Engine, suggestion_id: int, state: str, actor: str) -> None:
    if state not in ("added", "dismissed"):
        raise ValueError(f"unknown suggestion state {state!r}")
    with engine.begin() as connection:
        connection.execute(
            update(suggestions)
            .where(suggestions.c.id == suggestion_id)
            .values(state=state, handled_by=actor, handled_at=utcnow())
        )


# Clicks, honoured only where a community turned tracking on.


def click_tracking(engine: Engine, community_id: int) -> bool:
    with engine.connect() as connection:
        return bool(connection.scalar(select(communities.c.click_tracking).where(communities.c.id == community_id)))


def set_click_tracking(engine: Engine, community_id: int, enabled: bool) -> None:
    with engine.begin() as connection:
        connection.execute(update(communities).where(communities.c.id == community_id).values(click_tracking=enabled))


def click_target(engine: Engine, item_id: int) -> dict | None:
    """What a click on an item needs: its URL, topic, article, community and whether tracking is on."""
    with engine.connect() as connection:
        row = (
            connection.execute(
                select(
                    digest_items.c.url,
                    digest_items.c.topic_id,
                    digest_items.c.article_id,
                    digests.c.community_id,
                    communities.c.click_tracking,
                )
                .join(digests, digests.c.id == digest_items.c.digest_id)
                .join(communities, communities.c.id == digests.c.community_id)
                .where(digest_items.c.id == item_id, digests.c.status.in_(PUBLISHED))
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None


def record_click(engine: Engine, item_id: int, member_id: int | None) -> bool:
    """Count a click; True when it is this member's first click on the item (the one worth learning from)."""
    with engine.begin() as connection:
        earlier = None
        if member_id is not None and connection.scalar(select(members.c.id).where(members.c.id == member_id)) is None:
            member_id = None  # the member was deleted since the email went out; the click still counts
        if member_id is not None:
            earlier = connection.scalar(
                select(item_clicks.c.id)
                .where(item_clicks.c.item_id == item_id, item_clicks.c.member_id == member_id)
                .limit(1)
            )
        connection.execute(item_clicks.insert().values(item_id=item_id, member_id=member_id, clicked_at=utcnow()))
        return earlier is None


def click_counts(engine: Engine, digest_id: int) -> dict[int, int]:
    with engine.connect() as connection:
        return dict(
            connection.execute(
                select(item_clicks.c.item_id, func.count())
                .join(digest_items, digest_items.c.id == item_clicks.c.item_id)
                .where(digest_items.c.digest_id == digest_id)
                .group_by(item_clicks.c.item_id)
            ).all()
        )


# The public archive and feeds.


def published_digests(engine: Engine, community_id: int, now: datetime, limit: int = 100) -> list[dict]:
    """Approved or sent digests whose send time has come, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(digests)
            .where(
                digests.c.community_id == community_id,
                digests.c.status.in_(PUBLISHED),
                or_(digests.c.scheduled_for.is_(None), digests.c.scheduled_for <= now),
            )
            .order_by(digests.c.period_start.desc())
            .limit(limit)
        ).mappings()
        return [dict(row) for row in rows]


def feed_items(
    engine: Engine, community_id: int, now: datetime, *, topic_id: int | None = None, limit: int = 50
) -> list[dict]:
    """Approved items of published digests, newest digest first, with the digest's dates."""
    published_at = func.coalesce(digests.c.scheduled_for, digests.c.approved_at, digests.c.updated_at)
    query = (
        select(
            digest_items.c.id,
            digest_items.c.digest_id,
            digest_items.c.topic_id,
            digest_items.c.title,
            digest_items.c.blurb,
            digest_items.c.url,
            digest_items.c.source_name,
            published_at.label("published_at"),
            digests.c.updated_at,
        )
        .join(digests, digests.c.id == digest_items.c.digest_id)
        .where(
            digests.c.community_id == community_id,
            digests.c.status.in_(PUBLISHED),
            or_(digests.c.scheduled_for.is_(None), digests.c.scheduled_for <= now),
            digest_items.c.state == "approved",
        )
        .order_by(digests.c.period_start.desc(), digest_items.c.topic_id, digest_items.c.position)
        .limit(limit)
    )
    if topic_id is not None:
        query = query.where(digest_items.c.topic_id == topic_id)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def topic_candidates(
    engine: Engine, topic_id: int, since: datetime, until: datetime, limit: int = 40
) -> list[DraftCandidate]:
    """The ``limit`` best-scored articles of one topic published in [since, until), as drafting sees them.

    The same choice as ``store.candidates.draft_candidates`` for a single topic, walking the topic's score index
    instead of ranking every topic of the community: the "more candidates" page stays fast on a big store.
    """
    when = func.coalesce(articles.c.published_at, articles.c.first_seen_at)
    window = max(limit * 4, 100)
    with engine.connect() as connection:
        while True:
            # The topic's best scores first, straight off its (topic_id, score) index; then the period and copies.
            best = (
                select(topic_scores.c.article_id, topic_scores.c.score, topic_scores.c.reasons)
                .where(topic_scores.c.topic_id == topic_id, topic_scores.c.excluded.is_(False))
                .order_by(topic_scores.c.score.desc(), topic_scores.c.article_id)
                .limit(window)
                .subquery()
            )
            query = (
                select(
                    best.c.score,
                    best.c.reasons,
                    articles.c.id.label("article_id"),
                    articles.c.title,
                    articles.c.text,
                    articles.c.canonical_url,
                    articles.c.site_name,
                    articles.c.published_at,
                    article_groups.c.story_id,
                )
                .join(articles, articles.c.id == best.c.article_id)
                .outerjoin(article_groups, article_groups.c.article_id == articles.c.id)
                .where(when >= since, when < until, article_groups.c.duplicate_of.is_(None))
                .order_by(best.c.score.desc(), articles.c.id)
                .limit(limit)
            )
            rows = connection.execute(query).all()
            scored = (
                connection.scalar(
                    select(func.count()).select_from(topic_scores).where(topic_scores.c.topic_id == topic_id)
                )
                if len(rows) < limit
                else 0
            )
            if len(rows) >= limit or window >= scored:
                break
            window *= 4
        carried = _carried_by(connection, [row.article_id for row in rows])
        coverage = _story_coverage(connection, sorted({row.story_id for row in rows if row.story_id is not None}))
    return [draft_candidate(row, carried, coverage) for row in rows]
