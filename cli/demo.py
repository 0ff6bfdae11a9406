"""``signpost demo``: the fixture web on loopback, its sites added as sources, crawled, extracted and listed."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cli.context import console, errors

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO_PORT = 8321


def demo_corpora() -> list[Path]:
    """The corpora the demo's fixture web publishes."""
    corpora = [SHARED_DATA / "sector-seeds", SHARED_DATA / "bbc"]
    found = [path for path in corpora if (path / "articles.jsonl").exists()]
    if not found:
        errors.print(f"[red]No corpus for the fixture web:[/red] looked in {SHARED_DATA}.")
        raise typer.Exit(1)
    return found


def run_demo(*, sites: int, articles_per_site: int, port: int = DEMO_PORT) -> None:
    # The fixture web lives on loopback, which sources may only use when this is allowed.
    os.environ["SIGNPOST_ALLOW_PRIVATE_ADDRESSES"] = "true"
    from cli.context import settings_and_store
    from cli.main import articles, run_crawl_and_extract
    from cli.sources import list_
    from fixtureweb import FixtureServer, build_fixture_web
    from spiders.registry import NothingToCrawlError, add_source_from_url

    settings, engine = settings_and_store()
    web = build_fixture_web(demo_corpora(), sites=sites, articles_per_site=articles_per_site)
    console.print(f"Fixture web: {len(web.sites)} sector sites, {len(web.truth)} articles, on 127.0.x.y:{port}")
    try:
        server = FixtureServer(web, port=port, slow_seconds=settings.download_timeout + 5)
        server.start()
    except OSError as error:
        errors.print(f"[red]Cannot serve the fixture web on port {port}:[/red] {error}")
        raise typer.Exit(1) from error
    try:
        for site in web.sites:
            try:
                source, _ = add_source_from_url(engine, settings, site.base_url, name=site.name)
                console.print(f"  source {source.id}: {site.name} ({source.kind}) {source.url}")
            except NothingToCrawlError as error:
                console.print(f"  [yellow]{site.name}: {error}[/yellow]")
        crawled, extracted = run_crawl_and_extract(community=None, all_sources=True)
        console.print(
            f"Crawl: {crawled['pages_fetched']} pages fetched, {crawled['pages_failed']} failed; "
            f"extraction: {extracted['new_articles']} new articles, {extracted['duplicates']} duplicates, "
            f"{extracted['skipped']} skipped."
        )
        again, _ = run_crawl_and_extract(community=None, all_sources=True)
        console.print(
            f"Crawling again fetched {again['pages_fetched']} pages; {again['not_modified']} of "
            f"{again['sources']} sources answered 'not modified'."
        )
    finally:
        server.stop()
    list_(community=None)
    articles(limit=15)
    console.print(f"The store is {settings.store_url}.")
