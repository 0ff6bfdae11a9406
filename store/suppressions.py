"""Bounces and complaints received, and the suppression list they feed: one list across every community.

One hard bounce or one complaint suppresses an address; so do ``soft_limit`` soft bounces in a row, meaning the
member's latest sent digests each soft-bounced. A complaint also unsubscribes the member from every community.
A soft bounce counts once per outbox row however many reports come for it (a delay warning, then a failure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, or_, select, update

from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import bounces, members, memberships, outbox, suppressions

KINDS = ("hard", "soft", "complaint")
# What an outbox row shows once mail systems have answered, worst last.
DELIVERY = {"soft": "soft-bounced", "hard": "bounced", "complaint": "complained"}
_RANK = {None: 0, "soft-bounced": 1, "bounced": 2, "complained": 3}


@dataclass(frozen=True)
class BounceReport:
    """One recipient's bounce or complaint, as any intake (listener, mailbox, provider webhook) read it.

    It names its outbox row by the VERP address (``outbox_id``), else by the Message-ID the row sent, else by the
    recipient's address (then the member's latest sent row is taken).
    """

    kind: str
    source: str
    status: str = ""
    detail: str = ""
    outbox_id: int | None = None
    message_id: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a bounce is hard, soft or complaint, not {self.kind!r}")


@dataclass(frozen=True)
class Recorded:
    """What recording a report did: whose it was, and whether it suppressed them just now."""

    member_id: int | None
    outbox_id: int | None
    counted: bool = False
    suppressed: bool = False


@dataclass(frozen=True)
class Suppression:
    member_id: int
    email: str
    name: str
    reason: str
    detail: str
    source: str
    created_at: datetime


def _match(connection: Connection, report: BounceReport) -> tuple[int | None, int | None]:
    """(member id, outbox row id) the report is about; (None, None) when it matches nobody."""
    if report.outbox_id is not None:
        row = connection.execute(select(outbox.c.member_id, outbox.c.id).where(outbox.c.id == report.outbox_id)).first()
        if row is not None:
            return row.member_id, row.id
    if report.message_id:
        wanted = report.message_id.strip()
        wanted = wanted if wanted.startswith("<") else f"<{wanted}>"
        row = connection.execute(
            select(outbox.c.member_id, outbox.c.id).where(outbox.c.message_id == wanted).limit(1)
        ).first()
        if row is not None:
            return row.member_id, row.id
    if report.email:
        member_id = connection.scalar(select(members.c.id).where(members.c.email == report.email.strip().lower()))
        if member_id is not None:
            latest = connection.scalar(
                select(func.max(outbox.c.id)).where(outbox.c.member_id == member_id, outbox.c.state == "sent")
            )
            return member_id, latest
    return None, None


def record_bounce(engine: Engine, report: BounceReport, soft_limit: int) -> Recorded:
    """Keep the report, mark its outbox row, and suppress (and, for a complaint, unsubscribe) when it should."""
    now = utcnow()
    with engine.begin() as connection:
        member_id, outbox_id = _match(connection, report)
        if member_id is None:
            return Recorded(None, None)
        if outbox_id is not None and report.kind == "soft" and _row_has(connection, outbox_id, "soft"):
            return Recorded(member_id, outbox_id)
        connection.execute(
            bounces.insert().values(
                member_id=member_id,
                outbox_id=outbox_id,
                kind=report.kind,
                status=report.status[:16],
                detail=report.detail[:2000],
                source=report.source[:16],
                received_at=now,
            )
        )
        if outbox_id is not None:
            _mark_row(connection, outbox_id, DELIVERY[report.kind], now)
        if report.kind == "complaint":
            connection.execute(
                update(memberships)
                .where(memberships.c.member_id == member_id, memberships.c.status != "unsubscribed")
                .values(status="unsubscribed", unsubscribed_at=now)
            )
        reason = report.kind
        if report.kind == "soft" and soft_bounces_in_a_row(connection, member_id) < max(1, soft_limit):
            reason = None
        suppressed = reason is not None and _suppress(connection, member_id, reason, report, now)
        return Recorded(member_id, outbox_id, counted=True, suppressed=suppressed)


REFUSAL = re.compile(r"^5\d\d\b")


def record_refusals(engine: Engine, soft_limit: int) -> int:
    """Count the SMTP server's own permanent refusals (rows ended as ``failed`` with a 5xx) as hard bounces, once
    each: a relay that refuses a dead address at once never sends a DSN. Returns how many rows were counted."""
    with engine.connect() as connection:
        refused = connection.execute(
            select(outbox.c.id, outbox.c.last_error).where(outbox.c.state == "failed", outbox.c.delivery.is_(None))
        ).all()
    counted = 0
    for row in refused:
        found = REFUSAL.match(row.last_error or "")
        if found is None:
            continue  # not the server's answer (a message that could not be rendered, say)
        report = BounceReport("hard", "refused", found.group(0), row.last_error or "", outbox_id=row.id)
        counted += record_bounce(engine, report, soft_limit).counted
    return counted


def _row_has(connection: Connection, outbox_id: int, kind: str) -> bool:
    return bool(
        connection.scalar(
            select(func.count()).select_from(bounces).where(bounces.c.outbox_id == outbox_id, bounces.c.kind == kind)
        )
    )


def _mark_row(connection: Connection, outbox_id: int, delivery: str, now: datetime) -> None:
    current = connection.scalar(select(outbox.c.delivery).where(outbox.c.id == outbox_id))
    # A complaint after a soft bounce says more; a late soft bounce never hides a hard one.
    if _RANK[delivery] > _RANK.get(current, 0):
        connection.execute(update(outbox).where(outbox.c.id == outbox_id).values(delivery=delivery, delivery_at=now))


def soft_bounces_in_a_row(connection: Connection, member_id: int) -> int:
    """How many of the member's latest ended rows (sent, refused, or reported on) soft-bounced, newest first,
    since their suppression was lifted; rows still waiting to be sent do not break the run.

    A row with a report has ended even while it still reads "sending": a relay on loopback can return its DSN
    before the sender's mark of that row is committed, and the report must count then as it would a second later.
    """
    lifted = connection.scalar(select(suppressions.c.lifted_at).where(suppressions.c.member_id == member_id))
    ended = or_(outbox.c.state.in_(("sent", "failed")), outbox.c.delivery.is_not(None))
    query = (
        select(outbox.c.delivery).where(outbox.c.member_id == member_id, ended).order_by(outbox.c.id.desc()).limit(100)
    )
    if lifted is not None:
        query = query.where(outbox.c.created_at > lifted)
    streak = 0
    for delivery in connection.scalars(query):
        if delivery != "soft-bounced":
            break
        streak += 1
    return streak


def _suppress(connection: Connection, member_id: int, reason: str, report: BounceReport, now: datetime) -> bool:
    """Suppress the member; False when they already were (the first reason is kept)."""
    values = {"reason": reason, "detail": report.detail[:2000], "source": report.source[:16], "created_at": now}
    existing = connection.execute(select(suppressions.c.lifted_at).where(suppressions.c.member_id == member_id)).first()
    if existing is None:
        result = connection.execute(
            dialect_insert(connection, suppressions)
            .values(member_id=member_id, lifted_at=None, **values)
            .on_conflict_do_nothing()
            .returning(suppressions.c.member_id)
        )
        # rowcount of INSERT ... ON CONFLICT is not reliable across drivers; RETURNING says if a row went in.
        return result.first() is not None
    if existing.lifted_at is None:
        return False
    connection.execute(
        update(suppressions).where(suppressions.c.member_id == member_id).values(lifted_at=None, **values)
    )
    return True


def lift_in(connection: Connection, member_id: int) -> bool:
    """Lift the member's suppression inside a caller's transaction; False when there was none to lift."""
    result = connection.execute(
        update(suppressions)
        .where(suppressions.c.member_id == member_id, suppressions.c.lifted_at.is_(None))
        .values(lifted_at=utcnow())
    )
    return result.rowcount == 1


def lift_suppression(engine: Engine, member_id: int) -> bool:
    with engine.begin() as connection:
        return lift_in(connection, member_id)


def is_suppressed(engine: Engine, member_id: int) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                select(func.count())
                .select_from(suppressions)
                .where(suppressions.c.member_id == member_id, suppressions.c.lifted_at.is_(None))
            )
        )


def list_suppressions(engine: Engine) -> list[Suppression]:
    """Every suppression in force, newest first, with who it is."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(suppressions, members.c.email, members.c.name)
            .join(members, members.c.id == suppressions.c.member_id)
            .where(suppressions.c.lifted_at.is_(None))
            .order_by(suppressions.c.created_at.desc(), suppressions.c.member_id)
        ).all()
    return [
        Suppression(row.member_id, row.email, row.name, row.reason, row.detail, row.source, row.created_at)
        for row in rows
    ]


def delivery_state(row: dict) -> str:
    """An outbox row's state through to what came back: pending, sending, sent, failed, soft-bounced, bounced
    or complained."""
    return row.get("delivery") or row["state"]
