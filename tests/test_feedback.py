"""Learning from curators on real BBC articles: feedback beats zero-shot, approvals raise and rejections lower."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import shared_data
from signpost.bench.ranking import bench_text, default_embed, load_ranking_set, run_ranking_bench
from signpost.classify.feedback import CLICK_WEIGHT, Label, click_label, learn
from signpost.classify.ranking import topic_vectors, zero_shot_scores

# Per topic; enough for stable figures, few enough to embed in about 15 s on 2 cores.
PER_TOPIC = 70

# Topics whose descriptions overlap the five BBC ones: the "more, closer topics" of a real community, where
# the zero-shot is weaker and the curators' labels have most to teach.
DISTRACTORS = [
    {"id": "finance", "name": "Personal finance and the economy", "description": "Interest rates, house prices, "
     "pensions, taxes, inflation and household budgets."},
    {"id": "policy", "name": "Public policy and law", "description": "Government policy, regulation, courts, crime, "
     "health and education services."},
    {"id": "media", "name": "Media and the music industry", "description": "Record labels, broadcasters, TV channels, "
     "downloads, piracy and the business of entertainment."},
    {"id": "gadgets", "name": "Video games and consumer electronics", "description": "Games consoles, gaming, phones, "
     "TVs, cameras and gadgets for the home."},
    {"id": "football", "name": "Football", "description": "Premiership and international football: clubs, managers, "
     "transfers and matches."},
]  # fmt: skip


@pytest.fixture(scope="module")
def embed():
    model = default_embed()
    cache: dict[str, np.ndarray] = {}

    # The bench embeds the same articles for every run: remember each text's vector.
    def cached(texts):
        missing = [text for text in dict.fromkeys(texts) if text not in cache]
        if missing:
            cache.update(zip(missing, model(missing), strict=True))
        return np.vstack([cache[text] for text in texts]).astype(np.float32)

    return cached


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    """A stratified sample of BBC as a ranking set, and the same articles with five overlapping extra topics."""
    bbc = shared_data("bbc")
    articles = [json.loads(line) for line in (bbc / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    articles = [article for article in articles if not article.get("duplicate_of")]
    spec = yaml.safe_load((bbc / "topics.yaml").read_text(encoding="utf-8"))
    rng = np.random.default_rng(7)
    sample = []
    for topic in spec["topics"]:
        inside = [article for article in articles if article["label"] == topic["id"]]
        sample += [inside[i] for i in sorted(rng.choice(len(inside), PER_TOPIC, replace=False))]
    made = {}
    for name, topics in (("bbc-sample", spec["topics"]), ("bbc-distract", spec["topics"] + DISTRACTORS)):
        folder = tmp_path_factory.mktemp(name)
        lines = [json.dumps({key: a[key] for key in ("id", "title", "text", "label")}) for a in sample]
        (folder / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / "topics.yaml").write_text(yaml.safe_dump({"name": name, "topics": topics}), encoding="utf-8")
        made[name] = folder
    return made


def test_zero_shot_beats_the_baseline_and_feedback_never_hurts(sets, embed):
    for seed in (0, 1):
        result = run_ranking_bench(sets["bbc-sample"], feedback=16, seed=seed, embed=embed, cache_dir=None)
        assert result["zero_shot"]["map"] > result["baseline"]["map"]
        # On BBC the zero-shot is near what the vectors allow (~.99): feedback must not lose it.
        assert result["learned"]["map"] >= result["zero_shot"]["map"] - 0.003, result


def test_feedback_teaches_close_topics_apart_and_never_costs_the_top(sets, embed):
    gains = {}
    for k in (4, 16, 64):
        result = run_ranking_bench(sets["bbc-distract"], feedback=k, seed=0, embed=embed, cache_dir=None)
        gains[k] = result["learned"]["map"] - result["zero_shot"]["map"]
        for measure in ("ndcg@10", "p@10"):
            assert result["learned"][measure] >= result["zero_shot"][measure], (k, result)
    # Learning is kept only where held-out labels say it helps, so a few labels may change nothing; more
    # labels help more (measured on this sample: +.000 with 4, +.02 with 16, +.05 with 64).
    assert min(gains.values()) >= 0, gains
    assert gains[16] >= 0.01 and gains[64] >= gains[16], gains


@pytest.fixture(scope="module")
def bbc_vectors(sets, embed):
    articles, topics, _ = load_ranking_set(sets["bbc-sample"])
    vectors = embed([bench_text(article) for article in articles])
    return (
        vectors,
        [article["label"] for article in articles],
        [topic.id for topic in topics],
        topic_vectors(topics, embed),
    )


def _neighbours(vectors: np.ndarray, row: int, n: int = 5) -> np.ndarray:
    order = np.argsort(-(vectors @ vectors[row]))
    return order[1 : n + 1]


def test_an_approval_raises_and_a_rejection_lowers_similar_items(bbc_vectors):
    vectors, _labels, topic_ids, prior = bbc_vectors
    before = zero_shot_scores(vectors, prior, corpus_mean=vectors.mean(axis=0))
    j = topic_ids.index("business")
    # An article the zero-shot is unsure about for business: where a decision has something to change.
    row = int(np.argmin(np.abs(before[:, j] - 0.5)))
    near = _neighbours(vectors, row)
    for value in (1, -1):
        after = learn(vectors, [Label(row, "business", value)], topic_ids, prior).score(vectors)
        change = after[near, j] - before[near, j]
        assert np.sign(change.mean()) == value, (value, change)
        assert np.sign(after[row, j] - before[row, j]) == value
    click = learn(vectors, [click_label(row, "business")], topic_ids, prior).score(vectors)
    approval = learn(vectors, [Label(row, "business", 1)], topic_ids, prior).score(vectors)
    assert CLICK_WEIGHT < 1
    assert before[row, j] < click[row, j] < approval[row, j]


def test_scores_without_labels_are_the_zero_shot_and_unlabelled_topics_keep_their_prior(bbc_vectors):
    vectors, labels, topic_ids, prior = bbc_vectors
    model = learn(vectors, [], topic_ids, prior)
    np.testing.assert_allclose(model.score(vectors), zero_shot_scores(vectors, prior), atol=1e-9)
    sport = [i for i, label in enumerate(labels) if label == "sport"][:5]
    model = learn(vectors, [Label(i, "sport", 1) for i in sport], topic_ids, prior)
    learned = [j for j, topic_id in enumerate(topic_ids) if topic_id != "sport" and model.coef[j].any()]
    assert not learned
    np.testing.assert_allclose(model.topic_vectors[topic_ids.index("tech")], prior[topic_ids.index("tech")], atol=1e-6)
    scores = model.score(vectors)
    assert scores.shape == (len(vectors), len(topic_ids))
    assert scores.min() >= 0 and scores.max() <= 1
    np.testing.assert_allclose(scores.sum(axis=1), 1, atol=1e-9)


def test_learning_and_scoring_twenty_thousand_articles_gives_sound_scores():
    # Speed is measured by `signpost bench ranking` and the pipeline bench, not asserted here.
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(20_000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    prior = vectors[rng.choice(len(vectors), 10, replace=False)] + 0.1
    topic_ids = [f"t{j}" for j in range(10)]
    labels = [Label(int(i), topic_ids[int(i) % 10], 1 if i % 3 else -1) for i in rng.choice(20_000, 640, replace=False)]
    scores = learn(vectors, labels, topic_ids, prior).score(vectors)
    assert scores.shape == (20_000, 10)
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 1).all()


def test_the_scores_file_carries_full_precision_so_an_outside_scorer_gets_the_same_figures(sets, embed, tmp_path):
    out = tmp_path / "scores.jsonl"
    result = run_ranking_bench(sets["bbc-distract"], feedback=4, seed=0, out=out, embed=embed, cache_dir=None)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    articles, topics, _ = load_ranking_set(sets["bbc-distract"])
    label = {article["id"]: article["label"] for article in articles}
    ndcgs = []
    for topic in topics:
        ranked = sorted((row for row in rows if row["topic"] == topic.id), key=lambda row: -row["score"])
        relevant = sum(label[row["id"]] == topic.id for row in ranked)
        if not relevant:
            continue
        gains = [float(label[row["id"]] == topic.id) / np.log2(rank + 2) for rank, row in enumerate(ranked[:10])]
        ndcgs.append(sum(gains) / sum(1 / np.log2(rank + 2) for rank in range(min(10, relevant))))
    assert float(np.mean(ndcgs)) == pytest.approx(result["learned"]["ndcg@10"], abs=1e-12)
    assert len({row["score"] for row in rows}) > 0.9 * len(rows)  # no ties made by rounding
