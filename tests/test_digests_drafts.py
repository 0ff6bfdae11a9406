"""Drafting on both databases: sections from scored candidates, redrafts in place, curators' decisions kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from builders import store_articles
from signpost.digests.compose import compose_draft
from signpost.digests.drafting import draft_digest
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import Topic, get_community, save_community
from signpost.store.digests import (
    DigestLockedError,
    approve_digest,
    decide_item,
    edit_item,
    list_events,
    load_items,
    move_item,
)
from signpost.store.records import ExtractedArticle
from signpost.store.schema import article_groups, digests, stories, topic_scores

WEEK = datetime(2026, 3, 2, tzinfo=UTC)
BODY = (
    "Accept all cookies. Charities across the region reported new ways of working with {what}. "
    "The change came after a year of trials with {what} in small and large organisations alike. "
    "Share this article. Managers said the approach made {what} easier to plan and to explain to trustees."
)


def article(site: str, slug: str, what: str) -> ExtractedArticle:
    return ExtractedArticle(
        canonical_url=f"https://{site}/{slug}",
        title=f"New thinking on {what}",
        text=BODY.format(what=what),
        published_at=WEEK + timedelta(days=1),
    )


def build(engine):
    save_community(
        engine,
        slug="vol",
        name="Volunteering",
        items_per_topic=2,
        topic_list=[{"slug": "recruitment", "name": "Recruitment"}, {"slug": "wellbeing", "name": "Wellbeing"}],
        # Beta Blog posts rarely beside Alpha News: without this override its copy of the story would win.
        draft_rules={"rare_source_boost": 0.0},
    )
    community = get_community(engine, "vol")
    recruitment, wellbeing = (topic.id for topic in community.topics)
    a = store_articles(
        engine,
        "Alpha News",
        "https://alpha.example",
        [article("alpha.example", f"a{n}", what) for n, what in enumerate(["buddies", "rotas", "rest", "taster days"])],
    )
    b = store_articles(engine, "Beta Blog", "https://beta.example", [article("beta.example", "b0", "buddy schemes")])
    with engine.begin() as connection:
        # a[0] and b[0] are one story: only the better one is an item, the other is "also covered by".
        story = connection.execute(
            stories.insert().values(representative_id=a[0], first_published_at=WEEK, updated_at=WEEK)
        ).inserted_primary_key[0]
        connection.execute(
            article_groups.insert(),
            [
                {"article_id": a[0], "story_id": story, "grouped_at": WEEK},
                {"article_id": b[0], "story_id": story, "grouped_at": WEEK},
            ],
        )
        scores = [
            (a[0], recruitment, 0.9),
            (b[0], recruitment, 0.85),
            (a[1], recruitment, 0.7),
            (a[3], recruitment, 0.6),
            (a[2], wellbeing, 0.8),
            (a[1], wellbeing, 0.3),
        ]
        connection.execute(
            topic_scores.insert(),
            [
                {
                    "article_id": i,
                    "topic_id": t,
                    "score": s,
                    "similarity": s,
                    "reasons": [f"score {s}"],
                    "scored_at": WEEK,
                }
                for i, t, s in scores
            ],
        )
    return community, a, b, recruitment, wellbeing


def test_drafting_twice_updates_in_place_and_keeps_curator_decisions(engine):
    community, a, b, recruitment, wellbeing = build(engine)
    digest_id = draft_digest(engine, community, WEEK, WEEK + timedelta(days=7), actor="system")
    items = load_items(engine, digest_id)
    sections = {(item.topic_id, item.article_id) for item in items}
    assert sections == {(recruitment, a[0]), (recruitment, a[1]), (wellbeing, a[2])}
    first = next(item for item in items if item.article_id == a[0])
    assert [entry.source for entry in first.also_covered_by] == ["Beta Blog"]
    assert first.source_name == "Alpha News" and first.reasons[0] == "score 0.9"
    assert "cookies" not in first.blurb.lower() and "share this" not in first.blurb.lower() and first.blurb

    by_article = {item.article_id: item for item in items}
    decide_item(engine, by_article[a[1]].id, "rejected", actor="sam@example.org")
    decide_item(engine, by_article[a[2]].id, "approved", actor="sam@example.org")
    edit_item(engine, by_article[a[0]].id, "sam@example.org", blurb="Buddy schemes, in our words.")

    redrafted = draft_digest(engine, community, WEEK, WEEK + timedelta(days=7), actor="system")
    assert redrafted == digest_id
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(digests)) == 1
    after = {item.article_id: item for item in load_items(engine, digest_id)}
    assert after[a[1]].state == "rejected"  # kept, and not proposed again
    assert after[a[2]].state == "approved" and after[a[2]].id == by_article[a[2]].id
    assert after[a[0]].blurb == "Buddy schemes, in our words." and after[a[0]].edited
    # The rejected item's place goes to the next candidate, never to another article of a used story.
    assert after[a[3]].state == "proposed" and after[a[3]].topic_id == recruitment
    assert b[0] not in after
    actions = [event["action"] for event in list_events(engine, digest_id)]
    assert actions == ["drafted", "item_rejected", "item_approved", "item_edited", "drafted"]
    assert list_events(engine, digest_id)[1]["actor"] == "sam@example.org"


def test_an_approved_digest_is_locked(engine):
    community, *_ = build(engine)
    digest_id = draft_digest(engine, community, WEEK, WEEK + timedelta(days=7))
    item_id = load_items(engine, digest_id)[0].id
    move_item(engine, item_id, 5, actor="sam@example.org")
    approve_digest(engine, digest_id, "sam@example.org")
    assert {item.state for item in load_items(engine, digest_id)} == {"approved"}
    with pytest.raises(DigestLockedError):
        draft_digest(engine, community, WEEK, WEEK + timedelta(days=7))
    with pytest.raises(DigestLockedError):
        decide_item(engine, item_id, "rejected", actor="sam@example.org")


def candidate(article_id: int, score: float, story: int | None, source: str = "S") -> DraftCandidate:
    return DraftCandidate(
        article_id, f"Title {article_id}", "Text.", f"https://x.example/{article_id}", source, None, story, score
    )


def test_compose_picks_each_story_once_where_it_scores_best():
    topics = [Topic(1, "one", "One", ""), Topic(2, "two", "Two", "")]
    candidates = {
        1: [candidate(10, 0.9, 100), candidate(11, 0.8, 101), candidate(12, 0.7, None), candidate(13, 0.6, None)],
        2: [candidate(11, 0.95, 101), candidate(14, 0.85, 100), candidate(15, 0.5, None)],
    }
    items = compose_draft(topics, candidates, per_topic=2)
    assert [(item.topic_id, item.article_id, item.position) for item in items] == [
        (1, 10, 0),
        (1, 12, 1),
        (2, 11, 0),
        (2, 15, 1),
    ]
    reserved = compose_draft(
        topics, candidates, per_topic=2, reserved={1: 1}, exclude_articles={10}, exclude_stories={100}
    )
    assert [(item.topic_id, item.article_id, item.position) for item in reserved] == [
        (1, 12, 1),
        (2, 11, 0),
        (2, 15, 1),
    ]
