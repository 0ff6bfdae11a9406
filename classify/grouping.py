"""Grouping a week's articles: syndicated copies, and stories told by several sources within a time window."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from signpost.classify.near_duplicates import (
    DuplicateSettings,
    GroupingItem,
    ItemId,
    find_duplicates,
    opening,
    order_key,
    similar_text_pairs,
)

__all__ = ["Grouping", "GroupingItem", "GroupingSettings", "extend_grouping", "group_items"]

StoryKey = str
TITLE_WORD = re.compile(r"[^\W\d_]{3,}")
# Rows of the similarity matrix computed at once: 1,024 x 20,000 float32 is 80 MB of scratch.
SIMILARITY_CHUNK = 1024


@dataclass(frozen=True)
class GroupingSettings:
    """Thresholds of the story stage; similarity is cosine of the vectors blended with title-word overlap."""

    window: timedelta = timedelta(days=7)
    embedding_threshold: float = 0.72  # average-linkage similarity to join a story, with sentence embeddings
    lexical_threshold: float = 0.45  # the same with TF-IDF vectors, used when an item has no embedding
    title_weight: float = 0.2
    max_component: int = 3000  # larger candidate components are split at a stricter similarity first
    duplicates: DuplicateSettings = field(default_factory=DuplicateSettings)


@dataclass
class Grouping:
    """Which item copies which, and which story each item belongs to."""

    duplicate_of: dict[ItemId, ItemId] = field(default_factory=dict)
    story_of: dict[ItemId, StoryKey] = field(default_factory=dict)
    representative: dict[StoryKey, ItemId] = field(default_factory=dict)
    members: dict[StoryKey, list[ItemId]] = field(default_factory=dict)


def group_items(items: list[GroupingItem], settings: GroupingSettings | None = None) -> Grouping:
    """Group items seen for the first time: copies point at their earliest original, stories get new keys."""
    return extend_grouping([], Grouping(), items, settings)


def extend_grouping(
    grouped: list[GroupingItem],
    previous: Grouping,
    new_items: list[GroupingItem],
    settings: GroupingSettings | None = None,
) -> Grouping:
    """Add `new_items` to the grouping `previous` made of `grouped`; old items keep their copy and story keys.

    Pass as `grouped` the already-grouped items that may matter: those within a window of the new ones (and
    further back, for copies). A new item joins the story most of its cluster's old members are in, or
    starts a story keyed by its own id. The result covers `grouped` and `new_items`.
    """
    settings = settings or GroupingSettings()
    known = {item.id for item in grouped}
    items = grouped + [item for item in new_items if item.id not in known]
    pairs = similar_text_pairs(items, settings.duplicates)
    duplicate_of = find_duplicates(items, settings.duplicates, known, previous.duplicate_of, pairs)
    index_of = {item.id: position for position, item in enumerate(items)}
    roots = [position for position, item in enumerate(items) if item.id not in duplicate_of]
    labels = cluster_roots(items, roots, pairs, previous.story_of, settings)
    story_of = {item_id: key for item_id, key in previous.story_of.items() if item_id in known}
    clusters: dict[int, list[int]] = defaultdict(list)
    for root, label in zip(roots, labels, strict=True):
        clusters[label].append(root)
    for members in clusters.values():
        old_keys = Counter(story_of[items[m].id] for m in members if items[m].id in story_of)
        members.sort(key=lambda m: order_key(items[m]))
        key = old_keys.most_common(1)[0][0] if old_keys else str(items[members[0]].id)
        for member in members:
            story_of.setdefault(items[member].id, key)
    for item in items:
        if item.id in duplicate_of and item.id not in story_of:
            # A copy lives in its original's story; an original outside `items` lends its old key, if any.
            original = duplicate_of[item.id]
            story_of[item.id] = story_of.get(original) or previous.story_of.get(original) or str(original)
    return _with_members(items, index_of, duplicate_of, story_of)


def _with_members(
    items: list[GroupingItem],
    index_of: dict[ItemId, int],
    duplicate_of: dict[ItemId, ItemId],
    story_of: dict[ItemId, StoryKey],
) -> Grouping:
    """Fill in each story's members, earliest first, and its representative: the earliest original."""
    members: dict[StoryKey, list[ItemId]] = defaultdict(list)
    for item_id, key in story_of.items():
        if item_id in index_of:
            members[key].append(item_id)
    representative = {}
    for key, ids in members.items():
        ids.sort(key=lambda item_id: order_key(items[index_of[item_id]]))
        originals = [item_id for item_id in ids if item_id not in duplicate_of]
        representative[key] = (originals or ids)[0]
    return Grouping(
        duplicate_of=duplicate_of,
        story_of={item_id: key for item_id, key in story_of.items() if item_id in index_of},
        representative=representative,
        members=dict(members),
    )


def story_vectors(items: list[GroupingItem]) -> tuple[np.ndarray | object, bool]:
    """The items' embeddings when every item has one, else TF-IDF vectors of title and text (and False)."""
    if items and all(item.vector is not None for item in items):
        return np.vstack([np.asarray(item.vector, dtype=np.float32) for item in items]), True
    # The title twice, so a headline counts as much as a paragraph; rows come out L2-normalised.
    documents = [f"{item.title}\n{item.title}\n{item.text}" for item in items]
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, max_df=0.5, dtype=np.float32)
    try:
        return vectorizer.fit_transform(documents).tocsr(), False
    except ValueError:  # every document empty or stop words only
        return np.zeros((len(items), 1), dtype=np.float32), False


def title_words(title: str) -> frozenset[str]:
    return frozenset(word for word in TITLE_WORD.findall(title.lower()) if word not in ENGLISH_STOP_WORDS)


def candidate_edges(
    items: list[GroupingItem], vectors: np.ndarray | object, floor: float, window: timedelta
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) published within `window` of each other whose vector cosine reaches `floor`."""
    stamps = np.array([order_key(item)[0] for item in items], dtype=np.float64)
    lefts, rights, sims = [], [], []
    for start in range(0, len(items), SIMILARITY_CHUNK):
        block = vectors[start : start + SIMILARITY_CHUNK] @ vectors.T
        block = block.toarray() if hasattr(block, "toarray") else np.asarray(block)
        rows, cols = np.nonzero(block >= floor)
        rows_global = rows + start
        keep = cols > rows_global
        with np.errstate(invalid="ignore"):  # inf - inf for two undated items; handled just below
            gap = np.abs(stamps[rows_global] - stamps[cols])
        # An undated item (inf) may pair with anything: it has no date to fall outside the window.
        keep &= ~(gap > window.total_seconds()) | ~np.isfinite(stamps[rows_global]) | ~np.isfinite(stamps[cols])
        lefts.append(rows_global[keep])
        rights.append(cols[keep])
        sims.append(block[rows[keep], cols[keep]])
    if not lefts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return np.concatenate(lefts), np.concatenate(rights), np.concatenate(sims)


def cluster_roots(
    all_items: list[GroupingItem],
    roots: list[int],
    pairs: list[tuple[int, int, float]],
    old_story_of: dict[ItemId, StoryKey],
    settings: GroupingSettings,
) -> list[int]:
    """A cluster label for each root (non-copy) item, by average linkage over a sparse similarity graph."""
    items = [all_items[position] for position in roots]
    if not items:
        return []
    vectors, embedded = story_vectors(items)
    threshold = settings.embedding_threshold if embedded else settings.lexical_threshold
    weight = settings.title_weight
    # Blended similarity reaches the threshold only if cosine reaches this, even with identical titles.
    floor = (threshold - weight) / (1 - weight)
    lefts, rights, cosines = candidate_edges(items, vectors, floor, settings.window)
    titles = [title_words(item.title) for item in items]
    overlap = np.array([_jaccard(titles[a], titles[b]) for a, b in zip(lefts, rights, strict=True)], np.float32)
    blended = ((1 - weight) * cosines + weight * overlap).tolist()
    edges = dict(zip(zip(lefts.tolist(), rights.tolist(), strict=True), blended, strict=True))
    local = {position: index for index, position in enumerate(roots)}
    for left, right, _ in pairs:
        if left in local and right in local:
            a, b = sorted((local[left], local[right]))
            # Near-identical texts with the same opening are one story; re-run under a new lead, a follow-up.
            same_opening = opening(all_items[left].text) == opening(all_items[right].text)
            edges[(a, b)] = 1.0 if same_opening else 0.0
    by_old_story: dict[StoryKey, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        if item.id in old_story_of:
            by_old_story[old_story_of[item.id]].append(index)
    for members in by_old_story.values():
        for a in members:  # an old story stays whole, whatever the new items bring
            for b in members:
                if a < b:
                    edges[(a, b)] = 1.0
    return _cluster_graph(len(items), edges, threshold, settings.max_component)


def _jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    return len(left & right) / len(left | right) if left and right else 0.0


def _cluster_graph(size: int, edges: dict[tuple[int, int], float], threshold: float, max_component: int) -> list[int]:
    """Average-linkage clusters of each connected component; missing pairs count as similarity 0."""
    labels = np.arange(size)
    strong = [pair for pair, sim in edges.items() if sim >= threshold]
    if not strong:
        return labels.tolist()
    # Only pairs above the threshold can start a merge, so components of that graph cluster independently.
    rows, cols = np.array(strong).T
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    edges_of: dict[int, dict[tuple[int, int], float]] = defaultdict(dict)
    for (a, b), sim in edges.items():
        if component[a] == component[b]:
            edges_of[component[a]][(a, b)] = sim
    members_of: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(component):
        members_of[label].append(index)
    for label, members in members_of.items():
        if len(members) < 2:
            continue
        local = {member: index for index, member in enumerate(members)}
        sub = {(local[a], local[b]): sim for (a, b), sim in edges_of[label].items()}
        if len(members) == 2:
            sub_labels = [0, 0]  # their one strong edge joins them
        elif len(members) > max_component:
            # A chained giant component: split it at a stricter bar before paying for a dense matrix.
            sub_labels = _cluster_graph(len(members), sub, min(1.0, threshold + 0.05), max_component)
        else:
            distance = np.ones((len(members), len(members)), dtype=np.float64)
            np.fill_diagonal(distance, 0.0)
            for (a, b), sim in sub.items():
                distance[a, b] = distance[b, a] = 1.0 - sim
            clustering = AgglomerativeClustering(
                n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - threshold + 1e-9
            )
            sub_labels = clustering.fit_predict(distance).tolist()
        # Name each sub-cluster after its first member, which no other component can use.
        first: dict[int, int] = {}
        for member, sub_label in zip(members, sub_labels, strict=True):
            labels[member] = first.setdefault(sub_label, member)
    return labels.tolist()
