"""Drafting a community's digest for a period from the store: candidates in, an idempotent draft out."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import Engine

from signpost.digests.compose import compose_draft
from signpost.store.candidates import draft_candidates
from signpost.store.communities import Community
from signpost.store.digests import find_digest, load_items, save_draft


def draft_digest(
    engine: Engine,
    community: Community,
    period_start: datetime,
    period_end: datetime,
    *,
    actor: str | None = None,
    pool_per_topic: int = 30,
) -> int:
    """Draft (or redraft) the digest of ``community`` for [period_start, period_end); returns its id.

    What curators decided stays: approved items keep their place and count towards their section's size, and
    rejected articles are not proposed again.
    """
    candidates = draft_candidates(engine, community.id, period_start, period_end, pool_per_topic)
    existing = find_digest(engine, community.id, period_start)
    decided = [] if existing is None else [item for item in load_items(engine, existing.id) if item.state != "proposed"]
    approved = [item for item in decided if item.state == "approved"]
    items = compose_draft(
        community.topics,
        candidates,
        per_topic=community.items_per_topic,
        exclude_articles={item.article_id for item in decided},
        exclude_stories={item.story_id for item in approved if item.story_id is not None},
        reserved=Counter(item.topic_id for item in approved),
    )
    return save_draft(engine, community.id, period_start, period_end, items, actor=actor)
