"""Composing a draft: each topic's section from its ranked candidates, capped per source, above a relevance floor."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from signpost.digests.blurbs import MAX_BLURB_CHARS, make_blurb
from signpost.store.candidates import DraftCandidate, SentItem
from signpost.store.communities import Topic
from signpost.store.digests import CoveredBy, DraftItem

MAX_ALSO_COVERED = 5
# Below the floor but at least this share of it: a borderline candidate, listed one click from the section.
BORDERLINE_SHARE = 0.2
MAX_BORDERLINE = 10
# A rare source posts at most rare_source_posts a week and at most 1/RARE_RATIO of the busiest source.
RARE_RATIO = 4.0


@dataclass(frozen=True)
class DraftRules:
    """What a section may hold; digests.drafting builds these from the settings and the community's overrides."""

    per_source_section: int = 2
    per_source_digest: int = 4
    # A section takes only articles scoring at least this for its topic (the score is the topic's share of the
    # article among the community's topics, so at .5 or more the section's topic is the article's best).
    relevance_floor: float = 0.5
    # An article from the period's first moment loses this share of its score against one from its last.
    freshness: float = 0.1
    # NewsBlur's rule: an article from a source that posts rarely gains this share, so a small charity's one
    # good post is not drowned by a publisher's twenty.
    rare_source_boost: float = 0.1
    # At most this many articles a week (over the weeks counted in DraftCandidate.source_weekly_posts).
    rare_source_posts: float = 2.0


@dataclass
class SectionNote:
    """What the draft says about a section beside its items: borderline candidates and what the caps held back."""

    items: int = 0
    borderline: list[int] = field(default_factory=list)  # article ids, best first
    capped: list[str] = field(default_factory=list)  # one sentence per article held back by a cap

    def as_json(self) -> dict:
        return {"items": self.items, "borderline": self.borderline, "capped": self.capped}


@dataclass
class ComposedDraft:
    items: list[DraftItem]
    notes: dict[int, SectionNote]


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def compose_draft(
    topics: Sequence[Topic],
    candidates: Mapping[int, Sequence[DraftCandidate]],
    *,
    per_topic: int = 5,
    exclude_articles: Collection[int] = (),
    exclude_stories: Collection[int] = (),
    reserved: Mapping[int, int] | None = None,
    blurb_chars: int = MAX_BLURB_CHARS,
    rules: DraftRules | None = None,
) -> list[DraftItem]:
    """The proposed items of a digest, section by section in topic order, best first (see compose_sections)."""
    return compose_sections(
        topics,
        candidates,
        per_topic=per_topic,
        exclude_articles=exclude_articles,
        exclude_stories=exclude_stories,
        reserved=reserved,
        blurb_chars=blurb_chars,
        rules=rules,
    ).items


def compose_sections(
    topics: Sequence[Topic],
    candidates: Mapping[int, Sequence[DraftCandidate]],
    *,
    per_topic: int = 5,
    exclude_articles: Collection[int] = (),
    exclude_stories: Collection[int] = (),
    reserved: Mapping[int, int] | None = None,
    taken_sources: Sequence[tuple[int, str]] = (),
    sent: Mapping[int, SentItem] | None = None,
    period: Period | None = None,
    blurb_chars: int = MAX_BLURB_CHARS,
    rules: DraftRules | None = None,
) -> ComposedDraft:
    """The proposed items of a digest and a note per section.

    Picks greedily across all topics by score (made a little higher for fresher articles and for sources that
    post rarely), so an article or story lands in the section where it scores best and never in two; a section
    takes nothing below the relevance floor and at most the caps from one source. ``exclude_articles`` /
    ``exclude_stories`` are what curators already decided on (and what earlier digests sent), ``reserved`` the
    places approved items take in each section and ``taken_sources`` their (topic, source). ``sent`` maps a
    story sent in an earlier digest to what was sent: a new article on it is a follow-up.
    """
    rules = rules or DraftRules()
    reserved = reserved or {}
    sent = sent or {}
    topic_ids = [topic.id for topic in topics]
    room = {topic_id: max(per_topic - reserved.get(topic_id, 0), 0) for topic_id in topic_ids}
    busiest = max(
        (c.source_weekly_posts or 0.0 for topic_id in topic_ids for c in candidates.get(topic_id, ())), default=0.0
    )
    pool = [
        (draft_value(candidate, rules, period, busiest), topic_id, candidate)
        for topic_id in topic_ids
        for candidate in candidates.get(topic_id, ())
        if candidate.article_id not in exclude_articles
        and (candidate.story_id is None or candidate.story_id not in exclude_stories)
    ]
    # Ties go to the earlier topic, then the lower article id, so a redraft of the same input is identical.
    pool.sort(key=lambda entry: (-entry[0], topic_ids.index(entry[1]), entry[2].article_id))
    sections: dict[int, list[tuple[DraftCandidate, list[str]]]] = {topic_id: [] for topic_id in topic_ids}
    notes = {topic_id: SectionNote() for topic_id in topic_ids}
    per_section = Counter(taken_sources)
    per_digest = Counter(source for _, source in taken_sources)
    used_articles: set[int] = set()
    used_stories: set[int] = set()
    for _, topic_id, candidate in pool:
        if len(sections[topic_id]) >= room[topic_id] or candidate.article_id in used_articles:
            continue
        if candidate.story_id is not None and candidate.story_id in used_stories:
            continue
        if candidate.score < rules.relevance_floor:
            continue
        source = candidate.source
        if source and per_section[(topic_id, source)] >= rules.per_source_section:
            notes[topic_id].capped.append(
                f"{_ordinal(per_section[(topic_id, source)] + 1)} item from {source} in this section: capped "
                f"(“{_short(candidate.title)}”)."
            )
            continue
        if source and per_digest[source] >= rules.per_source_digest:
            notes[topic_id].capped.append(
                f"{_ordinal(per_digest[source] + 1)} item from {source} this week: capped "
                f"(“{_short(candidate.title)}”)."
            )
            continue
        per_section[(topic_id, source)] += 1
        per_digest[source] += 1
        sections[topic_id].append(
            (candidate, draft_reasons(candidate, rules, period, per_section[(topic_id, source)], busiest))
        )
        used_articles.add(candidate.article_id)
        if candidate.story_id is not None:
            used_stories.add(candidate.story_id)
    items: list[DraftItem] = []
    for topic_id in topic_ids:
        first = reserved.get(topic_id, 0)
        for offset, (candidate, extra) in enumerate(sections[topic_id]):
            follow_up = sent.get(candidate.story_id) if candidate.story_id is not None else None
            lead = [follow_up_reason(follow_up)] if follow_up else []
            items.append(draft_item(topic_id, first + offset, candidate, blurb_chars, [*lead, *extra]))
        notes[topic_id].items = first + len(sections[topic_id])
        notes[topic_id].borderline = borderline(candidates.get(topic_id, ()), rules, used_articles, exclude_articles)
    return ComposedDraft(items, notes)


def draft_value(candidate: DraftCandidate, rules: DraftRules, period: Period | None, busiest: float = 0.0) -> float:
    """The score the draft ranks by: the topic score, mildly fresher-first and boosted for rare sources."""
    value = candidate.score * (1.0 - rules.freshness * (1.0 - _recency(candidate, period)))
    if _rare(candidate, rules, busiest):
        value *= 1.0 + rules.rare_source_boost
    return value


def draft_reasons(
    candidate: DraftCandidate, rules: DraftRules, period: Period | None, nth: int, busiest: float = 0.0
) -> list[str]:
    """The topic's reasons, then what the draft itself weighed: the source's share, its rarity, freshness."""
    reasons = list(candidate.reasons)
    if nth > 1 and candidate.source:
        reasons.append(
            f"{_ordinal(nth)} item from {candidate.source} in this section (at most {rules.per_source_section})."
        )
    if _rare(candidate, rules, busiest):
        reasons.append(
            f"From a source that posts rarely ({candidate.source_weekly_posts:.1f} articles a week): "
            f"ranked {rules.rare_source_boost:.0%} higher."
        )
    if period is not None and candidate.published_at is not None and rules.freshness > 0:
        days = max((period.end - _aware(candidate.published_at, period.end)).total_seconds() / 86400, 0.0)
        reasons.append(f"Published {_days(days)} before the period ended (fresher counts a little).")
    return reasons


def follow_up_reason(sent: SentItem) -> str:
    return f"Follow-up: the story was sent on {sent.sent_on:%-d %B %Y} as “{_short(sent.title)}”."


def borderline(
    candidates: Sequence[DraftCandidate], rules: DraftRules, used: Collection[int], excluded: Collection[int]
) -> list[int]:
    """The topic's candidates just below the floor that no section took: the curator's one click away."""
    low = rules.relevance_floor * BORDERLINE_SHARE
    near = [
        candidate
        for candidate in candidates
        if low <= candidate.score < rules.relevance_floor
        and candidate.article_id not in used
        and candidate.article_id not in excluded
    ]
    near.sort(key=lambda candidate: (-candidate.score, candidate.article_id))
    return [candidate.article_id for candidate in near[:MAX_BORDERLINE]]


def draft_item(
    topic_id: int, position: int, candidate: DraftCandidate, blurb_chars: int, reasons: list[str] | None = None
) -> DraftItem:
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
        reasons=list(candidate.reasons) if reasons is None else reasons,
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


def _recency(candidate: DraftCandidate, period: Period | None) -> float:
    """1 for an article from the period's end, 0 from its start; 1 when either is unknown (no penalty)."""
    if period is None or candidate.published_at is None:
        return 1.0
    length = (period.end - period.start).total_seconds()
    if length <= 0:
        return 1.0
    age = (_aware(candidate.published_at, period.end) - period.start).total_seconds() / length
    return min(max(age, 0.0), 1.0)


def _rare(candidate: DraftCandidate, rules: DraftRules, busiest: float) -> bool:
    """Posts rarely, beside a source that posts at least RARE_RATIO times as much: when every source is small,
    nobody is being drowned."""
    posts = candidate.source_weekly_posts
    if rules.rare_source_boost <= 0 or posts is None or posts > rules.rare_source_posts:
        return False
    return busiest >= RARE_RATIO * max(posts, 0.25)


def _aware(moment: datetime, like: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes: give them the period's zone so they compare."""
    return moment.replace(tzinfo=like.tzinfo) if moment.tzinfo is None and like.tzinfo is not None else moment


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _days(days: float) -> str:
    if days < 1:
        return "less than a day"
    whole = int(days)
    return f"{whole} day{'s' if whole != 1 else ''}"


def _short(title: str, length: int = 70) -> str:
    title = " ".join((title or "").split())
    return title if len(title) <= length else title[: length - 1].rstrip() + "…"
