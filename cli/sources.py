"""``signpost sources``: add (with discovery), list, show, enable, disable, remove, OPML import and export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from signpost.cli.context import console, errors, settings_and_store
from signpost.spiders.opml import OpmlError
from signpost.spiders.registry import NothingToCrawlError, add_source_from_url, export_opml, import_opml
from signpost.spiders.urls import UnsafeURLError
from signpost.store.pages import fetch_failures
from signpost.store.sources import (
    UnknownSourceError,
    get_source,
    list_sources,
    recent_crawls,
    remove_source,
    set_source_enabled,
)

app = typer.Typer(help="Add and look after the sites Signpost watches.", no_args_is_help=True)


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _status(source, failing_after: int) -> str:
    if not source.enabled:
        return "[dim]disabled[/dim]"
    if source.health.consecutive_failures >= failing_after:
        return f"[red]FAILING x{source.health.consecutive_failures}[/red]"
    if source.health.consecutive_failures:
        return f"[yellow]failed x{source.health.consecutive_failures}[/yellow]"
    return "[green]ok[/green]" if source.health.last_success_at else "new"


@app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Any page of the site, a feed or a sitemap.")],
    community: Annotated[list[str] | None, typer.Option("--community", "-c", help="Community it serves.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name; the feed's title by default.")] = None,
    kind: Annotated[str, typer.Option(help="auto, feed, sitemap or listing.")] = "auto",
) -> None:
    """Discover feeds, sitemaps or listing pages at URL, show a sample, and save the best as a source."""
    settings, engine = settings_and_store()
    try:
        source, discovery = add_source_from_url(
            engine, settings, url, communities=community or [], name=name, kind=kind
        )
    # ValueError also covers a --name with control characters, which the store refuses.
    except (UnsafeURLError, NothingToCrawlError, ValueError, LookupError) as error:
        errors.print(f"[red]Cannot add {escape(url)}:[/red] {escape(str(error))}")
        raise typer.Exit(1) from error
    table = Table(title=Text(f"Found at {url}"))
    for column in ("kind", "url", "title", "items"):
        table.add_column(column)
    for candidate in discovery.candidates:
        table.add_row(candidate.kind, Text(candidate.url), Text(candidate.title or ""), str(candidate.item_count))
    console.print(table)
    chosen = next(c for c in discovery.candidates if c.url == source.url)
    for entry in chosen.sample:
        console.print(f"  - {escape(entry.title or entry.url)}  [dim]{escape(entry.url)}[/dim]")
    for problem in discovery.problems:
        console.print(f"  [dim]note: {escape(problem)}[/dim]")
    console.print(
        f"[green]Saved source {source.id}[/green] ({source.kind}) {escape(source.name)}: {escape(source.url)}"
    )


@app.command("list")
def list_(community: Annotated[str | None, typer.Option(help="Only this community's sources.")] = None) -> None:
    """Every source with its health: last attempt and success, failures, items found, next check."""
    settings, engine = settings_and_store()
    table = Table()
    for column in ("id", "name", "kind", "status", "last attempt", "last success", "items", "next check", "last error"):
        table.add_column(column, overflow="fold")
    for source in list_sources(engine, community=community):
        health = source.health
        table.add_row(
            str(source.id),
            Text(source.name),
            source.kind,
            _status(source, settings.failing_after),
            _when(health.last_attempt_at),
            _when(health.last_success_at),
            "-" if health.last_item_count is None else str(health.last_item_count),
            _when(health.next_check_at),
            Text((health.last_error or "")[:120]),
        )
    console.print(table)


@app.command("show")
def show(source: Annotated[str, typer.Argument(help="Source id, URL or name.")]) -> None:
    """One source in full: settings, health, recent crawls and failed pages."""
    settings, engine = settings_and_store()
    try:
        found = get_source(engine, source)
    except UnknownSourceError as error:
        errors.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(1) from error
    state = "enabled" if found.enabled else "disabled"
    console.print(f"[bold]{escape(found.name)}[/bold] (source {found.id}, {found.kind}, {state})")
    console.print(
        Text(f"  crawls {found.url}\n  site   {found.site_url}\n  communities: {', '.join(found.communities) or '-'}")
    )
    console.print(
        f"  status: {_status(found, settings.failing_after)}; last error: {escape(found.health.last_error or '-')}"
    )
    table = Table(title="Recent crawls")
    for column in ("started", "ok", "items", "fetched", "failed", "error"):
        table.add_column(column, overflow="fold")
    for crawl in recent_crawls(engine, found.id):
        table.add_row(
            _when(crawl["started_at"]),
            "304" if crawl["not_modified"] else str(crawl["ok"]),
            str(crawl["items_found"]),
            str(crawl["pages_fetched"]),
            str(crawl["pages_failed"]),
            Text((crawl["error"] or "")[:200]),
        )
    console.print(table)
    failed = fetch_failures(engine, found.id)
    if failed:
        console.print("[bold]Pages that could not be fetched[/bold]")
        for page in failed:
            console.print(Text(f"  {page['url']}: {page['error']} (attempts {page['attempts']})"))


def _set_enabled(source: str, enabled: bool) -> None:
    _, engine = settings_and_store()
    try:
        found = get_source(engine, source)
        set_source_enabled(engine, found.id, enabled)
    except UnknownSourceError as error:
        errors.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(1) from error
    console.print(f"Source {found.id} {'enabled' if enabled else 'disabled'}.")


@app.command("disable")
def disable(source: Annotated[str, typer.Argument(help="Source id, URL or name.")]) -> None:
    """Stop crawling a source, keeping its articles and history."""
    _set_enabled(source, False)


@app.command("enable")
def enable(source: Annotated[str, typer.Argument(help="Source id, URL or name.")]) -> None:
    """Crawl a disabled source again."""
    _set_enabled(source, True)


@app.command("remove")
def remove(source: Annotated[str, typer.Argument(help="Source id, URL or name.")]) -> None:
    """Delete a source; the articles it brought stay."""
    _, engine = settings_and_store()
    try:
        found = get_source(engine, source)
        remove_source(engine, found.id)
    except UnknownSourceError as error:
        errors.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(1) from error
    console.print(f"Source {found.id} removed.")


@app.command("import-opml")
def import_opml_command(
    file: Annotated[Path, typer.Argument(help="OPML file, as exported by a feed reader.", exists=True)],
    community: Annotated[list[str] | None, typer.Option("--community", "-c", help="Community they serve.")] = None,
) -> None:
    """Add every feed listed in an OPML file."""
    settings, engine = settings_and_store()
    try:
        report = import_opml(engine, settings, file, community or [])
    except OpmlError as error:
        errors.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(1) from error
    console.print(Text(f"Imported {len(report.sources_added)} sources from {file}."))
    for problem in report.problems:
        errors.print(f"[yellow]{escape(problem)}[/yellow]")


@app.command("export-opml")
def export_opml_command(
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """Write every source as OPML."""
    _, engine = settings_and_store()
    document = export_opml(engine)
    if out:
        out.write_bytes(document)
        console.print(Text(f"Wrote {out}"))
    else:
        typer.echo(document.decode("utf-8"))
