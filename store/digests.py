"""Digests and their items: drafts saved idempotently, curators' decisions, approval, and the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update

from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import articles, digest_events, digest_items, digests, outbox, webhook_posts, webhooks
from signpost.store.scores import save_decision, withdraw_decision

ITEM_STATES = ("proposed", "approved", "rejected")
# What an item card shows of its article beside the item's own fields.
ARTICLE_FIELDS = (
    articles.c.image_url,
    articles.c.published_at,
    articles.c.first_seen_at,
    articles.c.date_basis,
    articles.c.date_reasons,
)
DATE_BASIS_NAMES = {"feed": "the feed", "sitemap": "the sitemap", "page": "the page"}
LABEL_OF_STATE = {"approved": "approve", "rejected": "reject"}


class DigestLockedError(RuntimeError):
    """The digest is approved or sent: its items can no longer change."""


@dataclass(frozen=True)
class CoveredBy:
    """Another source that carried the same story."""

    source: str
    url: str


@dataclass(frozen=True)
class DraftItem:
    """One proposed item of a draft, as composing produces it."""

    topic_id: int
    article_id: int
    story_id: int | None
    position: int
    title: str
    blurb: str
    url: str
    source_name: str
    score: float
    reasons: list = field(default_factory=list)
    also_covered_by: tuple[CoveredBy, ...] = ()


@dataclass(frozen=True)
class DigestItem(DraftItem):
    """An item as stored, with the curator's decision."""

    id: int = 0
    state: str = "proposed"
    edited: bool = False
    # from the article: its lead image, and how sure its date is ("first seen" when no date could be trusted)
    image_url: str | None = None
    published_at: datetime | None = None
    first_seen_at: datetime | None = None
    date_basis: str | None = None
    date_reasons: tuple[str, ...] = ()

    @property
    def date_unknown(self) -> bool:
        """No date could be trusted: the article is filed under the week it was first seen."""
        return self.date_basis == "first seen" or (self.published_at is None and self.first_seen_at is not None)

    @property
    def date_explained(self) -> str:
        """Where the item's date came from and why, in a line for the curator ("" for an article dated before
        extraction kept its reasons): a wrong date files an article under the wrong week."""
        if not self.date_reasons:
            return ""
        named = DATE_BASIS_NAMES.get(self.date_basis or "")
        opening = f"Dated by {named}" if named and not self.date_unknown else "No date trusted"
        return f"{opening}: {'; '.join(self.date_reasons)}."


@dataclass(frozen=True)
class Digest:
    id: int
    community_id: int
    period_start: datetime
    period_end: datetime
    status: str
    approved_by: str | None
    approved_at: datetime | None
    scheduled_for: datetime | None
    created_at: datetime
    updated_at: datetime


def _digest(row) -> Digest:
    return Digest(
        row.id,
        row.community_id,
        row.period_start,
        row.period_end,
        row.status,
        row.approved_by,
        row.approved_at,
        row.scheduled_for,
        row.created_at,
        row.updated_at,
    )


def _item(row) -> DigestItem:
    article = row._mapping
    return DigestItem(
        topic_id=row.topic_id,
        article_id=row.article_id,
        story_id=row.story_id,
        position=row.position,
        title=row.title,
        blurb=row.blurb,
        url=row.url,
        source_name=row.source_name,
        score=row.score,
        reasons=list(row.reasons or []),
        also_covered_by=tuple(CoveredBy(entry["source"], entry["url"]) for entry in row.also_covered_by or []),
        id=row.id,
        state=row.state,
        edited=row.edited,
        image_url=article.get("image_url"),
        published_at=article.get("published_at"),
        first_seen_at=article.get("first_seen_at"),
        date_basis=article.get("date_basis"),
        date_reasons=tuple(article.get("date_reasons") or ()),
    )


def _covered_json(item: DraftItem) -> list[dict]:
    return [{"source": entry.source, "url": entry.url} for entry in item.also_covered_by]


def record_event(connection: Connection, digest_id: int, action: str, actor: str | None, **detail: object) -> None:
    connection.execute(
        digest_events.insert().values(
            digest_id=digest_id, actor=actor, action=action, detail=detail, created_at=utcnow()
        )
    )


def find_digest(engine: Engine, community_id: int, period_start: datetime) -> Digest | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(digests).where(digests.c.community_id == community_id, digests.c.period_start == period_start)
        ).first()
    return _digest(row) if row else None


def get_digest(engine: Engine, digest_id: int) -> Digest:
    with engine.connect() as connection:
        row = connection.execute(select(digests).where(digests.c.id == digest_id)).first()
    if row is None:
        raise LookupError(f"no digest {digest_id}")
    return _digest(row)


def list_digests(engine: Engine, community_id: int) -> list[Digest]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(digests).where(digests.c.community_id == community_id).order_by(digests.c.period_start.desc())
        ).all()
    return [_digest(row) for row in rows]


def load_items(engine: Engine, digest_id: int, states: tuple[str, ...] = ITEM_STATES) -> list[DigestItem]:
    """A digest's items in section order: by topic, then position."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(digest_items, *ARTICLE_FIELDS)
            .outerjoin(articles, articles.c.id == digest_items.c.article_id)
            .where(digest_items.c.digest_id == digest_id, digest_items.c.state.in_(states))
            .order_by(digest_items.c.topic_id, digest_items.c.position, digest_items.c.id)
        ).all()
    return [_item(row) for row in rows]


def save_draft(
    engine: Engine,
    community_id: int,
    period_start: datetime,
    period_end: datetime,
    items: list[DraftItem],
    actor: str | None = None,
) -> int:
    """Save the draft of (community, period) and return its id; drafting again updates that same draft.

    Items a curator approved or rejected keep their decision and position; edited titles and blurbs stay.
    Proposed items that the new draft no longer proposes are removed.
    """
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(
            dialect_insert(connection, digests)
            .values(
                community_id=community_id,
                period_start=period_start,
                period_end=period_end,
                status="draft",
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[digests.c.community_id, digests.c.period_start])
        )
        digest = connection.execute(
            select(digests)
            .where(digests.c.community_id == community_id, digests.c.period_start == period_start)
            .with_for_update()
        ).one()
        if digest.status != "draft":
            raise DigestLockedError(f"digest {digest.id} is {digest.status}; it can no longer be redrafted")
        existing = {
            (row.topic_id, row.article_id): row
            for row in connection.execute(select(digest_items).where(digest_items.c.digest_id == digest.id))
        }
        added = updated = 0
        for item in items:
            row = existing.get((item.topic_id, item.article_id))
            values = dict(
                story_id=item.story_id,
                url=item.url,
                source_name=item.source_name,
                score=item.score,
                reasons=list(item.reasons),
                also_covered_by=_covered_json(item),
            )
            if row is None:
                connection.execute(
                    digest_items.insert().values(
                        digest_id=digest.id,
                        topic_id=item.topic_id,
                        article_id=item.article_id,
                        position=item.position,
                        title=item.title,
                        blurb=item.blurb,
                        state="proposed",
                        edited=False,
                        **values,
                    )
                )
                added += 1
                continue
            if row.state == "proposed":
                values["position"] = item.position
            if not row.edited:
                values.update(title=item.title, blurb=item.blurb)
            connection.execute(update(digest_items).where(digest_items.c.id == row.id).values(**values))
            updated += 1
        proposed_now = {(item.topic_id, item.article_id) for item in items}
        dropped = [row.id for key, row in existing.items() if row.state == "proposed" and key not in proposed_now]
        if dropped:
            connection.execute(delete(digest_items).where(digest_items.c.id.in_(dropped)))
        connection.execute(
            update(digests).where(digests.c.id == digest.id).values(period_end=period_end, updated_at=now)
        )
        record_event(connection, digest.id, "drafted", actor, added=added, updated=updated, removed=len(dropped))
        return digest.id


def _editable_item(connection: Connection, item_id: int):
    row = connection.execute(
        select(digest_items, digests.c.status)
        .join(digests, digests.c.id == digest_items.c.digest_id)
        .where(digest_items.c.id == item_id)
    ).first()
    if row is None:
        raise LookupError(f"no digest item {item_id}")
    if row.status != "draft":
        raise DigestLockedError(f"digest {row.digest_id} is {row.status}; its items can no longer change")
    return row


def decide_item(engine: Engine, item_id: int, state: str, actor: str) -> None:
    """A curator approves or rejects an item, or undecides it (puts it back to proposed).

    The decision is also the label the next ranking of the item's topic learns from: approving or rejecting
    replaces any earlier label of the article for that topic, undeciding a decided item withdraws it. The item,
    its label and the audit event (which keeps what the item was before) change in one transaction.
    """
    if state not in ITEM_STATES:
        raise ValueError(f"unknown item state {state!r}")
    with engine.begin() as connection:
        row = _editable_item(connection, item_id)
        # Locked, so two curators deciding at once end with the item's state and its label from the same one.
        was = connection.scalar(select(digest_items.c.state).where(digest_items.c.id == item_id).with_for_update())
        connection.execute(update(digest_items).where(digest_items.c.id == item_id).values(state=state))
        if state in LABEL_OF_STATE:
            save_decision(connection, row.topic_id, row.article_id, LABEL_OF_STATE[state], actor=actor)
            action = f"item_{state}"
        else:
            if was != "proposed":
                withdraw_decision(connection, row.topic_id, row.article_id)
            action = "item_undecided"
        record_event(connection, row.digest_id, action, actor, item_id=item_id, article_id=row.article_id, was=was)


def edit_item(engine: Engine, item_id: int, actor: str, *, title: str | None = None, blurb: str | None = None) -> None:
    """A curator rewrites an item's title or blurb; redrafting will not overwrite them."""
    values = {key: value for key, value in (("title", title), ("blurb", blurb)) if value is not None}
    if not values:
        return
    with engine.begin() as connection:
        row = _editable_item(connection, item_id)
        connection.execute(update(digest_items).where(digest_items.c.id == item_id).values(edited=True, **values))
        record_event(connection, row.digest_id, "item_edited", actor, item_id=item_id, fields=sorted(values))


def move_item(engine: Engine, item_id: int, position: int, actor: str) -> None:
    """Put an item at ``position`` in its section, shifting the others; the curator's order sticks."""
    with engine.begin() as connection:
        row = _editable_item(connection, item_id)
        section = [
            item_row.id
            for item_row in connection.execute(
                select(digest_items.c.id)
                .where(digest_items.c.digest_id == row.digest_id, digest_items.c.topic_id == row.topic_id)
                .order_by(digest_items.c.position, digest_items.c.id)
            )
        ]
        section.remove(item_id)
        section.insert(max(0, min(position, len(section))), item_id)
        for index, section_item in enumerate(section):
            connection.execute(update(digest_items).where(digest_items.c.id == section_item).values(position=index))
        # Reordering is a decision too: a moved proposed item counts as approved, so a redraft keeps it.
        connection.execute(
            update(digest_items)
            .where(digest_items.c.id == item_id, digest_items.c.state == "proposed")
            .values(state="approved")
        )
        record_event(connection, row.digest_id, "item_moved", actor, item_id=item_id, position=position)


def approve_digest(
    engine: Engine, digest_id: int, actor: str, scheduled_for: datetime | None = None, *, drop_undecided: bool = False
) -> None:
    """Approve the draft as it stands: items still proposed are approved with it (or, with ``drop_undecided``,
    left out without teaching the ranking anything), rejected ones stay out."""
    now = utcnow()
    with engine.begin() as connection:
        status = connection.scalar(select(digests.c.status).where(digests.c.id == digest_id).with_for_update())
        if status is None:
            raise LookupError(f"no digest {digest_id}")
        if status != "draft":
            raise DigestLockedError(f"digest {digest_id} is already {status}")
        dropped = connection.execute(
            update(digest_items)
            .where(digest_items.c.digest_id == digest_id, digest_items.c.state == "proposed")
            .values(state="rejected" if drop_undecided else "approved")
        ).rowcount
        if drop_undecided and dropped:
            record_event(connection, digest_id, "undecided_dropped", actor, items=dropped)
        connection.execute(
            update(digests)
            .where(digests.c.id == digest_id)
            .values(status="approved", approved_by=actor, approved_at=now, scheduled_for=scheduled_for, updated_at=now)
        )
        items = connection.scalar(
            select(func.count())
            .select_from(digest_items)
            .where(digest_items.c.digest_id == digest_id, digest_items.c.state == "approved")
        )
        record_event(connection, digest_id, "approved", actor, items=items, scheduled_for=str(scheduled_for or ""))


def mark_digest_sent(engine: Engine, digest_id: int, **detail: object) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(digests)
            .where(digests.c.id == digest_id, digests.c.status == "approved")
            .values(status="sent", updated_at=utcnow())
        )
        record_event(connection, digest_id, "sent", None, **detail)


def list_events(engine: Engine, digest_id: int) -> list[dict]:
    """The audit log of a digest, oldest first: who did what, when."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(digest_events).where(digest_events.c.digest_id == digest_id).order_by(digest_events.c.id)
        ).mappings()
        return [dict(row) for row in rows]


def digests_to_publish(engine: Engine, now: datetime, webhook_grace: timedelta = timedelta(days=2)) -> list[int]:
    """Approved digests whose time has come, and recently sent ones that some webhook has not had yet."""
    unposted = (
        select(webhooks.c.id)
        .where(
            webhooks.c.community_id == digests.c.community_id,
            webhooks.c.enabled.is_(True),
            ~select(webhook_posts.c.id)
            .where(
                webhook_posts.c.webhook_id == webhooks.c.id,
                webhook_posts.c.digest_id == digests.c.id,
                webhook_posts.c.state == "sent",
            )
            .exists(),
        )
        .exists()
    )
    due = and_(digests.c.status == "approved", func.coalesce(digests.c.scheduled_for, digests.c.approved_at) <= now)
    sent_recently = and_(digests.c.status == "sent", digests.c.updated_at >= now - webhook_grace, unposted)
    with engine.connect() as connection:
        return list(connection.scalars(select(digests.c.id).where(or_(due, sent_recently)).order_by(digests.c.id)))


def cancel_approval(engine: Engine, digest_id: int, actor: str) -> None:
    """Back to a draft an approved digest none of whose emails has been tried yet, and empty its outbox.

    The digest row is written first, which locks it (a row lock on PostgreSQL, the write lock on SQLite), so a
    sender claiming rows (which holds a shared lock on it, or checks it in its claiming statement) either went
    before, and its rows are seen here, or comes after, and finds a draft.
    """
    with engine.begin() as connection:
        locked = connection.execute(update(digests).where(digests.c.id == digest_id).values(updated_at=utcnow()))
        if not locked.rowcount:
            raise LookupError(f"no digest {digest_id}")
        status = connection.scalar(select(digests.c.status).where(digests.c.id == digest_id))
        if status != "approved":
            raise DigestLockedError(f"digest {digest_id} is {status}; only an approved digest can be cancelled")
        tried = connection.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.digest_id == digest_id, or_(outbox.c.state != "pending", outbox.c.attempts > 0))
        )
        if tried:
            raise DigestLockedError(f"digest {digest_id} has started going out ({tried} emails tried); too late")
        connection.execute(delete(outbox).where(outbox.c.digest_id == digest_id))
        connection.execute(
            update(digests)
            .where(digests.c.id == digest_id)
            .values(status="draft", approved_by=None, approved_at=None, scheduled_for=None)
        )
        record_event(connection, digest_id, "approval_cancelled", actor)


def save_section_notes(engine: Engine, digest_id: int, notes: dict[int, dict]) -> None:
    """What the draft found per section (items, borderline candidates, what caps held back), keyed by topic id."""
    with engine.begin() as connection:
        connection.execute(
            update(digests)
            .where(digests.c.id == digest_id)
            .values(section_notes={str(topic_id): note for topic_id, note in notes.items()})
        )


def section_notes(engine: Engine, digest_id: int) -> dict[int, dict]:
    """The draft's notes per topic id; empty for a digest drafted before notes were kept."""
    with engine.connect() as connection:
        stored = connection.scalar(select(digests.c.section_notes).where(digests.c.id == digest_id))
    return {int(topic_id): note for topic_id, note in (stored or {}).items()}
