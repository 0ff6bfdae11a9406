"""Adding sources the way admins do: from a URL (with discovery) or from OPML (``signpost sync`` is store.sync)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Engine

from signpost.config.models import clean_name
from signpost.config.settings import Settings
from signpost.spiders.discovery import Candidate, Discovery, discover
from signpost.spiders.fetch import FetchRules
from signpost.spiders.opml import OpmlSource, read_opml, write_opml
from signpost.spiders.titles import source_name
from signpost.spiders.urls import UnsafeURLError, check_source_url, http_url
from signpost.store.records import Source
from signpost.store.sources import get_source, list_sources, save_source
from signpost.store.sync import SyncReport


class NothingToCrawlError(ValueError):
    """Discovery found no feed, sitemap or listing page at the URL."""


def _default_name(candidate: Candidate, url: str, discovery: Discovery | None = None) -> str:
    """The feed's title; for a sitemap, which has none, the site's page title, else its host name."""
    titled = [candidate]
    if candidate.kind == "sitemap" and discovery is not None:
        titled = [other for other in discovery.candidates if other.kind != "sitemap"]
    for found in titled:
        # "Latest news | Fundraising Network" is a page title; the source is the site. Controls become spaces.
        if name := source_name(clean_name(found.title or ""), url):
            return name[:200]
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
                name=clean_name(entry.title or "")[:200] or urlsplit(entry.url).hostname or entry.url,
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
