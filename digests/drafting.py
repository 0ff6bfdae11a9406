"""Drafting a community's digest for a period from the store: candidates in, an idempotent draft out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine

from signpost.config.settings import Settings, load_settings
from signpost.digests.compose import DraftRules, Period, compose_sections
from signpost.store.candidates import decided_scores, draft_candidates, sent_before
from signpost.store.communities import Community
from signpost.store.digests import find_digest, load_items, save_draft, save_section_notes

# Decisions of each kind needed before the floor is learnt from them.
MIN_DECISIONS_FOR_FLOOR = 8
# A learnt floor never goes above this: a section that takes nothing teaches nothing.
MAX_LEARNT_FLOOR = 0.95


def draft_rules(community: Community, settings: Settings | None = None) -> DraftRules:
    """The settings' draft rules with the community's overrides (its file or its admin page) on top."""
    settings = settings or load_settings()
    rules = DraftRules(
        per_source_section=settings.draft_per_source_section,
        per_source_digest=settings.draft_per_source_digest,
        relevance_floor=settings.draft_relevance_floor,
        freshness=settings.draft_freshness,
        rare_source_boost=settings.draft_rare_source_boost,
        rare_source_posts=settings.draft_rare_source_posts,
    )
    known = {key: value for key, value in community.draft_rules.items() if hasattr(rules, key) and value is not None}
    return replace(rules, **known)


def learnt_floor(decisions: Sequence[tuple[bool, float]], floor: float) -> float:
    """The floor, raised to where curators' rejections say it belongs once there are enough of both decisions.

    The threshold that sorts the decided items best (approved at or above, rejected below) is taken when it
    is above the configured floor: learning only ever makes a section stricter, never lets in what is off topic.
    """
    approved = sorted(score for ok, score in decisions if ok)
    rejected = sorted(score for ok, score in decisions if not ok)
    if len(approved) < MIN_DECISIONS_FOR_FLOOR or len(rejected) < MIN_DECISIONS_FOR_FLOOR:
        return floor
    best, best_right = floor, -1.0
    for threshold in sorted({floor, *approved, *rejected}):
        if threshold < floor or threshold > MAX_LEARNT_FLOOR:
            continue
        # Balanced: as many rejections as approvals would otherwise make the floor follow whichever is commoner.
        right = sum(score >= threshold for score in approved) / len(approved) + sum(
            score < threshold for score in rejected
        ) / len(rejected)
        if right > best_right + 1e-12:
            best, best_right = threshold, right
    return best


def draft_digest(
    engine: Engine,
    community: Community,
    period_start: datetime,
    period_end: datetime,
    *,
    actor: str | None = None,
    pool_per_topic: int = 30,
    settings: Settings | None = None,
) -> int:
    """Draft (or redraft) the digest of ``community`` for [period_start, period_end); returns its id.

    What curators decided stays: approved items keep their place and count towards their section's size and
    its caps, and rejected articles are not proposed again; nor is anything an earlier digest sent.
    """
    rules = draft_rules(community, settings)
    rules = replace(rules, relevance_floor=learnt_floor(decided_scores(engine, community.id), rules.relevance_floor))
    candidates = draft_candidates(engine, community.id, period_start, period_end, pool_per_topic)
    existing = find_digest(engine, community.id, period_start)
    decided = [] if existing is None else [item for item in load_items(engine, existing.id) if item.state != "proposed"]
    approved = [item for item in decided if item.state == "approved"]
    sent_articles, sent_stories = sent_before(engine, community.id, period_start)
    composed = compose_sections(
        community.topics,
        candidates,
        per_topic=community.items_per_topic,
        exclude_articles={item.article_id for item in decided} | sent_articles,
        exclude_stories={item.story_id for item in approved if item.story_id is not None},
        reserved=Counter(item.topic_id for item in approved),
        taken_sources=[(item.topic_id, item.source_name) for item in approved],
        sent=sent_stories,
        period=Period(period_start, period_end),
        rules=rules,
    )
    digest_id = save_draft(engine, community.id, period_start, period_end, composed.items, actor=actor)
    save_section_notes(engine, digest_id, {topic_id: note.as_json() for topic_id, note in composed.notes.items()})
    return digest_id
