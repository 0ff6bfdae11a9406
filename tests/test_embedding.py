"""The embedding stage: the fast backend gives the torch backend's vectors, whatever the batch, on the real model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import shared_data
from signpost.classify.embedding import ARTICLE_CHARS, Embedder, article_text
from signpost.config.settings import load_settings

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def cache_dir():
    # The same cache as the CLI: the int8 model is built once (about 20 s) and reused by later runs.
    return load_settings().var_dir / "models"


@pytest.fixture(scope="module")
def fast(cache_dir) -> Embedder:
    return Embedder(cache_dir=cache_dir, backend="onnx")


@pytest.fixture(scope="module")
def reference(cache_dir) -> Embedder:
    return Embedder(cache_dir=cache_dir, backend="torch")


def bbc_texts(count: int) -> list[str]:
    """Articles spread over the BBC set's topics, embedded as the pipeline embeds them."""
    with (shared_data("bbc") / "articles.jsonl").open(encoding="utf-8") as lines:
        articles = [json.loads(line) for line in lines if line.strip()]
    step = max(1, len(articles) // count)
    return [article_text(article["title"], article["text"]) for article in articles[::step][:count]]


def test_fast_backend_matches_sentence_transformers(fast, reference):
    texts = bbc_texts(64)
    assert fast.backend == "onnx" and reference.backend == "torch"
    assert fast.name == reference.name == "all-MiniLM-L6-v2"
    vectors, expected = fast.embed(texts), reference.embed(texts)
    assert vectors.shape == expected.shape == (64, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * expected).sum(axis=1)
    assert cosines.mean() >= 0.99, cosines.mean()
    assert cosines.min() >= 0.97, cosines.min()


def test_a_vector_does_not_depend_on_its_batch(fast):
    texts = [
        "Short one.",
        "A much longer sentence about volunteers, grants and the charity sector. " * 5,
        "Mid length.",
    ]
    together = fast.embed(texts)
    alone = np.vstack([fast.embed([text]) for text in texts])
    reordered = fast.embed(texts[::-1])[::-1]
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(together, reordered, atol=1e-5)


def test_progress_and_small_batches(cache_dir):
    embedder = Embedder(batch_size=2, cache_dir=cache_dir, backend="onnx")
    calls = []
    vectors = embedder.embed(["one", "two", "three"], progress=lambda done, total: calls.append((done, total)))
    assert vectors.shape == (3, embedder.dimension)
    assert calls == [(2, 3), (3, 3)]


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_empty_input(backend, fast, reference):
    embedder = fast if backend == "onnx" else reference
    vectors = embedder.embed([])
    assert vectors.shape == (0, 384) and vectors.dtype == np.float32


def test_a_very_long_text_is_truncated_not_an_error(fast):
    start = "Volunteer managers met in Leeds to share what keeps people coming back. "
    long_text = start * 400 + "zebra " * 20000
    vectors = fast.embed([long_text, start * 60])
    # Both are cut at 256 word pieces, long before the words that differ.
    assert float(vectors[0] @ vectors[1]) > 0.999


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError):
        Embedder(backend="gpu")


def test_article_text():
    assert article_text("Title", "Body") == "Title\nBody"
    assert article_text(None, "Body") == "Body"
    assert article_text("  ", "Body") == "Body"
    assert len(article_text("T", "x" * 100_000)) == ARTICLE_CHARS
