"""The outbox: one row per (digest, member, channel), claimed before a send and marked after it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, exists, func, or_, select, update

from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import digests, members, memberships, outbox, subscriptions, suppressions
from signpost.store.suppressions import record_refusals

OUTBOX_STATES = ("pending", "sending", "sent", "failed")
# States a row ends in; a bounce or complaint heard later may move a sent row on to one of its own.
FINAL_STATES = ("sent", "failed")
# A digest's rows are sent while it is approved (or sent, for newcomers); a cancelled approval claims nothing.
SENDABLE_DIGEST = ("approved", "sent")


@dataclass(frozen=True)
class OutboxRow:
    """A claimed row with what sending it needs."""

    id: int
    digest_id: int
    member_id: int
    channel: str
    email: str
    name: str
    topic_ids: frozenset[int]
    message_id: str
    created_at: datetime
    attempts: int


def fill_outbox(
    engine: Engine,
    digest_id: int,
    community_id: int,
    topic_ids: set[int],
    message_id: Callable[[int, int, str], str],
    channel: str = "email",
    soft_bounce_limit: int = 3,
) -> int:
    """One row per confirmed, unsuppressed member following one of ``topic_ids``; run again, it adds only newcomers.

    Each row keeps the member's topics as they were, so every attempt at it renders the same message.
    Returns the number of rows added.
    """
    # Earlier sends' final refusals by the server count as bounces first, so a dead address is not tried again.
    record_refusals(engine, soft_bounce_limit)
    with engine.connect() as connection:
        followed = connection.execute(
            select(subscriptions.c.member_id, subscriptions.c.topic_id)
            .join(memberships, memberships.c.member_id == subscriptions.c.member_id)
            .where(
                memberships.c.community_id == community_id,
                memberships.c.status == "confirmed",
                subscriptions.c.topic_id.in_(sorted(topic_ids)),
                # A suppressed address (hard bounce, complaint, soft bounces in a row) gets no row anywhere.
                ~exists().where(
                    suppressions.c.member_id == subscriptions.c.member_id, suppressions.c.lifted_at.is_(None)
                ),
            )
            .order_by(subscriptions.c.member_id, subscriptions.c.topic_id)
        ).all()
    by_member: dict[int, list[int]] = {}
    for member_id, topic_id in followed:
        by_member.setdefault(member_id, []).append(topic_id)
    now = utcnow()
    rows = [
        {
            "digest_id": digest_id,
            "member_id": member_id,
            "channel": channel,
            "topic_ids": member_topic_ids,
            "message_id": message_id(digest_id, member_id, channel),
            "state": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for member_id, member_topic_ids in by_member.items()
    ]
    with engine.begin() as connection:
        # rowcount of a batched INSERT ... ON CONFLICT is not reliable across drivers: count instead.
        before = _row_count(connection, digest_id)
        for start in range(0, len(rows), 1000):
            connection.execute(
                dialect_insert(connection, outbox).on_conflict_do_nothing(
                    index_elements=[outbox.c.digest_id, outbox.c.member_id, outbox.c.channel]
                ),
                rows[start : start + 1000],
            )
        return _row_count(connection, digest_id) - before


def _row_count(connection, digest_id: int) -> int:
    return connection.scalar(select(func.count()).select_from(outbox).where(outbox.c.digest_id == digest_id))


def release_stale(engine: Engine, digest_id: int, older_than: timedelta) -> int:
    """Put rows left in ``sending`` longer than ``older_than`` back to pending: their sender died mid-send."""
    with engine.begin() as connection:
        result = connection.execute(
            update(outbox)
            .where(
                outbox.c.digest_id == digest_id,
                outbox.c.state == "sending",
                outbox.c.claimed_at <= utcnow() - older_than,
            )
            .values(state="pending", claim=None, last_error="sender stopped mid-send; sent again, same Message-ID")
        )
        return result.rowcount


# A removed member's ended rows stay, for the digest's counts, with nothing left that names them.
REMOVED_MEMBER = "(removed member)"
_email = func.coalesce(members.c.email, REMOVED_MEMBER).label("email")


def _due(now: datetime):
    """Pending rows whose wait, if any, is over."""
    return or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now)


def claim_rows(engine: Engine, digest_id: int, limit: int, tried_before: datetime | None = None) -> list[OutboxRow]:
    """Mark up to ``limit`` pending rows ``sending`` for this caller alone, and return them with their member.

    With ``tried_before``, rows last tried at or after it are left alone: a run tries each row once, and what the
    server turned away for now waits for the next run instead of being hammered.
    """
    claim = uuid.uuid4().hex
    now = utcnow()
    with engine.begin() as connection:
        # Shared lock on the digest: a cancelled approval (which locks it for update) and a claim never overlap.
        status = connection.scalar(select(digests.c.status).where(digests.c.id == digest_id).with_for_update(read=True))
        if status not in SENDABLE_DIGEST:
            return []
        pending = (
            select(outbox.c.id)
            .where(outbox.c.digest_id == digest_id, outbox.c.state == "pending", _due(now))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if tried_before is not None:
            pending = pending.where(or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < tried_before))
        if connection.dialect.name == "postgresql":
            # Two senders of one digest take different rows instead of queueing on the same ones.
            pending = pending.with_for_update(skip_locked=True)
        still_sendable = select(digests.c.id).where(digests.c.id == digest_id, digests.c.status.in_(SENDABLE_DIGEST))
        connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(pending.scalar_subquery()), outbox.c.state == "pending", still_sendable.exists())
            .values(state="sending", claim=claim, claimed_at=now, attempts=outbox.c.attempts + 1)
        )
        rows = connection.execute(
            select(outbox, members.c.email, members.c.name)
            .join(members, members.c.id == outbox.c.member_id)
            .where(outbox.c.claim == claim, outbox.c.state == "sending")
            .order_by(outbox.c.id)
        ).all()
    return [
        OutboxRow(
            id=row.id,
            digest_id=row.digest_id,
            member_id=row.member_id,
            channel=row.channel,
            email=row.email,
            name=row.name,
            topic_ids=frozenset(row.topic_ids),
            message_id=row.message_id,
            created_at=row.created_at,
            attempts=row.attempts,
        )
        for row in rows
    ]


def outbox_counts(engine: Engine, digest_id: int) -> dict[str, int]:
    """Rows of a digest by state (every state present, zero when none)."""
    with engine.connect() as connection:
        counted = dict(
            connection.execute(
                select(outbox.c.state, func.count()).where(outbox.c.digest_id == digest_id).group_by(outbox.c.state)
            ).all()
        )
    return {state: counted.get(state, 0) for state in OUTBOX_STATES}


def outbox_rows(engine: Engine, digest_id: int) -> list[dict]:
    """Every row of a digest with its member's email (``REMOVED_MEMBER`` once they were removed), for reports."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox, _email)
            .outerjoin(members, members.c.id == outbox.c.member_id)
            .where(outbox.c.digest_id == digest_id)
            .order_by(outbox.c.id)
        ).mappings()
        return [dict(row) for row in rows]


def defer_waiting(engine: Engine, digest_id: int, error: str, next_attempt: Callable[[int], datetime]) -> int:
    """Every due pending row of a digest waits: the server is down, so this run tried them all in effect.

    ``next_attempt`` gives the time of a row's next try from its count of tries, so the wait grows as an outage
    lasts. Returns the number of rows deferred.
    """
    now = utcnow()
    deferred = 0
    with engine.begin() as connection:
        due = and_(outbox.c.digest_id == digest_id, outbox.c.state == "pending", _due(now))
        for (attempts,) in connection.execute(select(outbox.c.attempts).where(due).distinct()).all():
            deferred += connection.execute(
                update(outbox)
                .where(due, outbox.c.attempts == attempts)
                .values(
                    attempts=attempts + 1,
                    claimed_at=now,
                    last_error=error[:2000],
                    next_attempt_at=next_attempt(attempts + 1),
                    waiting_since=func.coalesce(outbox.c.waiting_since, now),
                )
            ).rowcount
    return deferred


def retry_waiting_now(engine: Engine, digest_id: int) -> int:
    """Waiting rows of a digest become due at once (an admin's "retry now"); returns how many."""
    with engine.begin() as connection:
        return connection.execute(
            update(outbox)
            .where(outbox.c.digest_id == digest_id, outbox.c.state == "pending", outbox.c.next_attempt_at.is_not(None))
            .values(next_attempt_at=None)
        ).rowcount


@dataclass(frozen=True)
class DeliverySummary:
    """Where a digest's emails are: counts by state, and what the curator needs to know of those not sent."""

    counts: dict[str, int]
    tried: int
    waiting: int
    waiting_since: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    waiting_rows: list[dict]
    failed_rows: list[dict]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def queued(self) -> int:
        """Pending rows that have never failed, and rows in the hands of a sender now."""
        return self.counts["pending"] - self.waiting + self.counts["sending"]

    @property
    def all_sent(self) -> bool:
        return self.total > 0 and self.counts["sent"] == self.total


def delivery_summary(engine: Engine, digest_id: int, listed: int = 50) -> DeliverySummary:
    """The state of a digest's outbox for its pages: up to ``listed`` waiting and failed rows with their errors."""
    counts = outbox_counts(engine, digest_id)
    waiting = and_(outbox.c.digest_id == digest_id, outbox.c.state == "pending", outbox.c.waiting_since.is_not(None))
    columns = (outbox.c.id, _email, outbox.c.attempts, outbox.c.last_error, outbox.c.claimed_at)
    with engine.connect() as connection:
        number, since, next_at = connection.execute(
            select(func.count(), func.min(outbox.c.waiting_since), func.min(outbox.c.next_attempt_at)).where(waiting)
        ).one()
        tried = connection.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.digest_id == digest_id, or_(outbox.c.state != "pending", outbox.c.attempts > 0))
        )
        last_error = connection.scalar(
            select(outbox.c.last_error).where(waiting).order_by(outbox.c.claimed_at.desc(), outbox.c.id).limit(1)
        )
        waiting_rows = connection.execute(
            select(*columns, outbox.c.waiting_since, outbox.c.next_attempt_at)
            .join(members, members.c.id == outbox.c.member_id)
            .where(waiting)
            .order_by(outbox.c.id)
            .limit(listed)
        ).mappings()
        waiting_list = [dict(row) for row in waiting_rows]
        failed_rows = connection.execute(
            select(*columns)
            .outerjoin(members, members.c.id == outbox.c.member_id)
            .where(outbox.c.digest_id == digest_id, outbox.c.state == "failed")
            .order_by(outbox.c.id)
            .limit(listed)
        ).mappings()
        failed_list = [dict(row) for row in failed_rows]
    return DeliverySummary(counts, tried, number, since, next_at, last_error, waiting_list, failed_list)


def follower_count(engine: Engine, community_id: int, topic_ids: set[int]) -> int:
    """Confirmed members of a community following at least one of ``topic_ids``: whom a digest would go to."""
    with engine.connect() as connection:
        return connection.scalar(
            select(func.count(func.distinct(subscriptions.c.member_id)))
            .join(memberships, memberships.c.member_id == subscriptions.c.member_id)
            .where(
                memberships.c.community_id == community_id,
                memberships.c.status == "confirmed",
                subscriptions.c.topic_id.in_(sorted(topic_ids)),
            )
        )
