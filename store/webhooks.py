"""Webhooks of a community and the record of each digest posted to each of them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update

from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import webhook_posts, webhooks

FORMATS = ("slack", "teams", "mattermost", "json")


@dataclass(frozen=True)
class Webhook:
    id: int
    community_id: int
    url: str
    format: str


def save_webhooks(engine: Engine, community_id: int, endpoints: list[tuple[str, str]]) -> None:
    """Make the community's webhooks exactly these (url, format) pairs; posts already made are kept."""
    for _, format_name in endpoints:
        if format_name not in FORMATS:
            raise ValueError(f"webhook format {format_name!r} is not one of {', '.join(FORMATS)}")
    with engine.begin() as connection:
        existing = dict(
            connection.execute(
                select(webhooks.c.url, webhooks.c.id).where(webhooks.c.community_id == community_id)
            ).all()
        )
        wanted = dict(endpoints)
        gone = [existing[url] for url in existing if url not in wanted]
        if gone:
            connection.execute(delete(webhooks).where(webhooks.c.id.in_(gone)))
        for url, format_name in wanted.items():
            if url in existing:
                connection.execute(
                    update(webhooks).where(webhooks.c.id == existing[url]).values(format=format_name, enabled=True)
                )
            else:
                connection.execute(
                    webhooks.insert().values(
                        community_id=community_id, url=url, format=format_name, enabled=True, created_at=utcnow()
                    )
                )


def community_webhooks(engine: Engine, community_id: int) -> list[Webhook]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(webhooks)
            .where(webhooks.c.community_id == community_id, webhooks.c.enabled.is_(True))
            .order_by(webhooks.c.id)
        )
        return [Webhook(row.id, row.community_id, row.url, row.format) for row in rows]


def pending_posts(engine: Engine, digest_id: int, hooks: list[Webhook]) -> list[Webhook]:
    """The webhooks this digest has not reached yet, failed ones included (a row per pair is made on first sight)."""
    with engine.begin() as connection:
        if hooks:
            connection.execute(
                dialect_insert(connection, webhook_posts).on_conflict_do_nothing(),
                [{"digest_id": digest_id, "webhook_id": hook.id, "state": "pending", "attempts": 0} for hook in hooks],
            )
        posted = set(
            connection.scalars(
                select(webhook_posts.c.webhook_id).where(
                    webhook_posts.c.digest_id == digest_id, webhook_posts.c.state == "sent"
                )
            )
        )
    return [hook for hook in hooks if hook.id not in posted]


def mark_post(engine: Engine, digest_id: int, webhook_id: int, *, sent: bool, attempts: int, error: str | None) -> None:
    """Record the outcome of posting a digest to a webhook: sent, or failed after ``attempts`` tries."""
    with engine.begin() as connection:
        connection.execute(
            update(webhook_posts)
            .where(webhook_posts.c.digest_id == digest_id, webhook_posts.c.webhook_id == webhook_id)
            .values(
                state="sent" if sent else "failed",
                attempts=webhook_posts.c.attempts + attempts,
                last_error=error,
                sent_at=utcnow() if sent else None,
            )
        )


def post_states(engine: Engine, digest_id: int) -> dict[int, dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(webhook_posts).where(webhook_posts.c.digest_id == digest_id)).mappings()
        return {row["webhook_id"]: dict(row) for row in rows}
