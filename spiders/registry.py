"""Adding sources the way admins do: from a URL (with discovery), from OPML, or from a YAML file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine

from signpost.config.files import load_signpost_file
from signpost.config.settings import Settings
from signpost.spiders.discovery import Candidate, Discovery, discover
from signpost.spiders.fetch import FetchRules
from signpost.spiders.opml import OpmlSource, read_opml, write_opml
from signpost.spiders.urls import UnsafeURLError, check_source_url, http_url
from signpost.store.communities import save_community
from signpost.store.records import Source
from signpost.store.sources import get_source, list_sources, save_source
from signpost.store.users import save_user, set_curator
from signpost.store.webhooks import save_webhooks


class NothingToCrawlError(ValueError):
    """Discovery found no feed, sitemap or listing page at the URL."""


def _default_name(candidate: Candidate, url: str, discovery: Discovery | None = None) -> str:
    """The feed's title; for a sitemap, which has none, the site's page title, else its host name."""
    titled = [candidate]
    if candidate.kind == "sitemap" and discovery is not None:
        titled = [other for other in discovery.candidates if other.kind != "sitemap"]
    for found in titled:
        if (found.title or "").strip():
            return found.title.strip()[:200]
    return urlsplit(url).hostname or url


def choose_candidate(discovery: Discovery, kind: str = "auto") -> Candidate:
    """The best candidate of the wanted kind; feeds beat sitemaps beat listing pages."""
    candidates = [c for c in discovery.candidates if kind in ("auto", c.kind)]
    if not candidates:
        reasons = "; ".join(discovery.problems) or "no feed, sitemap or article links found"
        wanted = "anything to crawl" if kind == "auto" else f"a {kind}"
        raise NothingToCrawlError(f"found {wanted} at {discovery.input_url}: {reasons}")
    return candidates[0]


def add_source_from_url(
    engine: Engine,
    settings: Settings,
    url: str,
    *,
    communities: list[str] = (),
    name: str | None = None,
    kind: str = "auto",
    options: dict | None = None,
) -> tuple[Source, Discovery]:
    """Discover what to crawl at ``url`` and save it as a source; raises when nothing usable is found."""
    if http_url(url) is None:
        raise UnsafeURLError(f"{url}: not a usable http(s) URL (a malformed host or port?)")
    check_source_url(url, settings.allow_private_addresses, settings.allowed_networks)
    discovery = discover(url, allow_private=settings.allow_private_addresses, rules=FetchRules.from_settings(settings))
    candidate = choose_candidate(discovery, kind)
    # The other ways in, so a crawl can still reach the site's articles when the chosen one breaks.
    fallbacks = [{"kind": other.kind, "url": other.url} for other in discovery.candidates if other.url != candidate.url]
    source_id = save_source(
        engine,
        url=candidate.url,
        site_url=url,
        name=name or _default_name(candidate, url, discovery),
        kind=candidate.kind,
        options={**(options or {}), "fallbacks": fallbacks[:2]},
        community_slugs=list(communities),
    )
    return get_source(engine, source_id), discovery


@dataclass
class SyncReport:
    communities: list[str] = field(default_factory=list)
    sources_added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def sync_file(engine: Engine, settings: Settings, path: Path) -> SyncReport:
    """Make the store match a sources-and-communities file: communities first, then sources.

    Sources of kind ``auto`` are discovered; a source that cannot be reached is reported, and the rest proceed.
    """
    declared = load_signpost_file(path)
    report = SyncReport()
    for community in declared.communities:
        community_id = save_community(
            engine,
            slug=community.slug,
            name=community.name,
            description=community.description,
            timezone=community.timezone,
            schedule=community.schedule,
            items_per_topic=community.items_per_topic,
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
        report.communities.append(community.slug)
    known = {source.site_url: source for source in list_sources(engine)}
    for declared_source in declared.sources:
        url = str(declared_source.url)
        options = {
            key: value
            for key, value in {
                "allow": declared_source.allow,
                "deny": declared_source.deny,
                "max_depth": declared_source.max_depth,
                "max_pages": declared_source.max_pages,
            }.items()
            if value
        }
        try:
            if declared_source.kind != "auto" or url in known:
                kind = declared_source.kind if declared_source.kind != "auto" else known[url].kind
                check_source_url(url, settings.allow_private_addresses, settings.allowed_networks)
                save_source(
                    engine,
                    url=url if url not in known else known[url].url,
                    site_url=url,
                    name=declared_source.name or (known[url].name if url in known else urlsplit(url).hostname or url),
                    kind=kind,
                    options=options,
                    community_slugs=declared_source.communities,
                    enabled=declared_source.enabled,
                )
            else:
                add_source_from_url(
                    engine,
                    settings,
                    url,
                    communities=declared_source.communities,
                    name=declared_source.name,
                    options=options,
                )
            report.sources_added.append(url)
        except (ValueError, LookupError) as error:
            report.problems.append(f"{path}: source {url}: {error}")
    return report


def import_opml(engine: Engine, settings: Settings, path: Path, communities: list[str] = ()) -> SyncReport:
    """Save every feed of an OPML file as a source; a malformed file raises OpmlError naming file and line."""
    report = SyncReport()
    document = read_opml(path.read_bytes(), origin=str(path))
    # Which outlines were skipped, and why, reach the admin (not only the log).
    report.problems.extend(document.warnings)
    for entry in document.sources:
        try:
            check_source_url(entry.url, settings.allow_private_addresses, settings.allowed_networks)
            save_source(
                engine,
                url=entry.url,
                site_url=entry.site_url or entry.url,
                name=entry.title or urlsplit(entry.url).hostname or entry.url,
                kind="feed",
                community_slugs=list(communities),
            )
            report.sources_added.append(entry.url)
        except (ValueError, LookupError) as error:
            report.problems.append(f"{path}: {entry.url}: {error}")
    return report


def export_opml(engine: Engine) -> bytes:
    """All sources as OPML; sitemap and listing sources keep their URL as xmlUrl so a re-import finds them."""
    return write_opml(
        [
            OpmlSource(
                url=source.url,
                site_url=source.site_url,
                title=source.name,
                category=", ".join(source.communities) or None,
            )
            for source in list_sources(engine)
        ],
        title="Signpost sources",
    )
