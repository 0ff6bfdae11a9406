"""The grouping stage: new articles become copies of an earlier original or join (or start) a story."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine

from signpost.classify.grouping import Grouping, GroupingItem, GroupingSettings, extend_grouping
from signpost.store.groups import GroupingRow, grouped_ids_between, grouping_rows, save_grouping, ungrouped_article_ids


@dataclass
class GroupReport:
    articles: int = 0
    duplicates: int = 0
    stories_joined: int = 0
    stories_started: int = 0
    seconds: float = 0.0


def _item(row: GroupingRow) -> GroupingItem:
    return GroupingItem(
        id=row.id, title=row.title, text=row.text, published=row.published, source=row.source, vector=row.vector
    )


def group_pending(engine: Engine, model: str, grouping: GroupingSettings | None = None) -> GroupReport:
    """Group the articles no grouping has seen, against the grouped ones within the story window of them.

    Stories are keyed by the id of the article that started them, so a story's key is its id in the store
    and old articles keep their stories when new ones arrive.
    """
    grouping = grouping or GroupingSettings()
    started = time.monotonic()
    report = GroupReport()
    new_rows = grouping_rows(engine, ungrouped_article_ids(engine), model)
    if not new_rows:
        return report
    dates = [row.published for row in new_rows]
    neighbour_ids = grouped_ids_between(engine, min(dates) - grouping.window, max(dates) + grouping.window)
    old_rows = grouping_rows(engine, neighbour_ids, model)
    previous = Grouping(
        duplicate_of={row.id: row.duplicate_of for row in old_rows if row.duplicate_of is not None},
        story_of={row.id: str(row.story_id) for row in old_rows if row.story_id is not None},
    )
    result = extend_grouping([_item(row) for row in old_rows], previous, [_item(row) for row in new_rows], grouping)

    new_ids = {row.id for row in new_rows}
    published = {row.id: row.published for row in [*old_rows, *new_rows]}
    story_of = {article_id: int(result.story_of[article_id]) for article_id in new_ids}
    touched = {str(story) for story in story_of.values()}
    representative = {int(key): result.representative[key] for key in touched}
    first_published = {int(key): min(published[member] for member in result.members[key]) for key in touched}
    duplicate_of = {article_id: result.duplicate_of[article_id] for article_id in new_ids & set(result.duplicate_of)}
    save_grouping(engine, story_of, duplicate_of, representative, first_published)

    old_stories = {row.story_id for row in old_rows}
    report.articles = len(new_rows)
    report.duplicates = len(duplicate_of)
    report.stories_joined = len({story for story in story_of.values() if story in old_stories})
    report.stories_started = len(set(story_of.values()) - old_stories)
    report.seconds = time.monotonic() - started
    return report
