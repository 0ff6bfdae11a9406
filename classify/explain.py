"""Why an article is a candidate for a topic, in sentences a curator reads at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from signpost.classify.ranking import TopicSpec, matched_keywords

# Below this cosine an approved item is not "like" the candidate in any sense a curator would recognise.
NEAREST_APPROVED_MIN = 0.5


@dataclass(frozen=True)
class ApprovedItem:
    """An article a curator approved for a topic, as explanations cite it."""

    title: str
    vector: np.ndarray


@dataclass(frozen=True)
class Evidence:
    """What is known about one article for one topic when its reasons are written."""

    topic: TopicSpec
    topic_names: dict[str, str]  # every topic of the community, id to name
    scores: np.ndarray  # the article's score for each topic, in topic order
    similarity: float  # cosine of article and topic vector
    text: str
    excluded: bool
    sources: int  # distinct sources that carried the story
    decisions: int  # curator decisions the topic has learned from


def explain(evidence: Evidence, topic_index: int, approved: Sequence[ApprovedItem], vector: np.ndarray) -> list[str]:
    """The reasons, strongest first; an excluded article gets the rule that excluded it."""
    topic = evidence.topic
    if evidence.excluded:
        return [_exclusion(topic, evidence.text)]
    reasons = [_fit(evidence, topic_index)]
    hits = matched_keywords(evidence.text, [*topic.keywords_must, *topic.keywords])
    if hits:
        reasons.append("Mentions " + ", ".join(f"“{word}”" for word in hits[:5]) + ".")
    nearest = _nearest(approved, vector)
    if nearest is not None:
        item, similarity = nearest
        reasons.append(f"Close to “{_short(item.title)}”, which a curator approved here (similarity {similarity:.2f}).")
    if evidence.sources > 1:
        reasons.append(f"The story was covered by {evidence.sources} sources.")
    if evidence.decisions:
        plural = "s" if evidence.decisions != 1 else ""
        reasons.append(f"Ranked with what curators taught this topic ({evidence.decisions} decision{plural}).")
    return reasons


def _fit(evidence: Evidence, topic_index: int) -> str:
    name = evidence.topic.name
    scores = evidence.scores
    best = int(np.argmax(scores))
    share = float(scores[topic_index])
    if best == topic_index:
        if len(scores) == 1:
            return f"About “{name}” (similarity {evidence.similarity:.2f})."
        others = len(scores) - 1
        return (
            f"Fits “{name}” better than the community's {others} other topic{'s' if others > 1 else ''} "
            f"(score {share:.2f}, similarity {evidence.similarity:.2f})."
        )
    best_name = evidence.topic_names[list(evidence.topic_names)[best]]
    return f"Partly about “{name}” (score {share:.2f}); it fits “{best_name}” best."


def _exclusion(topic: TopicSpec, text: str) -> str:
    excluded = matched_keywords(text, topic.keywords_exclude)
    if excluded:
        return f"Left out: mentions “{excluded[0]}”, which “{topic.name}” excludes."
    required = ", ".join(f"“{word}”" for word in topic.keywords_must)
    return f"Left out: “{topic.name}” needs one of {required}, and the article has none."


def _nearest(approved: Sequence[ApprovedItem], vector: np.ndarray) -> tuple[ApprovedItem, float] | None:
    if not approved:
        return None
    similarities = np.array([float(item.vector @ vector) for item in approved])
    best = int(np.argmax(similarities))
    if similarities[best] < NEAREST_APPROVED_MIN or similarities[best] > 0.9999:
        # The second case is the approved article itself: citing it as its own neighbour says nothing.
        return None
    return approved[best], float(similarities[best])


def _short(title: str, length: int = 80) -> str:
    return title if len(title) <= length else title[: length - 1].rstrip() + "…"
