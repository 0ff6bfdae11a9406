"""Article embeddings, stored per model so that a change of model re-embeds instead of mixing spaces."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, func, select

from signpost.store.db import dialect_insert, utcnow
from signpost.store.schema import article_vectors, articles


def _lacks_vector(model: str):
    """Where an article has no vector from ``model``."""
    return articles.c.id.not_in(select(article_vectors.c.article_id).where(article_vectors.c.model == model))


def articles_without_vector(engine: Engine, model: str, among: list[int]) -> list[tuple[int, str, str]]:
    """(id, title, text) of those of ``among`` that have no vector from ``model`` yet, oldest first."""
    with engine.connect() as connection:
        query = (
            select(articles.c.id, articles.c.title, articles.c.text)
            .where(_lacks_vector(model), articles.c.id.in_(among))
            .order_by(articles.c.id)
        )
        return [(row.id, row.title or "", row.text) for row in connection.execute(query)]


def article_ids_without_vector(engine: Engine, model: str) -> list[int]:
    """Ids of the articles that have no vector from ``model`` yet, oldest first."""
    with engine.connect() as connection:
        return list(connection.scalars(select(articles.c.id).where(_lacks_vector(model)).order_by(articles.c.id)))


def count_without_vector(engine: Engine, model: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(articles).where(_lacks_vector(model))) or 0


def save_vectors(engine: Engine, model: str, article_ids: list[int], vectors: np.ndarray) -> None:
    if not article_ids:
        return
    now = utcnow()
    rows = [
        {
            "article_id": article_id,
            "model": model,
            "vector": np.asarray(vector, dtype=np.float32).tobytes(),
            "created_at": now,
        }
        for article_id, vector in zip(article_ids, vectors, strict=True)
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), 500):
            connection.execute(
                dialect_insert(connection, article_vectors).on_conflict_do_nothing(), rows[start : start + 500]
            )


def load_vectors(engine: Engine, model: str, article_ids: list[int]) -> dict[int, np.ndarray]:
    """The stored vectors of these articles; articles without one are absent."""
    found: dict[int, np.ndarray] = {}
    with engine.connect() as connection:
        for start in range(0, len(article_ids), 500):
            query = select(article_vectors.c.article_id, article_vectors.c.vector).where(
                article_vectors.c.model == model, article_vectors.c.article_id.in_(article_ids[start : start + 500])
            )
            for article_id, blob in connection.execute(query):
                found[article_id] = np.frombuffer(blob, dtype=np.float32)
    return found
