"""The clustering benchmark: story clusters and copies against a labelled set, and copy detection on BBC."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from signpost.bench.ranking import bench_text, default_embed
from signpost.classify.grouping import GroupingItem, GroupingSettings, group_items
from signpost.classify.near_duplicates import ItemId, find_duplicates

Embed = Callable[[Sequence[str]], np.ndarray]


def load_clustering_set(dataset_dir: Path) -> list[dict]:
    """The records of a clustering set's articles.jsonl: id, title, text, story, maybe published and source."""
    path = dataset_dir if dataset_dir.is_file() else dataset_dir / "articles.jsonl"
    with path.open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    if not any("story" in record for record in records):
        if not any(record.get("duplicate_of") for record in records):
            raise ValueError(f"{path}: no record has a story or a duplicate_of to score clusters against")
        # A set that only marks copies (BBC) is scored on them: a copy is in its original's story, the rest alone.
        for record in records:
            record["story"] = str(record.get("duplicate_of") or record["id"])
    return records


def fixture_clustering_set(web: Any) -> list[dict]:
    """A clustering set from a fixture web's truth: every true article, with its story and original."""
    return [
        {
            "id": article.url,
            "title": article.title,
            "text": article.text,
            "story": article.story,
            "published": article.published.isoformat(),
            "source": article.site,
            "duplicate_of": article.duplicate_of,
        }
        for article in sorted(web.truth.values(), key=lambda article: article.url)
    ]


def grouping_items(records: Sequence[dict], vectors: np.ndarray | None = None) -> list[GroupingItem]:
    return [
        GroupingItem(
            id=record["id"],
            title=record.get("title") or "",
            text=record.get("text") or "",
            published=datetime.fromisoformat(record["published"]) if record.get("published") else None,
            source=record.get("source"),
            vector=vectors[position] if vectors is not None else None,
        )
        for position, record in enumerate(records)
    ]


def bcubed(predicted: dict[Hashable, Hashable], gold: dict[Hashable, Hashable]) -> tuple[float, float]:
    """B-cubed precision and recall: per item, the share of its cluster in its story and of its story in it."""
    joint = Counter((predicted[item], gold[item]) for item in gold)
    cluster_size = Counter(predicted[item] for item in gold)
    story_size = Counter(gold.values())
    precision = sum(joint[(predicted[item], gold[item])] / cluster_size[predicted[item]] for item in gold)
    recall = sum(joint[(predicted[item], gold[item])] / story_size[gold[item]] for item in gold)
    return precision / len(gold), recall / len(gold)


def pairwise(predicted: dict[Hashable, Hashable], gold: dict[Hashable, Hashable]) -> tuple[float, float]:
    """Precision and recall over item pairs put together; with no pairs on a side, that side scores 1."""

    def pairs(counts: Counter) -> int:
        return sum(size * (size - 1) // 2 for size in counts.values())

    together = pairs(Counter((predicted[item], gold[item]) for item in gold))
    predicted_pairs = pairs(Counter(predicted[item] for item in gold))
    gold_pairs = pairs(Counter(gold.values()))
    return (together / predicted_pairs if predicted_pairs else 1.0, together / gold_pairs if gold_pairs else 1.0)


def duplicate_scores(predicted: dict[ItemId, ItemId], truth: dict[ItemId, ItemId | None]) -> dict[str, float]:
    """A flagged copy is right when it is a true copy and its original is in its true copy group."""
    group = {item: original or item for item, original in truth.items()}
    correct = sum(1 for item, original in predicted.items() if truth.get(item) and group.get(original) == group[item])
    true_copies = sum(1 for original in truth.values() if original)
    precision = correct / len(predicted) if predicted else 1.0
    recall = correct / true_copies if true_copies else 1.0
    return {"precision": precision, "recall": recall, "flagged": len(predicted), "true": true_copies}


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score_records(
    records: Sequence[dict],
    embed: Embed | None,
    settings: GroupingSettings | None = None,
) -> tuple[dict, Any]:
    """Group the records (embedding them first when `embed` is given) and score against their stories."""
    started = time.perf_counter()
    vectors = np.asarray(embed([bench_text(record) for record in records]), np.float32) if embed else None
    embedded = time.perf_counter()
    grouping = group_items(grouping_items(records, vectors), settings)
    grouped = time.perf_counter()
    gold = {record["id"]: record["story"] for record in records}
    b_precision, b_recall = bcubed(grouping.story_of, gold)
    p_precision, p_recall = pairwise(grouping.story_of, gold)
    result: dict[str, Any] = {
        "articles": len(records),
        "stories": len(set(gold.values())),
        "clusters": len(grouping.members),
        "embeddings": embed is not None,
        "bcubed": {"precision": b_precision, "recall": b_recall, "f1": _f1(b_precision, b_recall)},
        "pairwise": {"precision": p_precision, "recall": p_recall, "f1": _f1(p_precision, p_recall)},
        "embed_seconds": embedded - started,
        "group_seconds": grouped - embedded,
    }
    if any("duplicate_of" in record for record in records):
        truth = {record["id"]: record.get("duplicate_of") for record in records}
        result["duplicates"] = duplicate_scores(grouping.duplicate_of, truth)
    return result, grouping


def run_clustering_bench(
    dataset_dir: Path, out: Path | None = None, embed: Embed | None = None, use_embeddings: bool = True
) -> dict:
    """Score story clusters on a clustering set; `out` gets one {id, cluster, duplicate_of} line per article."""
    records = load_clustering_set(Path(dataset_dir))
    if use_embeddings and embed is None:
        embed = default_embed()
    result, grouping = score_records(records, embed if use_embeddings else None)
    result["dataset"] = Path(dataset_dir).name
    if out is not None:
        with Path(out).open("w", encoding="utf-8") as lines:
            for record in records:
                row = {
                    "id": record["id"],
                    "cluster": grouping.story_of[record["id"]],
                    "duplicate_of": grouping.duplicate_of.get(record["id"]),
                }
                lines.write(json.dumps(row) + "\n")
    return result


def bbc_duplicate_scores(path: Path) -> dict[str, float]:
    """Copy detection on the BBC set (articles.jsonl or its folder), against its `duplicate_of` truth."""
    records = load_clustering_set(Path(path))
    started = time.perf_counter()
    predicted = find_duplicates(grouping_items(records))
    scores = duplicate_scores(predicted, {record["id"]: record.get("duplicate_of") for record in records})
    scores["seconds"] = time.perf_counter() - started
    return scores


def format_clustering_table(result: dict) -> str:
    """The figures as a small text table."""
    lines = [
        f"clustering: {result.get('dataset', '')} ({result['articles']} articles, {result['stories']} stories, "
        f"{result['clusters']} clusters, {'embeddings' if result['embeddings'] else 'TF-IDF'})",
        f"{'measure':<12}{'precision':>10}{'recall':>10}{'F1':>10}",
    ]
    for name in ("bcubed", "pairwise"):
        figures = result[name]
        lines.append(f"{name:<12}{figures['precision']:>10.3f}{figures['recall']:>10.3f}{figures['f1']:>10.3f}")
    if "duplicates" in result:
        copies = result["duplicates"]
        f1 = _f1(copies["precision"], copies["recall"])
        lines.append(f"{'copies':<12}{copies['precision']:>10.3f}{copies['recall']:>10.3f}{f1:>10.3f}")
    lines.append(f"embedding {result['embed_seconds']:.1f} s, grouping {result['group_seconds']:.2f} s")
    return "\n".join(lines)


def story_sizes(grouping: Any) -> dict[int, int]:
    """How many stories have each number of members (for reports)."""
    sizes: dict[int, int] = defaultdict(int)
    for members in grouping.members.values():
        sizes[len(members)] += 1
    return dict(sorted(sizes.items()))
