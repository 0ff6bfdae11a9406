"""The classify flow: embed new articles, group them into copies and stories, score them for each community."""

from __future__ import annotations

import functools
import time
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger, task

from signpost.classify.embed_stage import embed_chunk, embed_pending, pending_chunks
from signpost.classify.embedding import Embedder, model_name
from signpost.classify.group_stage import group_pending
from signpost.classify.score_stage import score_community
from signpost.config.settings import load_settings
from signpost.flows.runtime import EMBED, STORE_WIDE, dask_task_runner, named_after
from signpost.store.communities import get_community, list_communities
from signpost.store.db import connect


@task(task_run_name="embed new articles", timeout_seconds=3600, tags=[STORE_WIDE])
def embed_task() -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        logger = get_run_logger()

        def log_progress(done: int, total: int) -> None:
            logger.info("embedded %d/%d articles", done, total)

        report = embed_pending(engine, settings, progress=log_progress)
    return {"model": report.model, "articles": report.articles, "seconds": round(report.seconds, 2)}


@functools.cache
def shared_embedder(model: str, batch_size: int, cache_dir: Path, max_tokens: int | None = None) -> Embedder:
    """One embedder per Dask worker process (loading the model costs more than embedding a chunk), running one
    text at a time: Dask already runs a task per core, and more runs than cores only queue for them."""
    return Embedder(model, batch_size, cache_dir=cache_dir, parallel_runs=1, max_tokens=max_tokens)


@task(retries=1, retry_delay_seconds=10, task_run_name="embed {label}", timeout_seconds=3600, tags=[EMBED])
def embed_chunk_task(article_ids: list[int], label: str = "") -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        embedder = shared_embedder(
            settings.embedding_model,
            settings.embedding_batch_size,
            settings.var_dir / "models",
            settings.embedding_max_tokens,
        )
        report = embed_chunk(engine, embedder, article_ids)
    return {"model": report.model, "articles": report.articles}


@flow(name="embed-fanned-out", flow_run_name="embed-fanned-out", log_prints=True)
def embed_fanned_out_flow() -> dict:
    """Embedding spread over a Dask cluster in chunks of article ids; each vector depends on its text only."""
    logger = get_run_logger()
    started = time.monotonic()
    settings = load_settings()
    with connect(settings) as engine:
        chunks = pending_chunks(
            engine, model_name(settings.embedding_model, settings.embedding_max_tokens), size=settings.dask_chunk_size
        )
    logger.info("embedding %d articles in %d chunks", sum(map(len, chunks)), len(chunks))
    futures = embed_chunk_task.map(chunks, label=[f"chunk {index + 1}/{len(chunks)}" for index in range(len(chunks))])
    embedded = 0
    for done, future in enumerate(futures, start=1):
        embedded += future.result()["articles"]
        logger.info("chunk %d/%d embedded: %d articles so far", done, len(futures), embedded)
    model = model_name(settings.embedding_model, settings.embedding_max_tokens)
    return {"model": model, "articles": embedded, "seconds": round(time.monotonic() - started, 2)}


@task(task_run_name="group new articles", timeout_seconds=3600, tags=[STORE_WIDE])
def group_task(model: str) -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        report = group_pending(engine, model)
    get_run_logger().info(
        "grouped %d articles: %d copies, %d joined stories, %d new stories",
        report.articles,
        report.duplicates,
        report.stories_joined,
        report.stories_started,
    )
    return {
        "articles": report.articles,
        "duplicates": report.duplicates,
        "stories_joined": report.stories_joined,
        "stories_started": report.stories_started,
        "seconds": round(report.seconds, 2),
    }


@task(task_run_name="score {community}", timeout_seconds=3600)
def score_task(community: str, since: datetime | None = None) -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        report = score_community(engine, get_community(engine, community), Embedder.from_settings(settings), since)
    get_run_logger().info(
        "scored %d articles for %d topics of %s (%d decisions learned from)",
        report.articles,
        report.topics,
        community,
        report.decisions,
    )
    return {
        "articles": report.articles,
        "topics": report.topics,
        "decisions": report.decisions,
        "without_vector": report.without_vector,
        "seconds": round(report.seconds, 2),
    }


@flow(name="classify", flow_run_name=named_after("classify"), log_prints=True)
def classify_flow(community: str | None = None, since: datetime | None = None) -> dict:
    """Embed, group, then score every community (or one); each stage only does what is new. Embedding is fanned
    out over Dask when SIGNPOST_DASK_ADDRESS names a cluster."""
    settings = load_settings()
    if settings.dask_address:
        runner = dask_task_runner(settings.dask_address, settings.dask_workers)
        embedded = embed_fanned_out_flow.with_options(task_runner=runner)()
    else:
        embedded = embed_task()
    grouped = group_task(embedded["model"])
    with connect(settings) as engine:
        slugs = [community] if community else [found.slug for found in list_communities(engine)]
    scored = {slug: score_task(slug, since) for slug in slugs}
    return {"embed": embedded, "group": grouped, "score": scored}
