"""The outbox: one row per (digest, member, channel), claimed before a send and marked after it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, exists, func, or_, select, text, update

from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import members, memberships, outbox, subscriptions, suppressions
from signpost.store.suppressions import record_refusals

OUTBOX_STATES = ("pending", "sending", "sent", "failed")


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


def claim_rows(engine: Engine, digest_id: int, limit: int, tried_before: datetime | None = None) -> list[OutboxRow]:
    """Mark up to ``limit`` pending rows ``sending`` for this caller alone, and return them with their member.

    With ``tried_before``, rows last tried at or after it are left alone: a run tries each row once, and what the
    server turned away for now waits for the next run instead of being hammered.
    """
    claim = uuid.uuid4().hex
    with engine.begin() as connection:
        pending = (
            select(outbox.c.id)
            .where(outbox.c.digest_id == digest_id, outbox.c.state == "pending")
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if tried_before is not None:
            pending = pending.where(or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < tried_before))
        if connection.dialect.name == "postgresql":
            # Two senders of one digest take different rows instead of queueing on the same ones.
            pending = pending.with_for_update(skip_locked=True)
        connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(pending.scalar_subquery()), outbox.c.state == "pending")
            .values(state="sending", claim=claim, claimed_at=utcnow(), attempts=outbox.c.attempts + 1)
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


class OutboxMarks:
    """Marks rows after their send, one commit per row, on a connection kept open for the whole batch."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def _set(self, row_id: int, **values: object) -> None:
        with self.connection.begin():
            if self.connection.dialect.name == "postgresql":
                # Committed before the next send without waiting for the disk: a database crash could lose the
                # last marks (those rows would be sent again, same Message-ID), a sender crash cannot.
                self.connection.execute(text("SET LOCAL synchronous_commit = off"))
            self.connection.execute(
                update(outbox).where(outbox.c.id == row_id, outbox.c.state == "sending").values(**values)
            )

    def sent(self, row_id: int) -> None:
        self._set(row_id, state="sent", sent_at=utcnow(), claim=None, last_error=None)

    def failed(self, row_id: int, error: str) -> None:
        """Given up on: the server refused the message for good."""
        self._set(row_id, state="failed", claim=None, last_error=error[:2000])

    def retry(self, row_id: int, error: str) -> None:
        """Not sent, for a reason that may pass: back to pending for the next run."""
        # claimed_at stays: it says when the row was last tried.
        self._set(row_id, state="pending", claim=None, last_error=error[:2000])


@contextmanager
def outbox_marks(engine: Engine) -> Iterator[OutboxMarks]:
    with engine.connect() as connection:
        yield OutboxMarks(connection)


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
    """Every row of a digest with its member's email, for reports and tests."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(outbox, members.c.email)
            .join(members, members.c.id == outbox.c.member_id)
            .where(outbox.c.digest_id == digest_id)
            .order_by(outbox.c.id)
        ).mappings()
        return [dict(row) for row in rows]
