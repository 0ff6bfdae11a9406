"""The scoring stage: every recent article of a community against each of its topics, with reasons."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import Engine

from signpost.classify.embedding import Embedder, article_text
from signpost.classify.explain import ApprovedItem, Evidence, explain
from signpost.classify.feedback import CLICK_WEIGHT, Label
from signpost.classify.ranking import TopicSpec, cosine, keyword_mask, topic_vectors
from signpost.classify.relevance import score_relevance
from signpost.store.communities import Community
from signpost.store.groups import story_sizes
from signpost.store.scores import (
    Decision,
    ScoreRow,
    article_ids_by_url,
    article_texts,
    community_article_ids,
    community_decisions,
    save_scores,
)
from signpost.store.vectors import load_vectors


@dataclass
class ScoreReport:
    community: str
    articles: int = 0
    topics: int = 0
    decisions: int = 0
    without_vector: int = 0
    seconds: float = 0.0


def topic_specs(engine: Engine, community: Community) -> list[TopicSpec]:
    """The community's topics as the scorer reads them; example URLs count when their article is stored."""
    example_urls = [url for topic in community.topics for url in topic.examples]
    stored = article_ids_by_url(engine, example_urls)
    texts = article_texts(engine, sorted(set(stored.values())))
    specs = []
    for topic in community.topics:
        examples = tuple(
            article_text(texts[stored[url]]["title"], texts[stored[url]]["text"])
            for url in topic.examples
            if url in stored
        )
        specs.append(
            TopicSpec(
                id=str(topic.id),
                name=topic.name,
                description=topic.description,
                keywords_must=tuple(topic.keywords_must),
                keywords_exclude=tuple(topic.keywords_exclude),
                examples=examples,
            )
        )
    return specs


def score_community(
    engine: Engine, community: Community, embedder: Embedder, since: datetime | None = None
) -> ScoreReport:
    """Score the community's articles dated since ``since`` for each topic, learning from every decision."""
    started = time.monotonic()
    report = ScoreReport(community=community.slug, topics=len(community.topics))
    if not community.topics:
        return report
    candidate_ids = community_article_ids(engine, community.id, since)
    # Labels of archived topics stay in the store for when the topic comes back; the topics in use learn from theirs.
    in_use = {topic.id for topic in community.topics}
    decisions = [decision for decision in community_decisions(engine, community.id) if decision.topic_id in in_use]
    labelled_ids = sorted({decision.article_id for decision in decisions} - set(candidate_ids))
    stored = load_vectors(engine, embedder.name, candidate_ids + labelled_ids)
    scored_ids = [article_id for article_id in candidate_ids if article_id in stored]
    report.without_vector = len(candidate_ids) - len(scored_ids)
    if not scored_ids:
        return report
    # Labelled articles outside the period still teach the model; they are appended after the scored ones.
    row_of = {article_id: row for row, article_id in enumerate(scored_ids + [i for i in labelled_ids if i in stored])}
    vectors = np.vstack([stored[article_id] for article_id in row_of]).astype(np.float32)

    specs = topic_specs(engine, community)
    topic_ids = [spec.id for spec in specs]
    prior = topic_vectors(specs, embedder.embed)
    labels = [
        Label(row_of[d.article_id], str(d.topic_id), d.value, CLICK_WEIGHT if d.kind == "click" else d.weight)
        for d in decisions
        if d.article_id in row_of
    ]
    texts = article_texts(engine, list(row_of))
    every_text = [f"{texts[i]['title'] or ''}\n{texts[i]['text']}" for i in row_of]
    # Semantic and lexical evidence fused, learnt from the decisions only where held-out decisions agree.
    relevance = score_relevance(vectors, every_text, specs, prior, labels)
    scored_vectors = vectors[: len(scored_ids)]
    scores = relevance.scores[: len(scored_ids)]
    similarities = cosine(scored_vectors, prior)
    full_texts = every_text[: len(scored_ids)]
    allowed = keyword_mask(full_texts, specs)
    sizes = story_sizes(engine, sorted({texts[i]["story_id"] for i in scored_ids if texts[i]["story_id"]}))
    approved = _approved_items(decisions, row_of, vectors, texts, engine)
    taught = {topic_id: sum(1 for label in labels if label.topic_id == topic_id) for topic_id in topic_ids}
    names = {spec.id: spec.name for spec in specs}

    rows = []
    for i, article_id in enumerate(scored_ids):
        story = texts[article_id]["story_id"]
        for j, spec in enumerate(specs):
            evidence = Evidence(
                topic=spec,
                topic_names=names,
                scores=scores[i],
                similarity=float(similarities[i, j]),
                text=full_texts[i],
                excluded=not allowed[i, j],
                sources=sizes.get(story, {}).get("sources", 1),
                # Cited only where the decisions reorder the topic (held-out decisions said they help).
                decisions=taught[spec.id] if relevance.learnt[j] else 0,
            )
            rows.append(
                ScoreRow(
                    article_id=article_id,
                    topic_id=int(spec.id),
                    score=float(scores[i, j]) if allowed[i, j] else 0.0,
                    similarity=float(similarities[i, j]),
                    excluded=not allowed[i, j],
                    reasons=explain(evidence, j, approved.get(spec.id, []), scored_vectors[i]),
                )
            )
    save_scores(engine, rows)
    report.articles = len(scored_ids)
    report.decisions = len(labels)
    report.seconds = time.monotonic() - started
    return report


def _approved_items(
    decisions: list[Decision], row_of: dict[int, int], vectors: np.ndarray, texts: dict[int, dict], engine: Engine
) -> dict[str, list[ApprovedItem]]:
    """Per topic, the approved articles with their vectors, for "close to an item you approved"."""
    approved_ids = [d.article_id for d in decisions if d.value > 0 and d.kind == "approve" and d.article_id in row_of]
    titles = {**texts, **article_texts(engine, [i for i in approved_ids if i not in texts])}
    found: dict[str, list[ApprovedItem]] = {}
    for decision in decisions:
        if decision.kind == "approve" and decision.article_id in row_of:
            item = ApprovedItem(titles[decision.article_id]["title"] or "", vectors[row_of[decision.article_id]])
            found.setdefault(str(decision.topic_id), []).append(item)
    return found
