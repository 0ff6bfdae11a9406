"""Communities and their topics, as declared in config files (and later edited in the web app).

A topic taken out of a community is archived, never deleted: curators' labels and the items of digests already
sent refer to it. An archived topic is neither scored nor drafted nor offered to members; listing it again
brings it back with its history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select, update

from signpost.config.models import plain_name
from signpost.store.db import utcnow
from signpost.store.schema import communities, topics


@dataclass
class Topic:
    id: int
    slug: str
    name: str
    description: str
    keywords_must: list[str] = field(default_factory=list)
    keywords_exclude: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    archived_at: datetime | None = None


@dataclass
class Community:
    id: int
    slug: str
    name: str
    description: str
    timezone: str
    schedule: str
    items_per_topic: int
    topics: list[Topic] = field(default_factory=list)  # in use, in their order
    archived_topics: list[Topic] = field(default_factory=list)
    # Overrides of the SIGNPOST_DRAFT_* settings (digests.drafting.DraftRules), only the keys the community set.
    draft_rules: dict = field(default_factory=dict)

    @property
    def every_topic(self) -> list[Topic]:
        """Topics in use, then archived ones: what a digest already sent may have sections for."""
        return [*self.topics, *self.archived_topics]


def save_community(
    engine: Engine,
    *,
    slug: str,
    name: str,
    description: str = "",
    timezone: str = "Europe/London",
    schedule: str = "0 7 * * MON",
    items_per_topic: int = 5,
    topic_list: list[dict] = (),
    draft_rules: dict | None = None,
) -> int:
    """Insert or update a community and make ``topic_list`` its topics, in that order.

    Topics not listed are archived (their labels and published items stay); an archived topic listed again is
    back in use. Names with control characters raise ValueError. ``draft_rules`` None leaves the community's
    draft rules as they are; a mapping replaces them.
    """
    for checked in (name, *(topic["name"] for topic in topic_list)):
        plain_name(checked)
    values = dict(
        name=name, description=description, timezone=timezone, schedule=schedule, items_per_topic=items_per_topic
    )
    if draft_rules is not None:
        values["draft_rules"] = {key: value for key, value in draft_rules.items() if value is not None}
    with engine.begin() as connection:
        community_id = connection.scalar(select(communities.c.id).where(communities.c.slug == slug))
        if community_id is None:
            community_id = connection.execute(
                communities.insert().values(slug=slug, created_at=utcnow(), **values)
            ).inserted_primary_key[0]
        else:
            connection.execute(update(communities).where(communities.c.id == community_id).values(**values))
        existing = dict(
            connection.execute(select(topics.c.slug, topics.c.id).where(topics.c.community_id == community_id)).all()
        )
        for position, topic in enumerate(topic_list):
            topic_values = dict(
                name=topic["name"],
                description=topic.get("description", ""),
                keywords_must=list(topic.get("keywords_must", [])),
                keywords_exclude=list(topic.get("keywords_exclude", [])),
                examples=[str(url) for url in topic.get("examples", [])],
                position=position,
                archived_at=None,
            )
            if topic["slug"] in existing:
                connection.execute(update(topics).where(topics.c.id == existing[topic["slug"]]).values(**topic_values))
            else:
                connection.execute(
                    topics.insert().values(community_id=community_id, slug=topic["slug"], **topic_values)
                )
        gone = set(existing) - {topic["slug"] for topic in topic_list}
        if gone:
            connection.execute(
                update(topics)
                .where(topics.c.community_id == community_id, topics.c.slug.in_(gone), topics.c.archived_at.is_(None))
                .values(archived_at=utcnow())
            )
        return community_id


def set_draft_rules(engine: Engine, community_id: int, rules: dict) -> None:
    """Replace the community's overrides of the draft settings; keys with None are left to the settings."""
    with engine.begin() as connection:
        connection.execute(
            update(communities)
            .where(communities.c.id == community_id)
            .values(draft_rules={key: value for key, value in rules.items() if value is not None})
        )


def list_communities(engine: Engine) -> list[Community]:
    with engine.connect() as connection:
        rows = connection.execute(select(communities).order_by(communities.c.slug)).all()
        topic_rows = connection.execute(select(topics).order_by(topics.c.community_id, topics.c.position)).all()
    by_community: dict[int, list[Topic]] = {}
    archived: dict[int, list[Topic]] = {}
    for row in topic_rows:
        (by_community if row.archived_at is None else archived).setdefault(row.community_id, []).append(
            Topic(
                row.id,
                row.slug,
                row.name,
                row.description,
                row.keywords_must,
                row.keywords_exclude,
                row.examples,
                row.archived_at,
            )
        )
    return [
        Community(
            row.id,
            row.slug,
            row.name,
            row.description,
            row.timezone,
            row.schedule,
            row.items_per_topic,
            by_community.get(row.id, []),
            archived.get(row.id, []),
            dict(row.draft_rules or {}),
        )
        for row in rows
    ]


def get_community(engine: Engine, slug: str) -> Community:
    for community in list_communities(engine):
        if community.slug == slug:
            return community
    raise LookupError(f"no community {slug!r}")
