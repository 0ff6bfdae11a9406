"""Composing a draft: each topic's section from its ranked candidates, one item per story, with blurbs."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from signpost.digests.blurbs import MAX_BLURB_CHARS, make_blurb
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import Topic
from signpost.store.digests import CoveredBy, DraftItem

MAX_ALSO_COVERED = 5


def compose_draft(
    topics: Sequence[Topic],
    candidates: Mapping[int, Sequence[DraftCandidate]],
    *,
    per_topic: int = 5,
    exclude_articles: Collection[int] = (),
    exclude_stories: Collection[int] = (),
    reserved: Mapping[int, int] | None = None,
    blurb_chars: int = MAX_BLURB_CHARS,
) -> list[DraftItem]:
    """The proposed items of a digest, section by section in topic order, best first.

    Picks greedily across all topics by score, so an article or story lands in the section where it scores
    best and never in two. ``exclude_articles`` / ``exclude_stories`` are what curators already decided on,
    and ``reserved[topic_id]`` the places their approved items take in a section.
    """
    reserved = reserved or {}
    topic_ids = [topic.id for topic in topics]
    room = {topic_id: max(per_topic - reserved.get(topic_id, 0), 0) for topic_id in topic_ids}
    pool = [
        (candidate.score, topic_id, candidate)
        for topic_id in topic_ids
        for candidate in candidates.get(topic_id, ())
        if candidate.article_id not in exclude_articles
        and (candidate.story_id is None or candidate.story_id not in exclude_stories)
    ]
    # Ties go to the earlier topic, then the lower article id, so a redraft of the same input is identical.
    pool.sort(key=lambda entry: (-entry[0], topic_ids.index(entry[1]), entry[2].article_id))
    sections: dict[int, list[DraftCandidate]] = {topic_id: [] for topic_id in topic_ids}
    used_articles: set[int] = set()
    used_stories: set[int] = set()
    for _, topic_id, candidate in pool:
        if len(sections[topic_id]) >= room[topic_id] or candidate.article_id in used_articles:
            continue
        if candidate.story_id is not None and candidate.story_id in used_stories:
            continue
        sections[topic_id].append(candidate)
        used_articles.add(candidate.article_id)
        if candidate.story_id is not None:
            used_stories.add(candidate.story_id)
    items: list[DraftItem] = []
    for topic_id in topic_ids:
        first = reserved.get(topic_id, 0)
        for offset, candidate in enumerate(sections[topic_id]):
            items.append(draft_item(topic_id, first + offset, candidate, blurb_chars))
    return items


def draft_item(topic_id: int, position: int, candidate: DraftCandidate, blurb_chars: int) -> DraftItem:
    title = " ".join(candidate.title.split()) or candidate.url
    return DraftItem(
        topic_id=topic_id,
        article_id=candidate.article_id,
        story_id=candidate.story_id,
        position=position,
        title=title,
        blurb=make_blurb(title, candidate.text, max_chars=blurb_chars),
        url=candidate.url,
        source_name=candidate.source,
        score=candidate.score,
        reasons=list(candidate.reasons),
        also_covered_by=also_covered_by(candidate),
    )


def also_covered_by(candidate: DraftCandidate) -> tuple[CoveredBy, ...]:
    """The story's other sources, one entry per source, never the item's own."""
    seen = {candidate.source}
    entries: list[CoveredBy] = []
    for entry in candidate.other_sources:
        if entry.source and entry.source not in seen:
            seen.add(entry.source)
            entries.append(entry)
    return tuple(entries[:MAX_ALSO_COVERED])
