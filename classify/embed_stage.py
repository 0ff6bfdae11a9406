"""The embedding stage: vectors for every article that has none from the configured model, chunk by chunk.

Each text is embedded alone (see classify/embedding.py), so a vector depends on its text only: chunks can be
fanned out over many workers and give exactly the vectors one process gives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from signpost.classify.embedding import Embedder, article_text
from signpost.config.settings import Settings
from signpost.store.vectors import article_ids_without_vector, articles_without_vector, save_vectors

# Articles embedded and saved per round: a crash loses at most one chunk of work, and memory stays flat.
CHUNK = 1024


@dataclass
class EmbedReport:
    model: str
    articles: int = 0
    seconds: float = 0.0


def embed_pending(
    engine: Engine,
    settings: Settings,
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EmbedReport:
    """Embed the articles without a vector from the model in use; a change of model re-embeds everything."""
    embedder = embedder or Embedder.from_settings(settings)
    report = EmbedReport(model=embedder.name)
    started = time.monotonic()
    chunks = pending_chunks(engine, embedder.name)
    total = sum(map(len, chunks))
    for chunk in chunks:
        done_before = report.articles

        def chunk_progress(done: int, _total: int, offset: int = done_before) -> None:
            if progress:
                progress(offset + done, total)

        report.articles += embed_chunk(engine, embedder, chunk, progress=chunk_progress).articles
        if progress:
            progress(report.articles, total)
    report.seconds = time.monotonic() - started
    return report


def pending_chunks(engine: Engine, model: str, size: int = CHUNK) -> list[list[int]]:
    """The articles without a vector from ``model`` (a `model_name`), as chunks of ids for `embed_chunk`."""
    article_ids = article_ids_without_vector(engine, model)
    return [article_ids[start : start + size] for start in range(0, len(article_ids), size)]


def embed_chunk(
    engine: Engine, embedder: Embedder, article_ids: list[int], progress: Callable[[int, int], None] | None = None
) -> EmbedReport:
    """Embed those of the articles that still have no vector (a retried chunk redoes nothing)."""
    report = EmbedReport(model=embedder.name)
    started = time.monotonic()
    pending = articles_without_vector(engine, embedder.name, article_ids)
    if pending:
        vectors = embedder.embed([article_text(title, text) for _, title, text in pending], progress=progress)
        save_vectors(engine, embedder.name, [article_id for article_id, _, _ in pending], vectors)
    report.articles = len(pending)
    report.seconds = time.monotonic() - started
    return report
