"""``signpost bench``: the benchmarks of BENCHMARKS.md, each running the pipeline's own code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from signpost.cli.context import console, progress_bar

app = typer.Typer(help="Measure quality and speed on the benchmark data sets.", no_args_is_help=True)


@app.command("extraction")
def extraction(
    dataset: Annotated[Path, typer.Argument(help="Folder with html/<id>.html.gz and ground-truth.json.", exists=True)],
    out: Annotated[Path | None, typer.Option(help="Write predictions JSON here.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N pages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Signpost's extraction beside bare trafilatura.extract, same pages, same run: F1, P, R and ms/page."""
    from signpost.bench.extraction import format_extraction_table, run_extraction_bench

    with progress_bar("extracting", on_stderr=as_json) as update:
        result = run_extraction_bench(dataset, out=out, limit=limit, progress=update)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(format_extraction_table(result))


@app.command("pipeline")
def pipeline(
    sites: Annotated[int, typer.Option(help="Sites in the fixture web.")] = 50,
    articles_per_site: Annotated[int, typer.Option(help="Articles each site publishes.")] = 40,
    corpus: Annotated[
        list[Path] | None,
        typer.Option(help="Ranking-set folder whose articles the sites publish (repeatable); the demo's by default."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """The whole week on the fixture web, run twice: time and throughput per stage, peak memory, re-run cost."""
    from signpost.bench.pipeline import format_pipeline_table, run_pipeline_bench
    from signpost.fixtureweb import DEMO_CORPUS

    with progress_bar("pipeline", on_stderr=as_json) as update:
        result = run_pipeline_bench(
            corpus or [DEMO_CORPUS], sites, articles_per_site, progress=lambda stage, done, total: update(done, total)
        )
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(format_pipeline_table(result))


@app.command("ranking")
def ranking(
    dataset: Annotated[Path, typer.Argument(help="Folder with articles.jsonl and topics.yaml.", exists=True)],
    feedback: Annotated[int, typer.Option(help="Approvals and rejections drawn per topic before scoring.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the draw of feedback labels.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write one {id, topic, score} line per article and topic.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Topic ranking (MAP, nDCG@10, P@10), zero-shot or after feedback, beside the softmax baseline."""
    from signpost.bench.ranking import format_ranking_table, run_ranking_bench

    with console.status("embedding and scoring"):
        result = run_ranking_bench(dataset, feedback=feedback, seed=seed, out=out)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(format_ranking_table(result))


@app.command("clustering")
def clustering(
    dataset: Annotated[Path, typer.Argument(help="Folder with articles.jsonl, a story per article.", exists=True)],
    out: Annotated[Path | None, typer.Option(help="Write one {id, cluster, duplicate_of} line per article.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Story clusters and copies: B-cubed and pairwise precision, recall and F1 against the set's stories."""
    from signpost.bench.clustering import format_clustering_table, run_clustering_bench

    with console.status("embedding and grouping"):
        result = run_clustering_bench(dataset, out=out)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(format_clustering_table(result))


@app.command("delivery")
def delivery(
    members: Annotated[int, typer.Option(help="Members the digest goes to, each following 1-3 topics.")] = 10000,
    topics: Annotated[int, typer.Option(help="Topics of the community (at most 7), 5 items each.")] = 6,
    connections: Annotated[int, typer.Option(help="SMTP connections used at once (by each process).")] = 1,
    processes: Annotated[int, typer.Option(help="Sender processes, each with its connections.")] = 1,
    database_url: Annotated[
        str | None, typer.Option(help="An empty store to use instead of a temporary SQLite file.")
    ] = None,
    smtp: Annotated[
        str | None, typer.Option(help="Send into this SMTP server (HOST:PORT), e.g. Postfix's smtp-sink.")
    ] = None,
    postfix: Annotated[bool, typer.Option(help="Start Postfix's smtp-sink on loopback and send into it.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """A digest for N members rendered and handed to an SMTP server (a local aiosmtpd one unless --smtp or
    --postfix): emails/s to render and to send; into --smtp or --postfix, Postfix's smtp-source is the anchor."""
    from signpost.bench.delivery import format_delivery_table, run_delivery_bench

    with progress_bar("sending", on_stderr=as_json) as update:
        result = run_delivery_bench(
            members,
            topics=topics,
            connections=connections,
            processes=processes,
            smtp=smtp,
            postfix=postfix,
            store_url=database_url,
            progress=update,
        )
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(format_delivery_table(result))


@app.command("embed")
def embed(
    dataset: Annotated[Path, typer.Argument(help="Folder with articles.jsonl (a ranking set).", exists=True)],
    limit: Annotated[int | None, typer.Option(help="Only the first N articles.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """Signpost's embedder beside plain sentence-transformers, same texts, same run: docs/s, ratio, cosine."""
    from signpost.bench.embedding import format_embedding_table, run_embedding_bench

    with progress_bar("embedding", on_stderr=as_json) as update:
        result = run_embedding_bench(dataset, limit=limit, progress=update)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(format_embedding_table(result))


@app.command("feeds")
def feeds(
    folder: Annotated[Path, typer.Argument(help="Folder of feed documents (every file under it is read).")],
    make: Annotated[
        bool, typer.Option("--make", help="First write real-size feeds from the fixture web into it.")
    ] = False,
    repeat: Annotated[int, typer.Option(help="Rounds over the folder; each figure is the median round.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")] = False,
) -> None:
    """The pipeline's feed parser over a folder of documents beside feedparser: ms/feed, ratio, agreement, crashes."""
    from signpost.bench.feeds import format_feeds_table, make_bench_feeds, run_feeds_bench

    if make:
        make_bench_feeds(folder)
    if not folder.is_dir():
        raise typer.BadParameter(f"{folder} is not a folder (--make writes one)")
    with progress_bar("parsing", on_stderr=as_json) as update:
        result = run_feeds_bench(folder, repeat=repeat, progress=update)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        console.print(format_feeds_table(result), markup=False, highlight=False)
