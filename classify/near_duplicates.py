"""Near-duplicate detection: exact copies and syndicated republications, by word shingles, MinHash and LSH."""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

ItemId = int | str
WORD = re.compile(r"\w+")
# Candidate buckets bigger than this are linked as a star, so one text syndicated to hundreds of sites
# (or a stub text every page shares) costs linear, not quadratic, work.
MAX_BUCKET_PAIRS = 64


@dataclass
class GroupingItem:
    """One article as the grouping stage sees it; `vector` is its L2-normalised embedding, when there is one."""

    id: ItemId
    title: str
    text: str
    published: datetime | None = None
    source: str | None = None
    vector: np.ndarray | None = None


@dataclass(frozen=True)
class DuplicateSettings:
    """How near two texts must be to count as copies; the defaults were measured on BBC and the fixture web."""

    shingle_size: int = 5
    threshold: float = 0.7  # Jaccard of word-shingle sets; fixture-web copies measure .76 to 1.0
    num_perm: int = 64
    bands: int = 16  # 16 bands of 4 rows: a pair at Jaccard .7 becomes a candidate with probability .988
    seed: int = 20260101


def order_key(item: GroupingItem) -> tuple:
    """Earliest first: dated items by date, undated after them, then by id (ints before strings)."""
    published = item.published
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # naive dates are taken as UTC so they compare with aware ones
    stamp = published.timestamp() if published is not None else float("inf")
    return (stamp, 0 if isinstance(item.id, int) else 1, item.id)


def exact_text_key(text: str) -> str:
    """The text with whitespace inside paragraphs normalised; paragraph breaks still count, as in BBC's truth."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _mix(values: np.ndarray) -> np.ndarray:
    """A splitmix64 finaliser, so multiply-add hashes have well-spread high bits (min-hashing compares those)."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def shingle_sets(texts: list[str], size: int) -> list[np.ndarray]:
    """Sorted unique 64-bit hashes of each text's lowercased word `size`-grams (empty for an empty text)."""
    vocabulary: dict[str, int] = {}
    token_ids: list[int] = []
    lengths = np.zeros(len(texts), dtype=np.int64)
    for position, text in enumerate(texts):
        words = WORD.findall(text.lower())
        lengths[position] = len(words)
        token_ids.extend([vocabulary.setdefault(word, len(vocabulary)) for word in words])
    # crc32 of the word rather than hash() or the vocabulary index: both change between runs, hashes must not.
    word_hash = np.array([zlib.crc32(word.encode()) for word in vocabulary], dtype=np.uint64)
    codes = _mix(word_hash + np.uint64(1))[np.asarray(token_ids, dtype=np.int64)]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    # A text shorter than `size` words is one shingle of all its words: pad with zeros that add nothing.
    width = np.minimum(lengths, size)
    counts = np.where(lengths > 0, lengths - width + 1, 0)
    doc_of = np.repeat(np.arange(len(texts)), counts)
    first = np.repeat(starts, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    padded = np.concatenate([codes, np.zeros(size, dtype=np.uint64)])
    hashed = np.zeros(len(first), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(size):
            inside = offset < width[doc_of]
            hashed += np.where(inside, padded[first + offset], np.uint64(0)) * _mix(np.uint64(offset + 2))
        hashed = _mix(hashed)
    order = np.lexsort((hashed, doc_of))
    hashed, doc_of = hashed[order], doc_of[order]
    keep = np.r_[True, (hashed[1:] != hashed[:-1]) | (doc_of[1:] != doc_of[:-1])]
    hashed, doc_of = hashed[keep], doc_of[keep]
    bounds = np.searchsorted(doc_of, np.arange(1, len(texts)))
    return np.split(hashed, bounds)


def minhash_signatures(shingles: list[np.ndarray], num_perm: int, seed: int) -> np.ndarray:
    """One row of `num_perm` 32-bit min-hashes per shingle set; rows of empty sets are left at the maximum."""
    rng = np.random.default_rng(seed)
    # Multiply-add modulo 2**32 over already well-mixed shingle hashes: cheap, and plenty for LSH candidates.
    multipliers = rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    offsets = rng.integers(0, 2**32, size=num_perm, dtype=np.uint32)
    signatures = np.full((len(shingles), num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    with np.errstate(over="ignore"):
        # One document at a time: np.minimum.reduceat over a chunk of documents is several times slower.
        for index, values in enumerate(shingles):
            if len(values):
                top = (values >> np.uint64(32)).astype(np.uint32)
                signatures[index] = (top[:, None] * multipliers + offsets).min(axis=0)
    return signatures


def candidate_pairs(signatures: np.ndarray, bands: int, usable: np.ndarray) -> np.ndarray:
    """Index pairs (i < j) that share at least one LSH band bucket, as an (n, 2) array."""
    rows = signatures.shape[1] // bands
    combiners = _mix(np.arange(1, rows + 1, dtype=np.uint64))
    indices = np.flatnonzero(usable)
    found: list[np.ndarray] = []
    for band in range(bands):
        block = signatures[indices, band * rows : (band + 1) * rows]
        with np.errstate(over="ignore"):
            keys = (block.astype(np.uint64) * combiners).sum(axis=1, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(order)]
        sizes = ends - starts
        # Buckets of two, by far the most common, as one array; larger ones one at a time.
        twos = starts[sizes == 2]
        found.append(np.stack([indices[order[twos]], indices[order[twos + 1]]], axis=1))
        for begin, end in zip(starts[sizes > 2], ends[sizes > 2], strict=True):
            members = indices[order[begin:end]]
            if end - begin <= MAX_BUCKET_PAIRS:
                left, right = _upper_pairs(end - begin)
                found.append(np.stack([members[left], members[right]], axis=1))
            else:
                found.append(np.stack([np.full(len(members) - 1, members[0]), members[1:]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.sort(np.concatenate(found), axis=1)
    return np.unique(pairs, axis=0)


@lru_cache(maxsize=MAX_BUCKET_PAIRS)
def _upper_pairs(size: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(size, k=1)


def jaccard(left: np.ndarray, right: np.ndarray) -> float:
    if not len(left) or not len(right):
        return 0.0
    common = len(np.intersect1d(left, right, assume_unique=True))
    return common / (len(left) + len(right) - common)


def similar_text_pairs(items: list[GroupingItem], settings: DuplicateSettings) -> list[tuple[int, int, float]]:
    """Index pairs (i < j) whose texts' shingle Jaccard reaches the threshold, with that Jaccard."""
    shingles = shingle_sets([item.text for item in items], settings.shingle_size)
    signatures = minhash_signatures(shingles, settings.num_perm, settings.seed)
    usable = np.array([len(values) > 0 for values in shingles], dtype=bool)
    pairs = []
    for left, right in candidate_pairs(signatures, settings.bands, usable).tolist():
        score = jaccard(shingles[left], shingles[right])
        if score >= settings.threshold:
            pairs.append((left, right, score))
    return pairs


def opening(text: str, words: int = 8) -> tuple[str, ...]:
    """The first few words of a text, lowercased: a copy keeps them, an update or follow-up rewrites them."""
    return tuple(WORD.findall(text[: words * 40].lower())[:words])


def is_copy(left: GroupingItem, right: GroupingItem, exact: bool) -> bool:
    """Whether a near-identical pair is a republication rather than a new version of the same text.

    Identical paragraphs are a copy wherever they appear. A close but not identical text is a copy only when
    two different, known sources carry it from the same opening words: an outlet reworking its own piece (BBC
    has dozens) or a text re-run under a new lead ("Update: ...") is a version in its own right.
    """
    if exact:
        return True
    if not (left.source and right.source and left.source != right.source):
        return False
    return opening(left.text) == opening(right.text)


class _Forest:
    """Union-find over item indices."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, index: int) -> int:
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def union(self, left: int, right: int) -> None:
        self.parent[self.find(left)] = self.find(right)


def find_duplicates(
    items: list[GroupingItem],
    settings: DuplicateSettings | None = None,
    known: set[ItemId] | None = None,
    previous: dict[ItemId, ItemId] | None = None,
    pairs: list[tuple[int, int, float]] | None = None,
) -> dict[ItemId, ItemId]:
    """Map each copy's id to the id of the earliest item of its copy group; originals are absent.

    `known` are the ids an earlier run already grouped and `previous` its copies: their decisions never change,
    and a new copy of an old group points at that group's original. `pairs` are the `similar_text_pairs` of
    `items`, when the caller already has them.
    """
    settings = settings or DuplicateSettings()
    known = known or set()
    previous = previous or {}
    if pairs is None:
        pairs = similar_text_pairs(items, settings)
    keys = [exact_text_key(item.text) for item in items]
    forest = _Forest(len(items))
    first_with_text: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key:
            forest.union(index, first_with_text.setdefault(key, index))
    for left, right, _ in pairs:
        if is_copy(items[left], items[right], keys[left] == keys[right]):
            forest.union(left, right)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(items)):
        groups[forest.find(index)].append(index)
    duplicate_of = {item_id: original for item_id, original in previous.items() if item_id in known}
    for members in groups.values():
        if len(members) == 1:
            continue
        members.sort(key=lambda index: order_key(items[index]))
        old = [items[index].id for index in members if items[index].id in known]
        # A group an earlier run saw keeps its original, even when a late-crawled copy turns out to be older.
        original = previous.get(old[0], old[0]) if old else items[members[0]].id
        for index in members:
            item_id = items[index].id
            if item_id not in known and item_id != original:
                duplicate_of[item_id] = original
    return duplicate_of
