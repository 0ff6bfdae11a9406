"""What a curator weighs on each item of a draft: the article's date, length and image, and where its score ranks
among the topic's candidates of the week."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from signpost.store.digests import Digest, DigestItem
from signpost.store.schema import article_groups, articles, topic_scores

WORDS_PER_MINUTE = 230


@dataclass(frozen=True)
class ItemFacts:
    """The facts shown beside one draft item."""

    published_at: datetime | None
    reading_minutes: int
    image_url: str | None
    sources: int  # distinct sources that carried the story, this item's own included
    rank: int  # 1 for the topic's best-scored candidate of the week
    candidates: int  # the topic's candidates of the week
    ranked: bool  # False for an article added by hand, which no ranking chose
    fit: str  # "clear fit", "likely fit" or "borderline"

    def ranking(self, topic_name: str) -> str:
        """ "1st of 142 candidates for Recruitment", or what it is when no ranking chose it."""
        if not self.ranked:
            return "not ranked: a curator added it"
        plural = "s" if self.candidates != 1 else ""
        return f"{ordinal(self.rank)} of {self.candidates} candidate{plural} for {topic_name}"


def _topic_scores(connection, topic_ids: set[int], since: datetime, until: datetime) -> dict[int, list[float]]:
    """Each topic's candidate scores of the period, ascending: what drafting chose from."""
    when = func.coalesce(articles.c.published_at, articles.c.first_seen_at)
    rows = connection.execute(
        select(topic_scores.c.topic_id, topic_scores.c.score)
        .join(articles, articles.c.id == topic_scores.c.article_id)
        .outerjoin(article_groups, article_groups.c.article_id == articles.c.id)
        .where(
            topic_scores.c.topic_id.in_(topic_ids),
            topic_scores.c.excluded.is_(False),
            article_groups.c.duplicate_of.is_(None),
            when >= since,
            when < until,
        )
    )
    scores: dict[int, list[float]] = {topic_id: [] for topic_id in topic_ids}
    for topic_id, score in rows:
        scores[topic_id].append(score)
    for values in scores.values():
        values.sort()
    return scores


def item_facts(engine: Engine, digest: Digest, items: list[DigestItem]) -> dict[int, ItemFacts]:
    """Facts for each item, by item id; an item whose article is not a scored candidate ranks after the rest."""
    article_ids = {item.article_id for item in items}
    if not article_ids:
        return {}
    with engine.connect() as connection:
        found = {
            row.id: row
            for row in connection.execute(
                select(
                    articles.c.id,
                    articles.c.published_at,
                    articles.c.word_count,
                    articles.c.image_url,
                ).where(articles.c.id.in_(article_ids))
            )
        }
        scores = _topic_scores(connection, {item.topic_id for item in items}, digest.period_start, digest.period_end)
    facts = {}
    for item in items:
        row = found.get(item.article_id)
        pool = scores.get(item.topic_id, [])
        # Ties share the better rank: "2nd" means one candidate scored higher.
        higher = len(pool) - bisect_right(pool, item.score)
        ranked = bisect_left(pool, item.score) < len(pool) and pool[bisect_left(pool, item.score)] == item.score
        sources = {item.source_name, *(other.source for other in item.also_covered_by)}
        words = row.word_count if row is not None else 0
        facts[item.id] = ItemFacts(
            published_at=row.published_at if row is not None else None,
            reading_minutes=reading_minutes(words),
            image_url=row.image_url if row is not None else None,
            sources=len({name for name in sources if name}) or 1,
            rank=higher + 1,
            candidates=max(len(pool), higher + 1),
            ranked=ranked,
            fit=fit_words(item.score),
        )
    return facts


def reading_minutes(words: int) -> int:
    """Minutes to read so many words; 0 when there is no text to read."""
    return max(1, round(words / WORDS_PER_MINUTE)) if words else 0


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 22nd."""
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{({1: 'st', 2: 'nd', 3: 'rd'}).get(number % 10, 'th')}"


def fit_words(score: float) -> str:
    """The relative score in words: the share of the article's fit that goes to this topic rather than the others.

    It saturates near 1 for an article that clearly belongs to one topic, so it reads as words, not a number."""
    if score >= 0.8:
        return "clear fit"
    if score >= 0.5:
        return "likely fit"
    return "borderline"
