"""Lexical relevance: TF-IDF over articles' title and text, matched against what a topic says and was taught."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from signpost.classify.ranking import TopicSpec

# Lexical cosines between an article and a topic's words are a few tenths at most; divided by this they become
# logits of the same size as the semantic ones (cosine / 0.02), so one weight fuses them (measured on the
# ranking sets: see README, "Ranking").
LEXICAL_TEMPERATURE = 0.1
# How far approved articles pull a topic's word vector, and rejected ones push it (Rocchio, as feedback.py).
# Words only: word pairs measured worse (BBC + distractors, 16 labels: MAP .937 against .945) and 3x slower.
NGRAMS = (1, 1)
APPROVE_WEIGHT = 1.0
REJECT_WEIGHT = 0.25


@dataclass
class LexicalIndex:
    """A TF-IDF vocabulary fitted on the articles being scored, and their rows."""

    vectorizer: TfidfVectorizer
    rows: sparse.csr_matrix

    @classmethod
    def fit(cls, texts: Sequence[str]) -> LexicalIndex:
        # Sublinear tf: an article saying "volunteer" twenty times is not twenty times as much about it.
        vectorizer = TfidfVectorizer(
            sublinear_tf=True, stop_words="english", min_df=1, max_df=0.5, ngram_range=NGRAMS, dtype=np.float32
        )
        try:
            rows = vectorizer.fit_transform([text or "" for text in texts]).tocsr()
        except ValueError:  # no words at all (empty texts): every lexical score is 0
            vectorizer = TfidfVectorizer(dtype=np.float32)
            rows = sparse.csr_matrix((len(texts), 1), dtype=np.float32)
        return cls(vectorizer, rows)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        if not hasattr(self.vectorizer, "vocabulary_"):
            return sparse.csr_matrix((len(texts), self.rows.shape[1]), dtype=np.float32)
        return self.vectorizer.transform(list(texts)).tocsr()


def topic_words(topic: TopicSpec) -> str:
    """What a topic says about itself in words: name, description, keywords (required ones too), examples."""
    return "\n".join([topic.name, topic.description, *topic.keywords, *topic.keywords_must, *topic.examples])


def topic_word_vectors(
    index: LexicalIndex,
    topics: Sequence[TopicSpec],
    approved: Sequence[Sequence[int]] = (),
    rejected: Sequence[Sequence[int]] = (),
) -> np.ndarray:
    """One unit TF-IDF row a topic, dense: its own words, moved towards its approved articles' rows (by index)."""
    own = _unit_rows(index.transform([topic_words(topic) for topic in topics]).toarray().astype(np.float64))
    for j in range(len(topics)):
        for rows, sign, strength in (
            (approved[j] if j < len(approved) else (), 1.0, APPROVE_WEIGHT),
            (rejected[j] if j < len(rejected) else (), -1.0, REJECT_WEIGHT),
        ):
            if len(rows):
                mean = np.asarray(index.rows[list(rows)].mean(axis=0), dtype=np.float64).ravel()
                # As with the semantic Rocchio: a few articles move the topic half as far as many do.
                own[j] = own[j] + sign * strength * len(rows) / (len(rows) + 8.0) * _unit(mean)
        own[j] = _unit(np.maximum(own[j], 0.0))
    return own


def lexical_similarity(index: LexicalIndex, topic_rows: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Cosine between the index's articles (or the given row numbers) and each topic row, (n_articles, n_topics)."""
    matrix = index.rows if rows is None else index.rows[rows]
    return np.asarray(matrix @ topic_rows.T, dtype=np.float64)


def lexical_logits(similarity: np.ndarray) -> np.ndarray:
    """Lexical cosines on the semantic logits' scale."""
    return np.asarray(similarity, dtype=np.float64) / LEXICAL_TEMPERATURE


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
