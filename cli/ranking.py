"""``signpost classify``, ``rank`` and ``decide``: ranked candidates per topic, with reasons, and curators' labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from signpost.cli.context import console, errors, run_with_progress, settings_and_store


def _since(value: str | None, days: int) -> datetime:
    if value is None:
        return datetime.now(UTC) - timedelta(days=days)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-16") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_classify(community: str | None, since: datetime | None) -> dict:
    """The classify flow, with a progress bar that follows the embedding stage through the store."""
    from signpost.classify.embedding import model_name
    from signpost.flows.classification import classify_flow
    from signpost.store.articles import count_articles
    from signpost.store.vectors import count_without_vector

    settings, engine = settings_and_store()
    total = count_articles(engine)
    return run_with_progress(
        "embedding, grouping and scoring",
        lambda: classify_flow(community=community, since=since),
        lambda: (
            total - count_without_vector(engine, model_name(settings.embedding_model, settings.embedding_max_tokens)),
            total,
        ),
    )


def classify(
    community: Annotated[str | None, typer.Option(help="Only score this community's topics.")] = None,
    since: Annotated[str | None, typer.Option(help="Score articles from this day (default: 14 days back).")] = None,
) -> None:
    """Embed new articles, group copies and stories, and score articles for every topic (Prefect flow)."""
    result = run_classify(community, _since(since, 14))
    grouped = result["group"]
    console.print(
        f"Embedded {result['embed']['articles']} articles; grouped {grouped['articles']}: "
        f"{grouped['duplicates']} copies, {grouped['stories_started']} new stories, "
        f"{grouped['stories_joined']} stories joined."
    )
    for slug, scored in result["score"].items():
        console.print(
            f"{slug}: {scored['articles']} articles scored for {scored['topics']} topics, "
            f"learning from {scored['decisions']} decisions."
        )


def rank(
    community: Annotated[str, typer.Option(help="The community, by its slug.")],
    since: Annotated[str | None, typer.Option(help="Articles dated from this day (default: 7 days ago).")] = None,
    limit: Annotated[int, typer.Option(help="Candidates shown per topic.")] = 5,
    refresh: Annotated[bool, typer.Option(help="Embed, group and score what is new first.")] = True,
) -> None:
    """The top candidates of each of a community's topics, with the reasons they are there."""
    from signpost.store.candidates import draft_candidates
    from signpost.store.communities import get_community

    _, engine = settings_and_store()
    try:
        found = get_community(engine, community)
    except LookupError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    start = _since(since, 7)
    if refresh:
        run_classify(community, start)
    ranked = draft_candidates(engine, found.id, start, datetime.now(UTC) + timedelta(days=1), pool_per_topic=limit)
    for topic in found.topics:
        table = Table(title=f"{topic.name} ({topic.slug})", show_lines=True)
        for column in ("article", "score", "title", "source", "why"):
            table.add_column(column, overflow="fold")
        for candidate in ranked.get(topic.id, []):
            also = f" (also {', '.join(other.source for other in candidate.other_sources)})"
            table.add_row(
                str(candidate.article_id),
                f"{candidate.score:.2f}",
                candidate.title,
                candidate.source + (also if candidate.other_sources else ""),
                "\n".join(candidate.reasons),
            )
        console.print(table if table.row_count else f"[dim]{topic.name}: no candidates since {start:%Y-%m-%d}[/dim]")


def decide(
    community: Annotated[str, typer.Argument(help="The community, by its slug.")],
    topic: Annotated[str, typer.Argument(help="The topic, by its slug.")],
    article: Annotated[int, typer.Argument(help="The article's id (as `signpost rank` shows it).")],
    verdict: Annotated[str, typer.Argument(help="approve or reject.")],
    by: Annotated[str | None, typer.Option(help="Who decided (a curator's email).")] = None,
) -> None:
    """Approve or reject an article for a topic: the ranking learns from it on its next run."""
    from sqlalchemy.exc import IntegrityError

    from signpost.store.communities import get_community
    from signpost.store.scores import record_decision

    if verdict not in ("approve", "reject"):
        raise typer.BadParameter("verdict must be approve or reject")
    _, engine = settings_and_store()
    try:
        found = get_community(engine, community)
        topic_id = next(t.id for t in found.topics if t.slug == topic)
    except (LookupError, StopIteration) as error:
        errors.print(f"[red]No topic {topic!r} in community {community!r}.[/red]")
        raise typer.Exit(1) from error
    try:
        record_decision(engine, topic_id, article, verdict, actor=by)
    except IntegrityError as error:
        errors.print(f"[red]Cannot record the decision:[/red] there is no article {article}.")
        raise typer.Exit(1) from error
    console.print(f"Recorded: {verdict} article {article} for {found.name} / {topic}.")
