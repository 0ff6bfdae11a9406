"""Attempts the web app's rate limits count, kept in the store so that every process and machine shares them."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, select, text

from signpost.store.db import utcnow
from signpost.store.schema import rate_limit_attempts as attempts


@dataclass(frozen=True)
class Allowance:
    """What one limited subject (an email address, a client IP, a member) may do: ``most`` attempts a window.

    ``most`` of 0 means no limit for this subject.
    """

    subject: str
    most: int


@dataclass(frozen=True)
class Attempt:
    """The answer to one attempt: counted (the ids of its rows) or refused (seconds until it would be counted)."""

    ids: tuple[int, ...] = ()
    retry_after: int = 0

    @property
    def allowed(self) -> bool:
        return self.retry_after == 0


def subject_hash(subject: str) -> str:
    """What the table keeps of a subject: its hash, so the table is no list of who signed in from where."""
    return hashlib.sha256(subject.encode()).hexdigest()


def _lock_subjects(connection: Connection, action: str, hashes: list[str]) -> None:
    """Serialise attempts on the same subjects, so a burst of requests cannot all read the count before any writes.

    PostgreSQL takes an advisory lock per subject (in one order, so two attempts never deadlock); SQLite has one
    writer at a time and every attempt's transaction opens with a write, so attempts there are serialised already.
    """
    if connection.dialect.name != "postgresql":
        return
    for subject in sorted(hashes):
        lock_id = int.from_bytes(hashlib.sha256(f"{action}:{subject}".encode()).digest()[:8], "big", signed=True)
        connection.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": lock_id})


def _seconds_until_below(
    connection: Connection, action: str, subject: str, most: int, now: datetime, window: timedelta
) -> int:
    """Seconds until fewer than ``most`` of the subject's attempts are within the window, or 0 if they already are."""
    newest = connection.scalars(
        select(attempts.c.attempted_at)
        .where(attempts.c.action == action, attempts.c.subject == subject, attempts.c.attempted_at > now - window)
        .order_by(attempts.c.attempted_at.desc())
        .offset(most - 1)
        .limit(1)
    ).first()
    if newest is None:
        return 0
    # The most-th newest attempt leaving the window is what brings the count below the limit.
    return max(1, math.ceil((newest + window - now).total_seconds()))


def take_attempt(
    engine: Engine,
    action: str,
    allowances: Sequence[Allowance],
    window: timedelta,
    *,
    now: datetime | None = None,
) -> Attempt:
    """Count one attempt at ``action`` against each subject, unless one of them has used up its allowance.

    A refused attempt is not counted, so a refusal lasts one window at most and then some attempts are allowed
    again. Rows of ``action`` older than the window are purged on the way.
    """
    now = now or utcnow()
    since = now - window
    limited = [(subject_hash(allowance.subject), allowance.most) for allowance in allowances if allowance.most > 0]
    # Rows another attempt is purging at the same moment are skipped, not waited for: two purges never deadlock.
    stale = (
        select(attempts.c.id)
        .where(attempts.c.action == action, attempts.c.attempted_at <= since)
        .with_for_update(skip_locked=True)
    )
    with engine.begin() as connection:
        # The purge comes first because it writes: on SQLite that takes the one write lock, so no count read below
        # can be overtaken by another attempt's insert.
        connection.execute(delete(attempts).where(attempts.c.id.in_(stale)))
        _lock_subjects(connection, action, [subject for subject, _most in limited])
        waits = [_seconds_until_below(connection, action, subject, most, now, window) for subject, most in limited]
        if any(waits):
            return Attempt(retry_after=max(waits))
        ids = tuple(
            connection.execute(
                attempts.insert().values(action=action, subject=subject, attempted_at=now)
            ).inserted_primary_key[0]
            for subject, _most in limited
        )
        return Attempt(ids=ids)


def forget_attempt(engine: Engine, attempt: Attempt) -> None:
    """Uncount an attempt that turned out not to be one the limit is about (a sign-in that succeeded)."""
    if attempt.ids:
        with engine.begin() as connection:
            connection.execute(delete(attempts).where(attempts.c.id.in_(attempt.ids)))


def forget_subject(engine: Engine, action: str, subject: str) -> None:
    """Uncount every attempt at ``action`` against one subject, and only that subject."""
    with engine.begin() as connection:
        connection.execute(
            delete(attempts).where(attempts.c.action == action, attempts.c.subject == subject_hash(subject))
        )
