"""Sources, the communities they serve, and their health: what admins add and watch."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, or_, select, update

from signpost.config.models import plain_name
from signpost.store.db import dialect_insert, utcnow
from signpost.store.records import Source, SourceHealth
from signpost.store.schema import communities, community_sources, crawls, sources


class UnknownSourceError(LookupError):
    """No source has that id or URL."""


def _source(row, community_slugs: list[str]) -> Source:
    return Source(
        id=row.id,
        url=row.url,
        site_url=row.site_url,
        name=row.name,
        kind=row.kind,
        enabled=row.enabled,
        options=row.options or {},
        communities=community_slugs,
        health=SourceHealth(
            last_attempt_at=row.last_attempt_at,
            last_success_at=row.last_success_at,
            consecutive_failures=row.consecutive_failures,
            last_error=row.last_error,
            last_item_count=row.last_item_count,
            next_check_at=row.next_check_at,
        ),
        etag=row.etag,
        last_modified=row.last_modified,
    )


def _communities_of(connection, source_ids: list[int]) -> dict[int, list[str]]:
    if not source_ids:
        return {}
    query = (
        select(community_sources.c.source_id, communities.c.slug)
        .join(communities, communities.c.id == community_sources.c.community_id)
        .where(community_sources.c.source_id.in_(source_ids))
        .order_by(communities.c.slug)
    )
    found: dict[int, list[str]] = {}
    for source_id, slug in connection.execute(query):
        found.setdefault(source_id, []).append(slug)
    return found


def save_source(
    engine: Engine,
    *,
    url: str,
    site_url: str,
    name: str,
    kind: str,
    options: dict | None = None,
    community_slugs: list[str] = (),
    enabled: bool = True,
) -> int:
    """Insert a source, or update the one with the same URL; returns its id. Unknown communities raise."""
    plain_name(name)
    with engine.begin() as connection:
        community_ids = {}
        for slug in community_slugs:
            community_id = connection.scalar(select(communities.c.id).where(communities.c.slug == slug))
            if community_id is None:
                raise LookupError(f"no community {slug!r}; add it first (signpost sync FILE.yaml)")
            community_ids[slug] = community_id
        existing = connection.scalar(select(sources.c.id).where(sources.c.url == url))
        values = dict(site_url=site_url, name=name, kind=kind, options=options or {}, enabled=enabled)
        if existing is None:
            existing = connection.execute(
                sources.insert().values(url=url, created_at=utcnow(), consecutive_failures=0, **values)
            ).inserted_primary_key[0]
        else:
            connection.execute(update(sources).where(sources.c.id == existing).values(**values))
        for community_id in community_ids.values():
            connection.execute(
                dialect_insert(connection, community_sources)
                .values(community_id=community_id, source_id=existing)
                .on_conflict_do_nothing()
            )
        return existing


def get_source(engine: Engine, key: int | str) -> Source:
    """A source by id, URL or name."""
    with engine.connect() as connection:
        if isinstance(key, int) or str(key).isdigit():
            condition = sources.c.id == int(key)
        else:
            condition = or_(sources.c.url == key, sources.c.site_url == key, sources.c.name == key)
        row = connection.execute(select(sources).where(condition).order_by(sources.c.id)).first()
        if row is None:
            raise UnknownSourceError(f"no source {key!r}")
        return _source(row, _communities_of(connection, [row.id]).get(row.id, []))


def list_sources(
    engine: Engine, *, community: str | None = None, enabled_only: bool = False, include_shared: bool = False
) -> list[Source]:
    """Sources by id; ``community`` keeps that community's, and with ``include_shared`` those serving everyone."""
    with engine.connect() as connection:
        query = select(sources).order_by(sources.c.id)
        if enabled_only:
            query = query.where(sources.c.enabled.is_(True))
        if community:
            own = sources.c.id.in_(
                select(community_sources.c.source_id)
                .join(communities, communities.c.id == community_sources.c.community_id)
                .where(communities.c.slug == community)
            )
            # A source named for no community serves them all.
            linked_anywhere = select(community_sources.c.source_id).where(community_sources.c.source_id == sources.c.id)
            shared = ~linked_anywhere.exists()
            query = query.where(or_(own, shared) if include_shared else own)
        rows = connection.execute(query).all()
        linked = _communities_of(connection, [row.id for row in rows])
        return [_source(row, linked.get(row.id, [])) for row in rows]


def sources_due(engine: Engine, now: datetime | None = None, *, community: str | None = None) -> list[Source]:
    """Enabled sources whose next check has come (or that were never checked): the community's and shared ones."""
    now = now or utcnow()
    return [
        source
        for source in list_sources(engine, community=community, enabled_only=True, include_shared=True)
        if source.health.next_check_at is None or source.health.next_check_at <= now
    ]


def set_source_enabled(engine: Engine, source_id: int, enabled: bool) -> None:
    with engine.begin() as connection:
        changed = connection.execute(update(sources).where(sources.c.id == source_id).values(enabled=enabled))
        if changed.rowcount == 0:
            raise UnknownSourceError(f"no source {source_id}")


def remove_source(engine: Engine, source_id: int) -> None:
    """Delete a source; its articles stay (other sources or the archive may need them)."""
    with engine.begin() as connection:
        removed = connection.execute(delete(sources).where(sources.c.id == source_id))
        if removed.rowcount == 0:
            raise UnknownSourceError(f"no source {source_id}")


def start_crawl(engine: Engine, source_id: int) -> int:
    """Record that a crawl of the source began; returns the crawl's id."""
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(update(sources).where(sources.c.id == source_id).values(last_attempt_at=now))
        return connection.execute(
            crawls.insert().values(source_id=source_id, started_at=now, items_found=0, pages_fetched=0, pages_failed=0)
        ).inserted_primary_key[0]


def backoff(consecutive_failures: int, check_minutes: int, max_hours: int) -> timedelta:
    """How long to wait before the next check: doubling with each failure, capped."""
    if consecutive_failures <= 0:
        return timedelta(minutes=check_minutes)
    return min(timedelta(minutes=check_minutes * 2**consecutive_failures), timedelta(hours=max_hours))


def finish_crawl(
    engine: Engine,
    crawl_id: int,
    *,
    ok: bool,
    items_found: int,
    pages_fetched: int,
    pages_failed: int,
    error: str | None = None,
    not_modified: bool = False,
    etag: str | None = None,
    last_modified: str | None = None,
    check_minutes: int = 60,
    backoff_max_hours: int = 72,
) -> None:
    """Close a crawl and update its source's health: success resets the failure count, failure backs off."""
    now = utcnow()
    with engine.begin() as connection:
        source_id = connection.scalar(select(crawls.c.source_id).where(crawls.c.id == crawl_id))
        connection.execute(
            update(crawls)
            .where(crawls.c.id == crawl_id)
            .values(
                finished_at=now,
                ok=ok,
                not_modified=not_modified,
                items_found=items_found,
                pages_fetched=pages_fetched,
                pages_failed=pages_failed,
                error=error,
            )
        )
        failures = connection.scalar(select(sources.c.consecutive_failures).where(sources.c.id == source_id)) or 0
        failures = 0 if ok else failures + 1
        values: dict = dict(
            consecutive_failures=failures,
            next_check_at=now + backoff(failures, check_minutes, backoff_max_hours),
            last_error=error,
        )
        if ok:
            values.update(last_success_at=now, last_item_count=items_found)
            if etag is not None or last_modified is not None:
                values.update(etag=etag, last_modified=last_modified)
        connection.execute(update(sources).where(sources.c.id == source_id).values(**values))


def recent_crawls(engine: Engine, source_id: int, limit: int = 10) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(crawls).where(crawls.c.source_id == source_id).order_by(crawls.c.id.desc()).limit(limit)
        ).mappings()
        return [dict(row) for row in rows]


def count_sources(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(sources)) or 0


def crawls_finished_since(engine: Engine, since: datetime) -> int:
    """How many source crawls have finished since a moment: the crawl's progress, seen from any process."""
    with engine.connect() as connection:
        return (
            connection.scalar(
                select(func.count())
                .select_from(crawls)
                .where(crawls.c.started_at >= since, crawls.c.finished_at.is_not(None))
            )
            or 0
        )


def abandon_crawl(engine: Engine, crawl_id: int, reason: str) -> None:
    """Close a crawl that never got its turn (its batch ran out of time): the source's health and next check stay."""
    with engine.begin() as connection:
        connection.execute(
            update(crawls).where(crawls.c.id == crawl_id).values(finished_at=utcnow(), ok=False, error=reason)
        )


def move_source(engine: Engine, source_id: int, url: str) -> bool:
    """Point a source at the URL its feed or sitemap moved to for good; False when another source has that URL."""
    with engine.begin() as connection:
        taken = connection.scalar(select(sources.c.id).where(sources.c.url == url, sources.c.id != source_id))
        if taken is not None:
            return False
        connection.execute(update(sources).where(sources.c.id == source_id).values(url=url))
        return True
