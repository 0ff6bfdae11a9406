"""What happened after a digest went out, and how each source has fared over its crawls: the admin's dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, and_, distinct, func, select

from signpost.store.db import utcnow
from signpost.store.schema import (
    crawls,
    decisions,
    digest_items,
    digests,
    item_clicks,
    memberships,
    outbox,
    pages,
    topics,
)

SENT_STATES = ("approved", "sent")


@dataclass(frozen=True)
class DigestFigures:
    """One sent (or approved) digest's delivery, unsubscriptions and clicks."""

    digest_id: int
    period_start: datetime
    sent_at: datetime | None
    members: int  # distinct members the digest went to (an outbox row each)
    states: dict[str, int]  # outbox rows by state: every state the outbox has, as it has them
    unsubscribed: int  # members of the community who unsubscribed after it, before the next one
    clicks: int
    clickers: int
    topic_clicks: dict[str, int] = field(default_factory=dict)  # clicks per topic name, topics without any too


@dataclass(frozen=True)
class ClickRow:
    """Clicks on one thing of a digest (an item, a topic or a source)."""

    name: str
    clicks: int
    members: int
    items: int = 1
    detail: str = ""


@dataclass(frozen=True)
class CrawlPoint:
    """One crawl of a source: what it found, what was kept, what curators approved of it, whether it failed."""

    started_at: datetime
    ok: bool | None
    items_found: int
    pages_failed: int
    articles_kept: int
    approvals: int


@dataclass
class ClickBreakdown:
    items: list[ClickRow] = field(default_factory=list)
    topics: list[ClickRow] = field(default_factory=list)
    sources: list[ClickRow] = field(default_factory=list)


def _sent_at(connection, digest_ids: list[int]) -> dict[int, datetime]:
    """When each digest went out: its first sent outbox row, else when it was scheduled or approved."""
    first = dict(
        connection.execute(
            select(outbox.c.digest_id, func.min(outbox.c.sent_at))
            .where(outbox.c.digest_id.in_(digest_ids))
            .group_by(outbox.c.digest_id)
        ).all()
    )
    planned = connection.execute(
        select(digests.c.id, func.coalesce(digests.c.scheduled_for, digests.c.approved_at)).where(
            digests.c.id.in_(digest_ids)
        )
    ).all()
    return {digest_id: first.get(digest_id) or when for digest_id, when in planned if first.get(digest_id) or when}


def community_figures(engine: Engine, community_id: int, weeks: int = 12) -> list[DigestFigures]:
    """The last ``weeks`` approved or sent digests of a community, oldest first, with their figures."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(digests.c.id, digests.c.period_start)
            .where(digests.c.community_id == community_id, digests.c.status.in_(SENT_STATES))
            .order_by(digests.c.period_start.desc())
            .limit(weeks)
        ).all()[::-1]
        ids = [row.id for row in rows]
        if not ids:
            return []
        states: dict[int, dict[str, int]] = {digest_id: {} for digest_id in ids}
        # A sent row that bounced or was reported shows that instead (soft-bounced, bounced, complained).
        delivery_state = func.coalesce(outbox.c.delivery, outbox.c.state)
        for digest_id, state, count in connection.execute(
            select(outbox.c.digest_id, delivery_state, func.count())
            .where(outbox.c.digest_id.in_(ids))
            .group_by(outbox.c.digest_id, delivery_state)
        ):
            states[digest_id][state] = count
        reached = dict(
            connection.execute(
                # A removed member's rows have no member left, and still count: one row, one member reached.
                select(
                    outbox.c.digest_id,
                    func.count(distinct(outbox.c.member_id)) + func.count().filter(outbox.c.member_id.is_(None)),
                )
                .where(outbox.c.digest_id.in_(ids))
                .group_by(outbox.c.digest_id)
            ).all()
        )
        clicks = {
            digest_id: (count, members)
            for digest_id, count, members in connection.execute(
                select(digest_items.c.digest_id, func.count(), func.count(distinct(item_clicks.c.member_id)))
                .join(digest_items, digest_items.c.id == item_clicks.c.item_id)
                .where(digest_items.c.digest_id.in_(ids))
                .group_by(digest_items.c.digest_id)
            )
        }
        by_topic: dict[int, dict[str, int]] = {digest_id: {} for digest_id in ids}
        for digest_id, name, count in connection.execute(
            select(digest_items.c.digest_id, topics.c.name, func.count(item_clicks.c.id))
            .join(topics, topics.c.id == digest_items.c.topic_id)
            .outerjoin(item_clicks, item_clicks.c.item_id == digest_items.c.id)
            .where(digest_items.c.digest_id.in_(ids), digest_items.c.state == "approved")
            .group_by(digest_items.c.digest_id, topics.c.name, topics.c.position)
            .order_by(topics.c.position)
        ):
            by_topic[digest_id][name] = count
        sent_at = _sent_at(connection, ids)
        leaving = list(
            connection.scalars(
                select(memberships.c.unsubscribed_at).where(
                    memberships.c.community_id == community_id, memberships.c.unsubscribed_at.is_not(None)
                )
            )
        )
    figures = []
    for index, row in enumerate(rows):
        start = sent_at.get(row.id)
        later = [sent_at[other] for other in ids[index + 1 :] if other in sent_at]
        until = min(later) if later else utcnow()
        count, members = clicks.get(row.id, (0, 0))
        figures.append(
            DigestFigures(
                digest_id=row.id,
                period_start=row.period_start,
                sent_at=start,
                members=reached.get(row.id, 0),
                states=states[row.id],
                unsubscribed=sum(start is not None and start <= when < until for when in leaving),
                clicks=count,
                clickers=members,
                topic_clicks=by_topic[row.id],
            )
        )
    return figures


def digest_figures(engine: Engine, community_id: int, digest_id: int) -> DigestFigures | None:
    """One digest's figures, counted as the community's weekly figures count them."""
    for figures in community_figures(engine, community_id, weeks=10_000):
        if figures.digest_id == digest_id:
            return figures
    return None


def click_breakdown(engine: Engine, digest_id: int) -> ClickBreakdown:
    """Clicks of a digest per item, per topic and per source, most clicked first (items nobody clicked too)."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                digest_items.c.id,
                digest_items.c.title,
                digest_items.c.source_name,
                topics.c.name.label("topic"),
                func.count(item_clicks.c.id).label("clicks"),
                func.count(distinct(item_clicks.c.member_id)).label("members"),
            )
            .join(topics, topics.c.id == digest_items.c.topic_id)
            .outerjoin(item_clicks, item_clicks.c.item_id == digest_items.c.id)
            .where(digest_items.c.digest_id == digest_id, digest_items.c.state == "approved")
            .group_by(digest_items.c.id, digest_items.c.title, digest_items.c.source_name, topics.c.name)
        ).all()
        members_by = {
            key: dict(
                connection.execute(
                    select(column, func.count(distinct(item_clicks.c.member_id)))
                    .join(digest_items, digest_items.c.id == item_clicks.c.item_id)
                    .join(topics, topics.c.id == digest_items.c.topic_id)
                    .where(digest_items.c.digest_id == digest_id)
                    .group_by(column)
                ).all()
            )
            for key, column in (("topic", topics.c.name), ("source", digest_items.c.source_name))
        }
    breakdown = ClickBreakdown(
        items=[ClickRow(row.title, row.clicks, row.members, detail=f"{row.topic} · {row.source_name}") for row in rows]
    )
    for key, target in (("topic", breakdown.topics), ("source", breakdown.sources)):
        grouped: dict[str, list] = {}
        for row in rows:
            grouped.setdefault(getattr(row, "topic" if key == "topic" else "source_name"), []).append(row)
        for name, members in grouped.items():
            clicks = sum(row.clicks for row in members)
            target.append(ClickRow(name, clicks, members_by[key].get(name, 0), items=len(members)))
    for listed in (breakdown.items, breakdown.topics, breakdown.sources):
        listed.sort(key=lambda row: (-row.clicks, row.name))
    return breakdown


def crawl_history(engine: Engine, source_ids: list[int], last: int = 12) -> dict[int, list[CrawlPoint]]:
    """Each source's last ``last`` finished crawls, oldest first.

    A crawl's articles kept are its pages (fetched while it ran) that became articles; its approvals, those
    articles a curator approved for any topic. A page fetched again counts in the crawl that fetched it last."""
    if not source_ids:
        return {}
    order = func.row_number().over(partition_by=crawls.c.source_id, order_by=crawls.c.id.desc()).label("recent")
    recent = (
        select(crawls, order).where(crawls.c.source_id.in_(source_ids), crawls.c.finished_at.is_not(None)).subquery()
    )
    window = and_(
        pages.c.source_id == recent.c.source_id,
        pages.c.fetched_at >= recent.c.started_at,
        pages.c.fetched_at <= recent.c.finished_at,
    )
    approved = select(decisions.c.article_id).where(decisions.c.kind == "approve").scalar_subquery()
    query = (
        select(
            recent.c.source_id,
            recent.c.started_at,
            recent.c.ok,
            recent.c.items_found,
            recent.c.pages_failed,
            func.count(pages.c.article_id).label("kept"),
            func.count(distinct(pages.c.article_id)).filter(pages.c.article_id.in_(approved)).label("approvals"),
        )
        .outerjoin(pages, window)
        .where(recent.c.recent <= last)
        .group_by(
            recent.c.id,
            recent.c.source_id,
            recent.c.started_at,
            recent.c.ok,
            recent.c.items_found,
            recent.c.pages_failed,
        )
        .order_by(recent.c.source_id, recent.c.started_at)
    )
    history: dict[int, list[CrawlPoint]] = {source_id: [] for source_id in source_ids}
    with engine.connect() as connection:
        for row in connection.execute(query):
            history[row.source_id].append(
                CrawlPoint(row.started_at, row.ok, row.items_found, row.pages_failed, row.kept, row.approvals)
            )
    return history
