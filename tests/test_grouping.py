"""Copies and stories: hand-made syndication, time windows, incremental keys, BBC duplicates, the fixture web."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from signpost.bench.clustering import bbc_duplicate_scores, fixture_clustering_set, score_records
from signpost.classify.grouping import GroupingItem, extend_grouping, group_items
from signpost.classify.near_duplicates import find_duplicates

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

VOLUNTEERS = (
    "Volunteer managers across the county met on Tuesday to agree a shared induction programme for new recruits.\n"
    "The programme replaces six separate schemes and will be run by the county council's voluntary sector team.\n"
    "Organisers said the change would cut the time new volunteers wait before starting by about three weeks.\n"
    "Charities taking part will share training rooms, mentors and an online library of short learning modules.\n"
    "A review of the first year is planned for next autumn, when retention figures will be compared."
)
LIBRARY = (
    "The city library will open a digital skills hub next month, offering free sessions for older residents.\n"
    "Staff have been trained to help people set up email, video calls and online banking safely.\n"
    "The hub is funded by a lottery grant and will run on weekday mornings for at least two years."
)
FOODBANK = (
    "Demand at the town's food bank rose by a third over the winter, according to figures released today.\n"
    "Trustees have appealed for more drivers and for donations of tinned vegetables and toiletries.\n"
    "The food bank now supports over four hundred households every month across three distribution points."
)


def item(item_id: int, title: str, text: str, hours: float, source: str, vector: np.ndarray | None = None):
    return GroupingItem(item_id, title, text, T0 + timedelta(hours=hours), source, vector)


def test_syndicated_copies_point_at_the_earliest_original() -> None:
    items = [
        item(1, "Shared induction for volunteers", VOLUNTEERS, 0, "county-news"),
        item(
            2,
            "Republished: Shared induction for volunteers",
            VOLUNTEERS + " This first appeared on county-news.",
            20,
            "charity-hub",
        ),
        item(3, "Guest post: Shared induction", VOLUNTEERS.rsplit("\n", 1)[0], 30, "learning-blog"),
        item(4, "Shared induction for volunteers", VOLUNTEERS, 40, "county-news"),  # an exact copy, same source
        item(5, "Library opens digital hub", LIBRARY, 5, "county-news"),
        item(6, "Food bank demand rises", FOODBANK, 6, "charity-hub"),
    ]
    grouping = group_items(items)
    assert grouping.duplicate_of == {2: 1, 3: 1, 4: 1}
    assert len({grouping.story_of[i] for i in (1, 2, 3, 4)}) == 1
    assert len({grouping.story_of[i] for i in (1, 5, 6)}) == 3
    key = grouping.story_of[1]
    assert grouping.representative[key] == 1
    assert grouping.members[key] == [1, 2, 3, 4]


def test_same_source_rewrite_and_new_lead_are_not_copies() -> None:
    rewritten = VOLUNTEERS.replace("about three weeks", "nearly a month")
    items = [
        item(1, "Shared induction", VOLUNTEERS, 0, "county-news"),
        item(2, "Shared induction (corrected)", rewritten, 5, "county-news"),
        item(3, "Shared induction (update)", "Update: " + VOLUNTEERS, 10, "charity-hub"),
    ]
    assert find_duplicates(items) == {}


def test_representative_is_the_earliest_even_when_listed_last() -> None:
    items = [
        item("b", "Republished: Library hub", LIBRARY + " Shared with permission.", 30, "site-b"),
        item("a", "Library hub", LIBRARY, 2, "site-a"),
    ]
    grouping = group_items(items)
    assert grouping.duplicate_of == {"b": "a"}
    (key,) = grouping.members
    assert grouping.representative[key] == "a"
    assert grouping.members[key] == ["a", "b"]


def _vector(seed: int, base: np.ndarray | None = None, noise: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vector = rng.normal(size=384) if base is None else base + noise * rng.normal(size=384)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def test_stories_from_embeddings_respect_the_window() -> None:
    story = _vector(1)
    items = [
        item(1, "Council backs volunteer induction", "Text one about the scheme.", 0, "a", _vector(2, story, 0.02)),
        item(2, "Volunteer induction scheme agreed", "Another outlet's account.", 48, "b", _vector(3, story, 0.02)),
        item(3, "Volunteer induction, a month on", "Much later coverage.", 24 * 30, "c", _vector(4, story, 0.02)),
        item(4, "Food bank demand rises", "Unrelated.", 1, "d", _vector(5)),
    ]
    grouping = group_items(items)
    assert grouping.story_of[1] == grouping.story_of[2]
    assert grouping.story_of[3] != grouping.story_of[1]  # 30 days apart: outside the 7-day window
    assert grouping.story_of[4] not in {grouping.story_of[1], grouping.story_of[3]}


def test_different_stories_are_not_merged_without_embeddings() -> None:
    items = [
        item(1, "Shared induction for volunteers", VOLUNTEERS, 0, "a"),
        item(2, "Library opens digital hub", LIBRARY, 1, "b"),
        item(3, "Food bank demand rises", FOODBANK, 2, "c"),
    ]
    assert len(group_items(items).members) == 3


def test_incremental_assignment_keeps_old_keys() -> None:
    story = _vector(11)
    old = [
        item(1, "Induction scheme agreed", VOLUNTEERS, 0, "a", _vector(12, story, 0.02)),
        item(2, "Library opens digital hub", LIBRARY, 3, "b", _vector(13)),
    ]
    first = group_items(old)
    new = [
        item(
            3,
            "Republished: Induction scheme agreed",
            VOLUNTEERS + " Shared with thanks.",
            30,
            "c",
            _vector(14, story, 0.02),
        ),
        item(4, "Councils agree volunteer induction", "A fresh account.", 40, "d", _vector(15, story, 0.02)),
        item(5, "Food bank demand rises", FOODBANK, 50, "e", _vector(16)),
    ]
    second = extend_grouping(old, first, new)
    for old_item in old:
        assert second.story_of[old_item.id] == first.story_of[old_item.id]
    assert second.duplicate_of == {3: 1}
    assert second.story_of[3] == second.story_of[4] == first.story_of[1]
    assert second.story_of[5] not in set(first.story_of.values())
    assert second.representative[first.story_of[1]] == 1
    # Running the same extension again changes nothing.
    assert extend_grouping(old + new, second, new) == second


def test_bbc_duplicates_precision_and_recall() -> None:
    path = SHARED_DATA / "bbc" / "articles.jsonl"
    if not path.exists():
        pytest.skip(f"BBC data set not found at {path} (it lives beside the repo, in ../shared/data/bbc)")
    scores = bbc_duplicate_scores(path)
    assert scores["precision"] >= 0.98, scores
    assert scores["recall"] >= 0.98, scores


def test_fixture_web_copies_share_their_originals_story() -> None:
    corpora = [SHARED_DATA / "bbc", SHARED_DATA / "sector-seeds"]
    if not all(folder.exists() for folder in corpora):
        pytest.skip(f"shared corpora not found under {SHARED_DATA} (bbc and sector-seeds)")
    from signpost.fixtureweb import build_fixture_web

    records = fixture_clustering_set(build_fixture_web(corpora, sites=10, articles_per_site=20, seed=7))
    result, grouping = score_records(records, embed=None)
    copies = [record for record in records if record["duplicate_of"]]
    assert copies
    for record in copies:
        assert grouping.duplicate_of.get(record["id"]) == record["duplicate_of"]
        assert grouping.story_of[record["id"]] == grouping.story_of[record["duplicate_of"]]
    assert result["duplicates"]["precision"] == 1.0
    assert result["bcubed"]["recall"] == 1.0
