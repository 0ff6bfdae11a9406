"""The embedding benchmark: Signpost's Embedder beside plain sentence-transformers, same texts, same run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from signpost.classify.embedding import Embedder, article_text, model_directory
from signpost.config.settings import load_settings

# Texts are timed in rounds that alternate between the two, so load from other processes on the machine
# falls on both sides alike and the ratio stays meaningful even when the absolute figures wander.
ROUND = 32
WARM_UP = 8


def load_texts(dataset_dir: Path, limit: int | None = None) -> list[str]:
    """What the pipeline embeds of each article of a ranking set (articles.jsonl)."""
    texts = []
    with (dataset_dir / "articles.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                article = json.loads(line)
                texts.append(article_text(article.get("title"), article.get("text") or ""))
            if limit is not None and len(texts) >= limit:
                break
    return texts


def run_embedding_bench(
    dataset_dir: Path, limit: int | None = None, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Docs/s of plain SentenceTransformer.encode and of the Embedder, their ratio, and cosine of their vectors."""
    from sentence_transformers import SentenceTransformer

    settings = load_settings()
    texts = load_texts(dataset_dir, limit)
    reference = SentenceTransformer(str(model_directory(settings.embedding_model)), device="cpu")
    # The same model input on both sides: the word pieces the pipeline reads of each article.
    reference.max_seq_length = min(reference.max_seq_length, settings.embedding_max_tokens)
    embedder = Embedder.from_settings(settings)
    # Timed without the reuse of identical inputs, so the ratio compares the two models' work text for text.
    embedder.reuse_identical = False
    warm = texts[:WARM_UP]
    reference.encode(warm, normalize_embeddings=True, show_progress_bar=False)
    embedder.embed(warm)

    dimension = embedder.dimension
    torch_vectors = np.zeros((len(texts), dimension), np.float32)
    fast_vectors = np.zeros((len(texts), dimension), np.float32)
    torch_seconds = fast_seconds = 0.0
    for start in range(0, len(texts), ROUND):
        chunk = texts[start : start + ROUND]
        began = time.perf_counter()
        torch_vectors[start : start + len(chunk)] = reference.encode(
            chunk, normalize_embeddings=True, show_progress_bar=False
        )
        middle = time.perf_counter()
        fast_vectors[start : start + len(chunk)] = embedder.embed(chunk)
        torch_seconds += middle - began
        fast_seconds += time.perf_counter() - middle
        if progress:
            progress(start + len(chunk), len(texts))

    cosines = (torch_vectors * fast_vectors).sum(axis=1) if texts else np.ones(1)
    torch_rate = len(texts) / torch_seconds if torch_seconds else 0.0
    fast_rate = len(texts) / fast_seconds if fast_seconds else 0.0
    return {
        "texts": len(texts),
        "max_tokens": settings.embedding_max_tokens,
        "model": embedder.name,
        "backend": embedder.backend,
        "torch_docs_per_s": torch_rate,
        "embedder_docs_per_s": fast_rate,
        "speedup": fast_rate / torch_rate if torch_rate else 0.0,
        "cosine_mean": float(cosines.mean()),
        "cosine_worst": float(cosines.min()),
        "cosine_p1": float(np.percentile(cosines, 1)),
        "torch_seconds": torch_seconds,
        "embedder_seconds": fast_seconds,
    }


def format_embedding_table(result: dict) -> str:
    """The benchmark's figures as a plain-text table."""
    header = f"{'embedder':<28} {'docs/s':>8} {'seconds':>8}"
    lines = [
        f"embedding benchmark, {result['texts']} texts (title and text, {result['max_tokens']} word pieces), "
        f"{result['model']}",
        header,
        "-" * len(header),
    ]
    lines.append(
        f"{'signpost (' + result['backend'] + ')':<28} {result['embedder_docs_per_s']:>8.1f} "
        f"{result['embedder_seconds']:>8.1f}"
    )
    lines.append(f"{'sentence-transformers':<28} {result['torch_docs_per_s']:>8.1f} {result['torch_seconds']:>8.1f}")
    lines.append(f"speed ratio (signpost / sentence-transformers): {result['speedup']:.2f}x")
    lines.append(
        f"cosine to sentence-transformers' vectors: mean {result['cosine_mean']:.4f}, "
        f"worst {result['cosine_worst']:.4f}, 1st percentile {result['cosine_p1']:.4f}"
    )
    return "\n".join(lines)
