"""Zero-shot scoring of articles against a community's topics, and keyword rules (the draft picks: digests/compose)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# A function from texts to L2-normalised float32 vectors, one row a text (classify.embedding.Embedder.embed).
Embed = Callable[[Sequence[str]], np.ndarray]

# Softmax temperature over cosine similarities: 0.02 is the measured baseline's; cosines between a short prompt
# and an article differ by a few hundredths between topics, so the temperature has to be about that size.
TEMPERATURE = 0.02


@dataclass(frozen=True)
class TopicSpec:
    """One topic of a community, as the scorer needs it."""

    id: str
    name: str
    description: str = ""
    # Words that describe the topic: extra prompts for the zero-shot vector, never a filter.
    keywords: tuple[str, ...] = ()
    # At least one of these must appear in the title or text, else the article is out of the topic.
    keywords_must: tuple[str, ...] = ()
    # Any of these in the title or text puts the article out of the topic.
    keywords_exclude: tuple[str, ...] = ()
    # Texts of example articles a curator gave when setting the topic up.
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class ZeroShotConfig:
    """How zero-shot scores are computed; the defaults are the ones measured best on the ranking bench."""

    temperature: float = TEMPERATURE
    # Subtract the corpus mean from article vectors: removes the "this is a news article" direction every
    # article shares, so what is left is what tells articles apart.
    center: bool = True
    # Pseudo-relevance feedback: rounds of moving each topic vector towards the articles it already scores high.
    prf_rounds: int = 2
    # Weight of that centroid against the topic's own vector (measured: 1 to 4 all gain, 2 is in the middle).
    prf_weight: float = 2.0


def topic_queries(topic: TopicSpec) -> list[str]:
    """The prompts whose embeddings are averaged into a topic's vector."""
    queries = [topic.name]
    if topic.description:
        queries += [topic.description, f"{topic.name}: {topic.description}"]
    if topic.keywords:
        queries.append(f"{topic.name}: {', '.join(topic.keywords)}")
    return queries


def topic_vectors(topics: Sequence[TopicSpec], embed: Embed, example_weight: float = 1.0) -> np.ndarray:
    """One unit vector a topic: the mean of its prompts' embeddings, and of its examples' when it has some."""
    vectors = []
    for topic in topics:
        prompts = np.asarray(embed(topic_queries(topic)), dtype=np.float32)
        vector = _unit(prompts.mean(axis=0))
        if topic.examples:
            examples = np.asarray(embed(list(topic.examples)), dtype=np.float32)
            vector = vector + example_weight * _unit(examples.mean(axis=0))
        vectors.append(_unit(vector))
    return np.vstack(vectors).astype(np.float32)


def relative_scores(similarities: np.ndarray, temperature: float = TEMPERATURE) -> np.ndarray:
    """Softmax over topics (columns): how much of an article's match goes to each topic, rows summing to 1."""
    # float64: at T = 0.02 an article clearly in one topic gets a share within 1e-7 of 1, which float32 rounds
    # to exactly 1.0, and ranking a topic's articles by tied scores loses their order (measured: 733 ties on
    # the 3-topic BBC subset, MAP .979 in float32 against .990 in float64).
    return softmax_rows(np.asarray(similarities, dtype=np.float64) / temperature)


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Softmax of each row, in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    logits = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def centered(article_vectors: np.ndarray, mean: np.ndarray | None = None) -> np.ndarray:
    """Article vectors minus the corpus mean, re-normalised; pass a stored mean when scoring a small batch."""
    if mean is None:
        mean = article_vectors.mean(axis=0)
    return _unit_rows(article_vectors - mean)


def cosine(article_vectors: np.ndarray, topic_vectors: np.ndarray) -> np.ndarray:
    """Cosine between every article and every topic, shape (n_articles, n_topics)."""
    return _unit_rows(article_vectors) @ _unit_rows(topic_vectors).T


def pseudo_feedback(
    article_vectors: np.ndarray, topic_vectors: np.ndarray, scores: np.ndarray, weight: float
) -> np.ndarray:
    """Topic vectors moved towards the centroid of their articles, each weighted by its score (no labels read).

    Soft weights rather than a top-k cut: nothing to tune to the share of articles a topic has, and articles the
    prior is unsure about pull little.
    """
    totals = np.maximum(scores.sum(axis=0), 1e-9)[:, None]
    centroids = _unit_rows((scores.T @ article_vectors) / totals)
    return _unit_rows(_unit_rows(topic_vectors) + weight * centroids)


def zero_shot_scores(
    article_vectors: np.ndarray,
    topic_vectors: np.ndarray,
    config: ZeroShotConfig | None = None,
    corpus_mean: np.ndarray | None = None,
) -> np.ndarray:
    """Scores in [0, 1], shape (n_articles, n_topics), of each article for each topic relative to the others."""
    return softmax_rows(zero_shot_logits(article_vectors, topic_vectors, config, corpus_mean))


def zero_shot_logits(
    article_vectors: np.ndarray,
    topic_vectors: np.ndarray,
    config: ZeroShotConfig | None = None,
    corpus_mean: np.ndarray | None = None,
) -> np.ndarray:
    """The logits (similarity / temperature, float64) whose softmax over topics is zero_shot_scores."""
    config = config or ZeroShotConfig()
    vectors = scoring_space(article_vectors, config, corpus_mean)
    topics = _unit_rows(topic_vectors)
    similarities = vectors @ topics.T
    for _ in range(config.prf_rounds):
        topics = pseudo_feedback(
            vectors, topic_vectors, relative_scores(similarities, config.temperature), config.prf_weight
        )
        similarities = vectors @ topics.T
    return similarities.astype(np.float64) / config.temperature


def scoring_space(
    article_vectors: np.ndarray, config: ZeroShotConfig | None = None, corpus_mean: np.ndarray | None = None
) -> np.ndarray:
    """Article vectors as zero-shot scoring sees them: centred on the corpus mean (when configured), unit rows."""
    config = config or ZeroShotConfig()
    return centered(article_vectors, corpus_mean) if config.center else _unit_rows(article_vectors)


def keyword_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    """A case-insensitive whole-word pattern matching any of the words or phrases, None when there are none."""
    words = [word.strip() for word in words if word.strip()]
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def matched_keywords(text: str, words: Sequence[str]) -> list[str]:
    """The words (as the topic spells them) that occur in the text, in the topic's order."""
    matched = []
    for word in words:
        pattern = keyword_pattern([word])
        if pattern is not None and pattern.search(text):
            matched.append(word)
    return matched


def keyword_mask(texts: Sequence[str], topics: Sequence[TopicSpec]) -> np.ndarray:
    """True where an article may belong to a topic under its must / exclude keywords, shape (n_texts, n_topics)."""
    mask = np.ones((len(texts), len(topics)), dtype=bool)
    for j, topic in enumerate(topics):
        must = keyword_pattern(topic.keywords_must)
        exclude = keyword_pattern(topic.keywords_exclude)
        if must is None and exclude is None:
            continue
        for i, text in enumerate(texts):
            if (must is not None and not must.search(text)) or (exclude is not None and exclude.search(text)):
                mask[i, j] = False
    return mask


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)
