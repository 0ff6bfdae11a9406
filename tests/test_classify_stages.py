"""Embed, group and score a crawled fixture web in the store, on both databases, with the real model."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import yaml
from sqlalchemy import select

from conftest import shared_data
from signpost.classify.embed_stage import embed_pending
from signpost.classify.embedding import Embedder
from signpost.classify.group_stage import group_pending
from signpost.classify.score_stage import score_community
from signpost.fixtureweb import FixtureServer, build_fixture_web
from signpost.spiders.crawl import crawl_sources
from signpost.spiders.extraction_stage import extract_pending
from signpost.spiders.registry import add_source_from_url
from signpost.spiders.urls import canonicalize_url
from signpost.store.communities import get_community, save_community
from signpost.store.schema import article_groups, pages, topic_scores
from signpost.store.scores import record_decision
from signpost.store.sources import list_sources

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def bbc_web():
    # Only BBC bodies, so every article has one of the five topic labels.
    web = build_fixture_web([shared_data("bbc")], sites=6, articles_per_site=14, faults=False)
    with FixtureServer(web, port=0):
        yield web


@pytest.fixture
def classified(bbc_web, engine, settings, embedder):
    """The fixture web crawled, extracted, embedded and grouped; a community with the BBC topics."""
    web = bbc_web
    for site in web.sites:
        add_source_from_url(engine, settings, site.base_url, name=site.name)
    crawl_sources(engine, settings, list_sources(engine))
    extract_pending(engine, settings)
    spec = yaml.safe_load((shared_data("bbc") / "topics.yaml").read_text())
    save_community(
        engine,
        slug="desk",
        name=spec["name"],
        topic_list=[{"slug": t["id"], "name": t["name"], "description": t["description"]} for t in spec["topics"]],
    )
    embedded = embed_pending(engine, settings, embedder)
    grouped = group_pending(engine, embedder.name)
    with engine.connect() as connection:
        article_of = {url: article for url, article in connection.execute(select(pages.c.url, pages.c.article_id))}
    truth_ids = {url: article_of[canonicalize_url(url)] for url in web.truth}
    return web, embedded, grouped, truth_ids


def scores_by_topic(engine) -> dict[int, dict[int, float]]:
    found: dict[int, dict[int, float]] = defaultdict(dict)
    with engine.connect() as connection:
        for row in connection.execute(select(topic_scores.c.topic_id, topic_scores.c.article_id, topic_scores.c.score)):
            found[row.topic_id][row.article_id] = row.score
    return found


def average_precision(ranked: list[int], relevant: set[int]) -> float:
    hits, total = 0, 0.0
    for rank, article_id in enumerate(ranked, start=1):
        if article_id in relevant:
            hits += 1
            total += hits / rank
    return total / max(len(relevant), 1)


def test_stages_group_copies_rank_topics_explain_and_run_once(classified, engine, settings, embedder):
    web, embedded, grouped, truth_ids = classified
    originals = {truth_ids[url] for url, truth in web.truth.items() if not truth.duplicate_of}
    assert embedded.articles == len(set(truth_ids.values()))

    # Every syndicated copy points at its original and shares its story.
    with engine.connect() as connection:
        groups = {row.article_id: row for row in connection.execute(select(article_groups))}
    # An exact copy was already stored once at extraction; edited copies are separate articles to group.
    copies = [
        (url, truth)
        for url, truth in web.truth.items()
        if truth.duplicate_of and truth_ids[url] != truth_ids[truth.duplicate_of]
    ]
    assert copies, "the fixture web should syndicate some stories"
    assert grouped.duplicates == len(copies)
    for url, truth in copies:
        copy, original = groups[truth_ids[url]], groups[truth_ids[truth.duplicate_of]]
        assert copy.duplicate_of == original.article_id, (url, truth.duplicate_of)
        assert copy.story_id == original.story_id

    # Each topic's own articles are ranked above the others.
    community = get_community(engine, "desk")
    report = score_community(engine, community, embedder)
    assert report.articles == len(originals) and report.topics == 5
    scores = scores_by_topic(engine)
    label_of = {truth_ids[url]: truth.label for url, truth in web.truth.items()}
    precisions = []
    for topic in community.topics:
        ranked = sorted(scores[topic.id], key=lambda article_id: -scores[topic.id][article_id])
        relevant = {article_id for article_id in ranked if label_of[article_id] == topic.slug}
        precisions.append(average_precision(ranked, relevant))
    assert np.mean(precisions) >= 0.9, precisions

    # Reasons name the topic and say how many sources carried a syndicated story.
    with engine.connect() as connection:
        reasons = {
            (row.article_id, row.topic_id): row.reasons
            for row in connection.execute(
                select(topic_scores.c.article_id, topic_scores.c.topic_id, topic_scores.c.reasons)
            )
        }
    first_topic = community.topics[0]
    best = max(scores[first_topic.id], key=scores[first_topic.id].get)
    assert first_topic.name in reasons[(best, first_topic.id)][0]
    syndicated = truth_ids[copies[0][1].duplicate_of]
    assert any("sources" in reason for reason in reasons[(syndicated, first_topic.id)])

    # Nothing new: a second run embeds and groups nothing.
    assert embed_pending(engine, settings, embedder).articles == 0
    assert group_pending(engine, embedder.name).articles == 0


def test_curator_decisions_change_the_ranking_only_where_held_out_decisions_agree(classified, engine, embedder):
    web, _, _, truth_ids = classified
    community = get_community(engine, "desk")
    score_community(engine, community, embedder)
    before = scores_by_topic(engine)
    topic = community.topics[0]
    ranked = sorted(before[topic.id], key=lambda article_id: -before[topic.id][article_id])
    rejected, approved = ranked[0], ranked[len(ranked) // 2]
    record_decision(engine, topic.id, rejected, "reject", actor="curator@example.org")
    record_decision(engine, topic.id, approved, "approve", actor="curator@example.org")

    # Two decisions are no evidence that learning helps: the order stays the prior's, and no reason claims it.
    report = score_community(engine, community, embedder)
    after = scores_by_topic(engine)
    assert report.decisions == 2
    assert after[topic.id] == pytest.approx(before[topic.id], abs=1e-12)
    with engine.connect() as connection:
        reasons = connection.scalar(
            select(topic_scores.c.reasons).where(
                topic_scores.c.article_id == approved, topic_scores.c.topic_id == topic.id
            )
        )
    assert not any("decisions" in reason for reason in reasons)

    # Eight approvals and eight rejections a topic, from the truth: the top ten of every topic is no worse.
    label_of = {truth_ids[url]: truth.label for url, truth in web.truth.items()}
    slug_of = {t.id: t.slug for t in community.topics}
    taught: set[int] = set()
    for t in community.topics:
        inside = [a for a in ranked if label_of.get(a) == t.slug][-8:]
        outside = [a for a in ranked if label_of.get(a) not in (t.slug, None)][:8]
        for article_id in inside:
            record_decision(engine, t.id, article_id, "approve", actor="curator@example.org")
        for article_id in outside:
            record_decision(engine, t.id, article_id, "reject", actor="curator@example.org")
        taught |= set(inside) | set(outside)
    score_community(engine, community, embedder)
    learnt = scores_by_topic(engine)
    for topic_id, scores in learnt.items():
        rest = [a for a in scores if a not in taught]
        hits = {
            name: sum(label_of.get(a) == slug_of[topic_id] for a in sorted(rest, key=lambda a: -s[topic_id][a])[:10])
            for name, s in (("before", before), ("after", learnt))
        }
        assert hits["after"] >= hits["before"], (slug_of[topic_id], hits)
