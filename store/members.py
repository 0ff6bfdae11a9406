"""Members, their memberships of communities (double opt-in) and the topics they follow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, delete, select, update

from signpost.config.models import plain_name
from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import members, memberships, subscriptions, topics
from signpost.store.suppressions import lift_in


@dataclass(frozen=True)
class Member:
    id: int
    email: str
    name: str


@dataclass(frozen=True)
class MemberImport:
    """One line of a member list: who, and which of the community's topics (by id) they follow."""

    email: str
    name: str = ""
    topic_ids: Sequence[int] = field(default_factory=tuple)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def add_member(engine: Engine, email: str, name: str = "") -> int:
    """The id of the member with this email, created if new; a name given later fills in an empty one."""
    email = normalise_email(email)
    plain_name(name)
    with engine.begin() as connection:
        connection.execute(
            dialect_insert(connection, members)
            .values(email=email, name=name, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[members.c.email])
        )
        row = connection.execute(select(members.c.id, members.c.name).where(members.c.email == email)).one()
        if name and not row.name:
            connection.execute(update(members).where(members.c.id == row.id).values(name=name))
        return row.id


def get_member(engine: Engine, member_id: int) -> Member:
    with engine.connect() as connection:
        row = connection.execute(select(members).where(members.c.id == member_id)).first()
    if row is None:
        raise LookupError(f"no member {member_id}")
    return Member(row.id, row.email, row.name)


def _community_topic_ids(connection: Connection, community_id: int) -> set[int]:
    return set(connection.scalars(select(topics.c.id).where(topics.c.community_id == community_id)))


def _replace_topics(connection: Connection, member_id: int, community_id: int, topic_ids: Iterable[int]) -> None:
    allowed = _community_topic_ids(connection, community_id)
    wanted = set(topic_ids)
    if wanted - allowed:
        raise LookupError(f"topics {sorted(wanted - allowed)} are not topics of community {community_id}")
    connection.execute(
        delete(subscriptions).where(subscriptions.c.member_id == member_id, subscriptions.c.topic_id.in_(allowed))
    )
    if wanted:
        connection.execute(
            subscriptions.insert(), [{"member_id": member_id, "topic_id": topic_id} for topic_id in sorted(wanted)]
        )


def join_community(engine: Engine, member_id: int, community_id: int, topic_ids: Iterable[int]) -> str:
    """Ask to join (double opt-in: pending until confirmed) and follow ``topic_ids``; returns the status."""
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            dialect_insert(connection, memberships)
            .values(member_id=member_id, community_id=community_id, status="pending", created_at=now)
            .on_conflict_do_nothing()
        )
        # Someone who unsubscribed and signs up again has to confirm again.
        connection.execute(
            update(memberships)
            .where(
                memberships.c.member_id == member_id,
                memberships.c.community_id == community_id,
                memberships.c.status == "unsubscribed",
            )
            .values(status="pending", unsubscribed_at=None)
        )
        _replace_topics(connection, member_id, community_id, topic_ids)
        return connection.scalar(
            select(memberships.c.status).where(
                memberships.c.member_id == member_id, memberships.c.community_id == community_id
            )
        )


def confirm_membership(engine: Engine, member_id: int, community_id: int) -> bool:
    """The member confirmed their address; False when there was nothing pending to confirm.

    A confirmation is a new double opt-in: the address receives mail again, so its suppression (if any) is lifted.
    """
    with engine.begin() as connection:
        lift_in(connection, member_id)
        result = connection.execute(
            update(memberships)
            .where(
                memberships.c.member_id == member_id,
                memberships.c.community_id == community_id,
                memberships.c.status == "pending",
            )
            .values(status="confirmed", confirmed_at=utcnow())
        )
        return result.rowcount == 1


def unsubscribe(engine: Engine, member_id: int, community_id: int) -> bool:
    """Stop all email from a community at once; idempotent, so a repeated one-click POST is harmless."""
    with engine.begin() as connection:
        result = connection.execute(
            update(memberships)
            .where(
                memberships.c.member_id == member_id,
                memberships.c.community_id == community_id,
                memberships.c.status != "unsubscribed",
            )
            .values(status="unsubscribed", unsubscribed_at=utcnow())
        )
        return result.rowcount == 1


def set_topics(engine: Engine, member_id: int, community_id: int, topic_ids: Iterable[int]) -> None:
    """Make the member follow exactly ``topic_ids`` of the community."""
    with engine.begin() as connection:
        _replace_topics(connection, member_id, community_id, topic_ids)


def member_topics(engine: Engine, member_id: int, community_id: int) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.scalars(
                select(subscriptions.c.topic_id)
                .join(topics, topics.c.id == subscriptions.c.topic_id)
                .where(subscriptions.c.member_id == member_id, topics.c.community_id == community_id)
                .order_by(topics.c.position)
            )
        )


def membership_status(engine: Engine, member_id: int, community_id: int) -> str | None:
    with engine.connect() as connection:
        return connection.scalar(
            select(memberships.c.status).where(
                memberships.c.member_id == member_id, memberships.c.community_id == community_id
            )
        )


def import_members(engine: Engine, community_id: int, rows: Sequence[MemberImport], *, confirmed: bool) -> int:
    """Add many members at once (an admin's list, or a benchmark); existing memberships are left as they are.

    ``confirmed=True`` is for lists whose consent was collected elsewhere. Returns the members now in the list.
    """
    for row in rows:
        plain_name(row.name)
    now = utcnow()
    status = "confirmed" if confirmed else "pending"
    allowed = None
    with engine.begin() as connection:
        allowed = _community_topic_ids(connection, community_id)
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            connection.execute(
                dialect_insert(connection, members).on_conflict_do_nothing(index_elements=[members.c.email]),
                [{"email": normalise_email(row.email), "name": row.name, "created_at": now} for row in chunk],
            )
            ids = dict(
                connection.execute(
                    select(members.c.email, members.c.id).where(
                        members.c.email.in_([normalise_email(row.email) for row in chunk])
                    )
                ).all()
            )
            connection.execute(
                dialect_insert(connection, memberships).on_conflict_do_nothing(),
                [
                    {
                        "member_id": ids[normalise_email(row.email)],
                        "community_id": community_id,
                        "status": status,
                        "created_at": now,
                        "confirmed_at": now if confirmed else None,
                    }
                    for row in chunk
                ],
            )
            followed = [
                {"member_id": ids[normalise_email(row.email)], "topic_id": topic_id}
                for row in chunk
                for topic_id in set(row.topic_ids)
                if topic_id in allowed
            ]
            if followed:
                connection.execute(dialect_insert(connection, subscriptions).on_conflict_do_nothing(), followed)
    return len(rows)
