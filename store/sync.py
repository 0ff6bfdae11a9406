"""Making the store match a sources-and-communities file: communities, topics, curators, webhooks, then sources.

Discovering what to crawl at a site lives in spiders/, which store/ may not import, so ``sync_file`` takes it as
plain functions, as ``web.hooks.WebHooks`` hands discovery to the web app. ``signpost sync`` passes
``spiders.registry.add_source_from_url`` and ``spiders.urls.check_source_url``:

    sync_file(engine, settings, path, discover=add_source_from_url, check_url=check_source_url)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine

from signpost.config.files import load_signpost_file
from signpost.config.models import CommunityConfig, SourceConfig
from signpost.config.settings import Settings
from signpost.store.communities import save_community
from signpost.store.records import Source
from signpost.store.sources import get_source, list_sources, save_source, set_source_enabled
from signpost.store.users import save_user, set_curator
from signpost.store.webhooks import save_webhooks

# Called as discover(engine, settings, url, communities=[...], name=..., options={...}): finds a feed, sitemap or
# listing page at the URL and saves it as a source; raises ValueError or LookupError saying why it could not.
DiscoverSource = Callable[..., object]
# Called as check_url(url, allow_private, allowed_networks): raises ValueError for a URL Signpost must not fetch.
CheckURL = Callable[[str, bool, list[str]], object]
# The options a file declares; anything else in a source's options (its discovered fallbacks) is the store's own.
DECLARED_OPTIONS = ("allow", "deny", "max_depth", "max_pages")


@dataclass
class SyncReport:
    communities: list[str] = field(default_factory=list)
    sources_added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def sync_file(
    engine: Engine, settings: Settings, path: Path, *, discover: DiscoverSource, check_url: CheckURL
) -> SyncReport:
    """Make the store match a sources-and-communities file: communities first, then sources.

    Topics the file no longer lists are archived, not deleted (their labels and published items stay), and come
    back when the file lists them again. Sources of kind ``auto`` are discovered; a source that cannot be
    reached is reported, and the rest proceed.
    """
    declared = load_signpost_file(path)
    report = SyncReport()
    for community in declared.communities:
        sync_community(engine, community)
        report.communities.append(community.slug)
    known = {source.site_url: source for source in list_sources(engine)}
    for declared_source in declared.sources:
        url = str(declared_source.url)
        try:
            sync_source(engine, settings, declared_source, known.get(url), discover, check_url)
            report.sources_added.append(url)
        except (ValueError, LookupError) as error:
            report.problems.append(f"{path}: source {url}: {error}")
    return report


def sync_community(engine: Engine, community: CommunityConfig) -> int:
    """Save a declared community with its topics, webhooks and curators; returns its id."""
    community_id = save_community(
        engine,
        slug=community.slug,
        name=community.name,
        description=community.description,
        timezone=community.timezone,
        schedule=community.schedule,
        items_per_topic=community.items_per_topic,
        # Only a file that declares draft rules replaces them; else what the admin page set stays.
        draft_rules=community.draft.model_dump(exclude_none=True) if "draft" in community.model_fields_set else None,
        topic_list=[
            {
                "slug": topic.slug,
                "name": topic.name,
                "description": topic.description,
                "keywords_must": topic.keywords.must,
                "keywords_exclude": topic.keywords.exclude,
                "examples": topic.examples,
            }
            for topic in community.topics
        ],
    )
    save_webhooks(engine, community_id, [(str(hook.url), hook.format) for hook in community.webhooks])
    for email in community.curators:
        # Curators named in a file sign in by emailed link until they set a password.
        set_curator(engine, save_user(engine, email), community_id)
    return community_id


def declared_options(declared: SourceConfig) -> dict:
    """The crawl options the file gives; 0 is a value (``max_depth: 0`` keeps a listing to its first page)."""
    values = {key: getattr(declared, key) for key in DECLARED_OPTIONS}
    return {key: value for key, value in values.items() if value is not None and value != []}


def sync_source(
    engine: Engine,
    settings: Settings,
    declared: SourceConfig,
    known: Source | None,
    discover: DiscoverSource,
    check_url: CheckURL,
) -> None:
    """Save one declared source: discovered when new and of kind auto, else saved as declared."""
    url = str(declared.url)
    options = declared_options(declared)
    if known is None and declared.kind == "auto":
        discover(engine, settings, url, communities=declared.communities, name=declared.name, options=options)
        if not declared.enabled:
            set_source_enabled(engine, get_source(engine, url).id, False)
        return
    check_url(url, settings.allow_private_addresses, settings.allowed_networks)
    if known is not None:
        # What discovery found (the fallbacks a broken feed is crawled by) stays; the file's own options replace.
        kept = {key: value for key, value in known.options.items() if key not in DECLARED_OPTIONS}
        options = {**kept, **options}
    save_source(
        engine,
        url=known.url if known is not None else url,
        site_url=url,
        name=declared.name or (known.name if known is not None else urlsplit(url).hostname or url),
        kind=declared.kind if declared.kind != "auto" else known.kind,
        options=options,
        community_slugs=declared.communities,
        enabled=declared.enabled,
    )
