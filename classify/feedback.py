"""Learning topic scores from curators' decisions and members' clicks, on top of the zero-shot prior."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression

from classify.ranking import ZeroShotConfig, centered, zero_shot_scores

# A click says "someone wanted to read this", much weaker than a curator's approval for a topic.
CLICK_WEIGHT = 0.3


@dataclass(frozen=True)
class Label:
    """One decision about an article for a topic: +1 approved, -1 rejected."""

    article_index: int
    topic_id: str
    value: int
    # 1.0 for a curator's decision; CLICK_WEIGHT for a click.
    weight: float = 1.0


def click_label(article_index: int, topic_id: str) -> Label:
    """A member's click on an item in a topic's section, as a weak approval."""
    return Label(article_index=article_index, topic_id=topic_id, value=1, weight=CLICK_WEIGHT)


@dataclass(frozen=True)
class FeedbackConfig:
    """How much labels move the scores; the defaults are the ones measured best on the ranking bench."""

    # Rocchio: how far a topic vector moves towards its approved items and away from its rejected ones.
    approve_weight: float = 1.0
    reject_weight: float = 0.5
    # The classifier's share of a topic's score is n / (n + prior_strength), n the topic's label weight: with
    # a handful of labels the zero-shot prior dominates, with many the classifier does.
    prior_strength: float = 8.0
    # Inverse regularisation of the per-topic logistic regression.
    regularisation: float = 1.0
    # An approval for another topic counts as this much of a rejection for this one: in one community an
    # item filed under one topic is seldom wanted under another.
    other_topic_reject_weight: float = 0.5


@dataclass
class TopicModel:
    """Topic vectors moved by feedback, plus a classifier for each topic that has labels of both kinds."""

    topic_ids: list[str]
    topic_vectors: np.ndarray
    zero_shot: ZeroShotConfig
    corpus_mean: np.ndarray | None = None
    # Per topic: weights and bias of the classifier on centred vectors (zeros where there is none).
    coef: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    intercept: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    # Per topic: the classifier's share of the score (0 leaves the zero-shot prior as it is).
    blend: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def score(self, article_vectors: np.ndarray) -> np.ndarray:
        """Scores in [0, 1], shape (n_articles, n_topics): the prior, blended with the classifier where learned."""
        prior = zero_shot_scores(article_vectors, self.topic_vectors, self.zero_shot, self.corpus_mean)
        if not self.blend.any():
            return prior
        vectors = centered(article_vectors, self.corpus_mean)
        learned = 1.0 / (1.0 + np.exp(-(vectors @ self.coef.T + self.intercept)))
        return (1.0 - self.blend) * prior + self.blend * learned


def rocchio(
    topic_vector: np.ndarray, approved: np.ndarray, rejected: np.ndarray, config: FeedbackConfig
) -> np.ndarray:
    """A topic vector moved towards the mean of approved vectors and away from the mean of rejected ones."""
    moved = _unit(topic_vector)
    if len(approved):
        moved = moved + config.approve_weight * _unit(approved.mean(axis=0))
    if len(rejected):
        moved = moved - config.reject_weight * _unit(rejected.mean(axis=0))
    return _unit(moved)


def topic_examples(
    labels: Sequence[Label], topic_id: str, config: FeedbackConfig
) -> tuple[list[int], list[float], list[float]]:
    """Rows, targets (1/0) and weights of the training examples for one topic."""
    rows, targets, weights = [], [], []
    for label in labels:
        if label.topic_id == topic_id:
            rows.append(label.article_index)
            targets.append(1.0 if label.value > 0 else 0.0)
            weights.append(label.weight)
        elif label.value > 0 and config.other_topic_reject_weight > 0:
            rows.append(label.article_index)
            targets.append(0.0)
            weights.append(label.weight * config.other_topic_reject_weight)
    return rows, targets, weights


def learn(
    article_vectors: np.ndarray,
    labels: Sequence[Label],
    topic_ids: Sequence[str],
    prior_vectors: np.ndarray,
    config: FeedbackConfig | None = None,
    zero_shot: ZeroShotConfig | None = None,
    corpus_mean: np.ndarray | None = None,
) -> TopicModel:
    """A topic model from labelled articles (rows of article_vectors); topics without labels keep their prior."""
    config = config or FeedbackConfig()
    zero_shot = zero_shot or ZeroShotConfig()
    if corpus_mean is None and zero_shot.center:
        corpus_mean = article_vectors.mean(axis=0)
    vectors = centered(article_vectors, corpus_mean) if zero_shot.center else article_vectors
    n_topics, dim = len(topic_ids), article_vectors.shape[1]
    moved = np.array(prior_vectors, dtype=np.float32, copy=True)
    coef = np.zeros((n_topics, dim), dtype=np.float32)
    intercept = np.zeros(n_topics, dtype=np.float32)
    blend = np.zeros(n_topics, dtype=np.float32)
    for j, topic_id in enumerate(topic_ids):
        own = [label for label in labels if label.topic_id == topic_id]
        approved = vectors[[label.article_index for label in own if label.value > 0]]
        rejected = vectors[[label.article_index for label in own if label.value < 0]]
        if not own:
            continue
        moved[j] = rocchio(prior_vectors[j], approved, rejected, config)
        rows, targets, weights = topic_examples(labels, topic_id, config)
        if len(set(targets)) < 2:
            continue
        classifier = LogisticRegression(C=config.regularisation, max_iter=1000)
        classifier.fit(vectors[rows], targets, sample_weight=weights)
        coef[j], intercept[j] = classifier.coef_[0], classifier.intercept_[0]
        weight = float(sum(label.weight for label in own))
        blend[j] = weight / (weight + config.prior_strength)
    return TopicModel(list(topic_ids), moved, zero_shot, corpus_mean, coef, intercept, blend)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
