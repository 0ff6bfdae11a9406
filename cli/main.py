"""The ``signpost`` command: sources, sync, crawl, extract, articles, benchmarks and the demo."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from signpost.bench import commands as bench
from signpost.cli import digests, mail, ranking, running, sources, users
from signpost.cli.context import console, errors, run_with_progress, settings_and_store
from signpost.config.files import ConfigError

app = typer.Typer(
    help="Signpost: watch the sector's sources and draft weekly digests for communities of practice.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(sources.app, name="sources")
app.add_typer(bench.app, name="bench")
app.command()(ranking.classify)
app.command()(ranking.rank)
app.command()(ranking.decide)
app.add_typer(digests.app, name="digests")
app.add_typer(users.app, name="users")
app.add_typer(mail.app, name="mail")
app.command()(running.weekly)
app.command()(running.web)
app.command()(running.serve)
app.command()(running.deploy)


@app.command()
def migrate() -> None:
    """Bring the store's schema to this version's newest migration (once, under a lock; others wait)."""
    from signpost.config.settings import load_settings
    from signpost.store.db import head_revision, open_store
    from signpost.store.db import migrate as migrate_store

    engine = open_store(load_settings().store_url)
    try:
        applied = migrate_store(engine)
    finally:
        engine.dispose()
    if applied:
        console.print(f"Migrated the store to {head_revision()} ({len(applied)} migrations applied).")
    else:
        console.print(f"The store is already at {head_revision()}.")


@app.command()
def sync(file: Annotated[Path, typer.Argument(help="YAML file of communities, topics and sources.")]) -> None:
    """Make the store match a sources-and-communities file (errors name the file, line and field)."""
    from signpost.spiders.registry import add_source_from_url
    from signpost.spiders.urls import check_source_url
    from signpost.store.sync import sync_file

    settings, engine = settings_and_store()
    try:
        report = sync_file(engine, settings, file, discover=add_source_from_url, check_url=check_source_url)
    except ConfigError as error:
        errors.print(f"[red]{file} is not valid:[/red]\n{error}")
        raise typer.Exit(1) from error
    console.print(f"Communities: {', '.join(report.communities) or '-'}; sources saved: {len(report.sources_added)}")
    for problem in report.problems:
        errors.print(f"[yellow]{problem}[/yellow]")
    if report.problems:
        raise typer.Exit(1)


def run_crawl_and_extract(community: str | None, all_sources: bool) -> tuple[dict, dict]:
    """The crawl flow then the extract flow, with progress bars that read the store."""
    from signpost.flows.ingest import crawl_flow, extract_flow
    from signpost.store.pages import page_counts
    from signpost.store.sources import crawls_finished_since, list_sources, sources_due

    _, engine = settings_and_store()
    due = (
        list_sources(engine, community=community, enabled_only=True, include_shared=True)
        if all_sources
        else sources_due(engine, community=community)
    )
    started = datetime.now(UTC)
    crawled = run_with_progress(
        "crawling sources",
        lambda: crawl_flow(community=community, all_sources=all_sources),
        lambda: (crawls_finished_since(engine, started), len(due)),
    )
    pending = page_counts(engine).get("pending", 0)
    extracted = run_with_progress(
        "extracting articles",
        lambda: extract_flow(),
        lambda: (pending - page_counts(engine).get("pending", 0), pending),
    )
    return crawled, extracted


@app.command()
def crawl(
    community: Annotated[str | None, typer.Option(help="Only this community's sources.")] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Crawl every enabled source, due or not.")] = False,
) -> None:
    """Crawl the sources that are due, then extract their new pages into articles (Prefect flows)."""
    started = time.monotonic()
    crawled, extracted = run_crawl_and_extract(community, all_sources)
    console.print(
        f"Crawled {crawled['sources']} sources ({crawled['sources_ok']} ok, {crawled['not_modified']} unchanged, "
        f"{crawled['sources_failed']} failed): {crawled['pages_fetched']} pages fetched, "
        f"{crawled['pages_failed']} failed."
    )
    console.print(
        f"Extracted {extracted['pages']} pages: {extracted['new_articles']} new articles, "
        f"{extracted['duplicates']} duplicates, {extracted['skipped']} skipped, {extracted['failed']} failed "
        f"({time.monotonic() - started:.1f} s in all)."
    )
    for source, error in crawled["failures"].items():
        errors.print(f"[yellow]{source}: {error}[/yellow]")


@app.command()
def extract(
    page: Annotated[str | None, typer.Argument(help="A file or URL: print its article as JSON.")] = None,
    rerun: Annotated[bool, typer.Option(help="Extract every stored page again (after an upgrade).")] = False,
) -> None:
    """Extract pending pages into articles; or, given FILE_OR_URL, print that one page's article as JSON."""
    if page is None:
        from signpost.flows.ingest import extract_flow

        settings_and_store()
        console.print(extract_flow(rerun=rerun))
        return
    from signpost.spiders.single_page import extract_file_or_url

    try:
        result = extract_file_or_url(page)
    except (OSError, ValueError) as error:
        errors.print(f"[red]Cannot extract {page}:[/red] {error}")
        raise typer.Exit(1) from error
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False, default=str))


@app.command()
def articles(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """The newest articles in the store, with the sources that carried them."""
    from signpost.store.articles import count_articles, list_articles

    _, engine = settings_and_store()
    table = Table(title=f"{count_articles(engine)} articles in the store")
    for column in ("id", "published", "title", "sources", "words"):
        table.add_column(column, overflow="fold")
    for row in list_articles(engine, limit=limit):
        published = row["published_at"].strftime("%Y-%m-%d") if row["published_at"] else "-"
        table.add_row(str(row["id"]), published, row["title"] or "", ", ".join(row["sources"]), str(row["word_count"]))
    console.print(table)


@app.command()
def demo(
    sites: Annotated[int, typer.Option(help="Sites in the fixture web.")] = 12,
    articles_per_site: Annotated[int, typer.Option(help="Articles each site publishes.")] = 15,
    approve: Annotated[
        bool, typer.Option(help="Approve the draft an earlier demo made (or make one) and send it to var/mail/.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port the fixture web's sites listen on (127.0.x.y).")] = 8321,
    serve: Annotated[
        bool, typer.Option(help="Keep the demo's sites, its mail sink and the web app running until Ctrl-C.")
    ] = False,
    web_port: Annotated[int, typer.Option(help="Port of the web app that --serve runs.")] = 8000,
) -> None:
    """A demo consortium on a fixture web of sector sites: its weekly run drafts a digest for review; --approve
    approves and sends that draft, --serve serves the demo to review it in a browser."""
    from signpost.cli.demo import run_demo

    run_demo(
        sites=sites, articles_per_site=articles_per_site, approve=approve, serve=serve, port=port, web_port=web_port
    )


if __name__ == "__main__":
    app()
