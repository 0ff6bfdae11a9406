"""Hybrid relevance: semantic and lexical signals fused, learnt from labels only where held-out labels agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from signpost.classify.feedback import Label, TopicModel, learn
from signpost.classify.lexical import LexicalIndex, lexical_logits, lexical_similarity, topic_word_vectors
from signpost.classify.ranking import TopicSpec, scoring_space, softmax_rows

# Weight of the lexical logits beside the semantic ones, zero-shot (measured on the ranking sets, README
# "Ranking": MAP rises on the demo corpus and BBC sub-topics up to 8, nDCG@10 on BBC + distractors falls at 8).
LEXICAL_WEIGHT = 1.0
# Weights the learnt fusion may choose between, by held-out labels.
LEARNT_WEIGHTS = (0.0, LEXICAL_WEIGHT, 2 * LEXICAL_WEIGHT)
# Weight of the learnt logits against the prior's where learning is kept (measured: .75 gains more MAP than .5 and
# loses the top less often; 1, the learnt model alone, let labels replace the top on BBC + distractors).
LEARNT_SHARE = 0.75
# Folds of the labels for the held-out check; fewer labels than this many a fold and the prior is kept.
FOLDS = 4
MIN_LABELS = 2 * FOLDS


@dataclass
class Relevance:
    """Every article's score for every topic, and each signal's own, as the draft and the bench read them."""

    scores: np.ndarray  # what is kept and ranked: in [0, 1], relative to the community's other topics
    log_odds: np.ndarray  # the same ranking without saturation: log(score / (1 - score)), from the logits
    similarity: np.ndarray  # cosine of article and topic vector (centred space): the second key
    semantic: np.ndarray  # the semantic signal alone (zero-shot, or learnt where learning is kept)
    lexical: np.ndarray  # the lexical signal alone
    learnt: list[bool] = field(default_factory=list)  # per topic: do the labels reorder it
    lexical_weight: float = LEXICAL_WEIGHT
    model: TopicModel | None = None


def score_relevance(
    vectors: np.ndarray,
    texts: Sequence[str],
    topics: Sequence[TopicSpec],
    prior_vectors: np.ndarray,
    labels: Sequence[Label] = (),
) -> Relevance:
    """Scores of every row (article vector and its full text) for every topic, zero-shot or learnt from labels.

    Learning may reorder a topic only where it ranks that topic's held-out labels better than the prior did
    (labels split in folds, each predicted by a model that never saw it); elsewhere the topic keeps the prior.
    """
    topic_ids = [topic.id for topic in topics]
    index = LexicalIndex.fit(texts)
    prior_lexical = lexical_logits(lexical_similarity(index, topic_word_vectors(index, topics)))
    prior = learn(vectors, [], topic_ids, prior_vectors)
    semantic_prior = prior.logits(vectors)
    fused_prior = semantic_prior + LEXICAL_WEIGHT * prior_lexical
    result = _relevance(fused_prior, semantic_prior, prior_lexical, vectors, prior, [False] * len(topics))
    labels = [label for label in labels if label.topic_id in topic_ids and label.value != 0]
    if len(labels) < MIN_LABELS or len(topics) < 2:
        return result

    weight, helps = held_out_choice(vectors, index, topics, prior_vectors, labels, fused_prior)
    if not any(helps):
        return result
    learnt_lexical = _taught_lexical(index, topics, labels)
    model = learn(vectors, labels, topic_ids, prior_vectors, extra_logits=weight * learnt_lexical)
    # The learnt model and the prior vote together (their logits averaged: a product of experts), so an article
    # reaches a learnt topic's top only when both rank it high: labels reorder the top without replacing it.
    share = LEARNT_SHARE
    semantic = share * model.logits(vectors) + (1 - share) * semantic_prior
    fused = share * model.logits(vectors, weight * learnt_lexical) + (1 - share) * fused_prior
    learnt = _relevance(fused, semantic, learnt_lexical, vectors, model, list(helps))
    keep = np.array(helps)
    # Column by column: a topic the labels do not help keeps the prior's order exactly.
    for name in ("scores", "log_odds", "similarity", "semantic", "lexical"):
        mixed = np.where(keep[None, :], getattr(learnt, name), getattr(result, name))
        setattr(learnt, name, mixed)
    learnt.lexical_weight = weight
    return learnt


def held_out_choice(
    vectors: np.ndarray,
    index: LexicalIndex,
    topics: Sequence[TopicSpec],
    prior_vectors: np.ndarray,
    labels: Sequence[Label],
    fused_prior: np.ndarray,
) -> tuple[float, list[bool]]:
    """The lexical weight the labels favour, and per topic whether learning beats the prior on held-out labels."""
    topic_ids = [topic.id for topic in topics]
    # Deterministic folds, every topic's labels spread over all of them.
    ordered = sorted(range(len(labels)), key=lambda i: (labels[i].topic_id, labels[i].value, labels[i].article_index))
    fold_of = {i: position % FOLDS for position, i in enumerate(ordered)}
    learnt_pairs = np.zeros((len(LEARNT_WEIGHTS), len(topics)))
    prior_pairs = np.zeros(len(topics))
    for fold in range(FOLDS):
        train = [labels[i] for i in range(len(labels)) if fold_of[i] != fold]
        held = [labels[i] for i in range(len(labels)) if fold_of[i] == fold]
        if not held or not train:
            continue
        rows = np.array(sorted({label.article_index for label in held}))
        prior_pairs += _pairs_right(log_odds(fused_prior[rows]), rows, held, topic_ids)
        taught = _taught_lexical(index, topics, train)
        for w, weight in enumerate(LEARNT_WEIGHTS):
            model = learn(vectors, train, topic_ids, prior_vectors, extra_logits=weight * taught)
            logits = model.logits(vectors[rows], weight * taught[rows])
            learnt_pairs[w] += _pairs_right(log_odds(logits), rows, held, topic_ids)
    totals = learnt_pairs.sum(axis=1)
    # Ties go to the zero-shot's weight: no evidence, no change.
    best = max(range(len(LEARNT_WEIGHTS)), key=lambda w: (totals[w], LEARNT_WEIGHTS[w] == LEXICAL_WEIGHT))
    return LEARNT_WEIGHTS[best], [bool(learnt_pairs[best, j] > prior_pairs[j]) for j in range(len(topics))]


def _pairs_right(keys: np.ndarray, rows: np.ndarray, held: Sequence[Label], topic_ids: Sequence[str]) -> np.ndarray:
    """Per topic, held-out (fitting, not fitting) pairs ranked the right way round; ties count half."""
    position = {row: i for i, row in enumerate(rows)}
    right = np.zeros(len(topic_ids))
    for j, topic_id in enumerate(topic_ids):
        fits = {label.article_index for label in held if label.topic_id == topic_id and label.value > 0}
        # Not fitting: rejected here, or approved for another topic.
        misfits = {
            label.article_index
            for label in held
            if (label.topic_id == topic_id and label.value < 0) or (label.topic_id != topic_id and label.value > 0)
        } - fits
        if not fits or not misfits:
            continue
        good = keys[[position[row] for row in fits], j][:, None]
        bad = keys[[position[row] for row in misfits], j][None, :]
        right[j] = float((good > bad).sum() + 0.5 * (good == bad).sum())
    return right


def _taught_lexical(index: LexicalIndex, topics: Sequence[TopicSpec], labels: Sequence[Label]) -> np.ndarray:
    """Lexical logits from each topic's words moved towards its approved articles and away from its rejected."""
    approved = [[label.article_index for label in labels if label.topic_id == t.id and label.value > 0] for t in topics]
    rejected = [[label.article_index for label in labels if label.topic_id == t.id and label.value < 0] for t in topics]
    return lexical_logits(lexical_similarity(index, topic_word_vectors(index, topics, approved, rejected)))


def _relevance(
    fused: np.ndarray,
    semantic: np.ndarray,
    lexical: np.ndarray,
    vectors: np.ndarray,
    model: TopicModel,
    learnt: list[bool],
) -> Relevance:
    space = scoring_space(vectors, model.zero_shot, model.corpus_mean)
    topics = model.topic_vectors / np.maximum(np.linalg.norm(model.topic_vectors, axis=1, keepdims=True), 1e-12)
    return Relevance(
        scores=softmax_rows(fused),
        log_odds=log_odds(fused),
        similarity=(space @ topics.T).astype(np.float64),
        semantic=softmax_rows(semantic),
        lexical=softmax_rows(lexical),
        learnt=learnt,
        model=model,
    )


def log_odds(logits: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) of each topic's softmax share, computed from the logits so it never saturates."""
    logits = np.asarray(logits, dtype=np.float64)
    odds = np.empty_like(logits)
    for j in range(logits.shape[1]):
        others = np.delete(logits, j, axis=1)
        odds[:, j] = logits[:, j] - (np.logaddexp.reduce(others, axis=1) if others.shape[1] else -np.inf)
    return odds
