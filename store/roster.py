"""Members as an admin sees them: found by email or name, with their memberships and topics; removed for good."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, func, or_, select

from signpost.store.outbox import FINAL_STATES
from signpost.store.schema import communities, members, memberships, outbox, subscriptions, topics


@dataclass(frozen=True)
class MembershipView:
    """One of a member's communities: its status and the topics followed there (names, in topic order)."""

    community_id: int
    community_slug: str
    community_name: str
    status: str
    joined_at: datetime
    unsubscribed_at: datetime | None
    topic_ids: tuple[int, ...]
    topic_names: tuple[str, ...]


@dataclass(frozen=True)
class RosterMember:
    id: int
    email: str
    name: str
    created_at: datetime
    memberships: tuple[MembershipView, ...]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_members(
    engine: Engine, query: str = "", community_id: int | None = None, limit: int = 200
) -> list[RosterMember]:
    """Members whose email or name contains ``query`` (any case), in a community or anywhere, by email."""
    statement = select(members).order_by(members.c.email).limit(limit)
    if query.strip():
        pattern = f"%{_escaped(query.strip().lower())}%"
        statement = statement.where(
            or_(members.c.email.like(pattern, escape="\\"), func.lower(members.c.name).like(pattern, escape="\\"))
        )
    if community_id is not None:
        statement = statement.where(
            members.c.id.in_(select(memberships.c.member_id).where(memberships.c.community_id == community_id))
        )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
        held = _memberships(connection, [row.id for row in rows])
    return [RosterMember(row.id, row.email, row.name, row.created_at, held.get(row.id, ())) for row in rows]


def _memberships(connection, member_ids: list[int]) -> dict[int, tuple[MembershipView, ...]]:
    if not member_ids:
        return {}
    followed: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for member_id, community_id, topic_id, name in connection.execute(
        select(subscriptions.c.member_id, topics.c.community_id, topics.c.id, topics.c.name)
        .join(topics, topics.c.id == subscriptions.c.topic_id)
        .where(subscriptions.c.member_id.in_(member_ids))
        .order_by(topics.c.position, topics.c.id)
    ):
        followed.setdefault((member_id, community_id), []).append((topic_id, name))
    found: dict[int, list[MembershipView]] = {}
    for row in connection.execute(
        select(memberships, communities.c.slug, communities.c.name)
        .join(communities, communities.c.id == memberships.c.community_id)
        .where(memberships.c.member_id.in_(member_ids))
        .order_by(communities.c.name)
    ):
        topics_here = followed.get((row.member_id, row.community_id), [])
        found.setdefault(row.member_id, []).append(
            MembershipView(
                row.community_id,
                row.slug,
                row.name,
                row.status,
                row.created_at,
                row.unsubscribed_at,
                tuple(topic_id for topic_id, _ in topics_here),
                tuple(name for _, name in topics_here),
            )
        )
    return {member_id: tuple(views) for member_id, views in found.items()}


def roster_member(engine: Engine, member_id: int) -> RosterMember | None:
    with engine.connect() as connection:
        row = connection.execute(select(members).where(members.c.id == member_id)).first()
        if row is None:
            return None
        held = _memberships(connection, [member_id])
    return RosterMember(row.id, row.email, row.name, row.created_at, held.get(member_id, ()))


def remove_member(engine: Engine, member_id: int) -> bool:
    """Delete a member and, with them, their memberships, topics and the digests not yet sent to them; what was
    sent, and their clicks and suggestions, stay for the counts, no longer theirs. False when there was no such
    member."""
    with engine.begin() as connection:
        # A row still being sent goes too: its sender's mark then matches nothing, and no retry can follow.
        connection.execute(delete(outbox).where(outbox.c.member_id == member_id, outbox.c.state.not_in(FINAL_STATES)))
        return connection.execute(delete(members).where(members.c.id == member_id)).rowcount == 1
