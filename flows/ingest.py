"""The crawl and extract flows: sources to pages (Scrapy child processes), pages to articles (trafilatura)."""

from __future__ import annotations

import time

from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner

from signpost.config.settings import load_settings
from signpost.flows.runtime import CRAWL, EXTRACT, STORE_WIDE, dask_task_runner, named_after
from signpost.spiders.crawl import batches, crawl_batch
from signpost.spiders.extraction_stage import extract_chunk, extract_pending, pending_chunks, save_staged
from signpost.store.db import connect
from signpost.store.sources import get_source, list_sources, sources_due


@task(retries=2, retry_delay_seconds=[10, 60], task_run_name="crawl {len_label}", tags=[CRAWL])
def crawl_batch_task(source_ids: list[int], len_label: str = "") -> dict:
    """Crawl one batch of sources in a Scrapy child process; returns counts, never pages."""
    settings = load_settings()
    with connect(settings) as engine:
        report = crawl_batch(engine, settings, [get_source(engine, source_id) for source_id in source_ids])
    return {
        "sources_ok": report.sources_ok,
        "sources_failed": report.sources_failed,
        "not_modified": report.sources_not_modified,
        # Sources the batch's deadline came before: they keep their health and are due again next run.
        "deferred": report.sources_deferred,
        "pages_fetched": report.pages_fetched,
        "pages_failed": report.pages_failed,
        "failures": {str(key): value for key, value in report.failures.items()},
    }


@flow(
    name="crawl",
    flow_run_name=named_after("crawl"),
    task_runner=ThreadPoolTaskRunner(max_workers=2),
    log_prints=True,
)
def crawl_flow(community: str | None = None, all_sources: bool = False) -> dict:
    """Crawl every source that is due (or all enabled ones), batch by batch."""
    logger = get_run_logger()
    settings = load_settings()
    with connect(settings) as engine:
        due = (
            list_sources(engine, community=community, enabled_only=True, include_shared=True)
            if all_sources
            else sources_due(engine, community=community)
        )
    groups = batches(due, settings.crawl_batch_size)
    logger.info("crawling %d sources in %d batches", len(due), len(groups))
    futures = [
        crawl_batch_task.submit([source.id for source in group], len_label=f"batch {index + 1}/{len(groups)}")
        for index, group in enumerate(groups)
    ]
    totals = {
        "sources": len(due),
        "sources_ok": 0,
        "sources_failed": 0,
        "not_modified": 0,
        "deferred": 0,
        "pages_fetched": 0,
        "pages_failed": 0,
        "failures": {},
    }
    # Failures by the source's name and address, which an admin recognises, rather than its id.
    labels = {str(source.id): f"{source.name} <{source.url}>" for source in due}
    for done, future in enumerate(futures, start=1):
        result = future.result()
        for key in ("sources_ok", "sources_failed", "not_modified", "deferred", "pages_fetched", "pages_failed"):
            totals[key] += result[key]
        for source_id, error in result["failures"].items():
            totals["failures"][labels.get(source_id, f"source {source_id}")] = error
        logger.info(
            "batch %d/%d done: %d pages fetched so far, %d sources failing",
            done,
            len(futures),
            totals["pages_fetched"],
            totals["sources_failed"],
        )
    return totals


@task(task_run_name="extract pending pages", tags=[STORE_WIDE])
def extract_task(rerun: bool = False) -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        logger = get_run_logger()

        def log_progress(done: int, total: int) -> None:
            logger.info("extracted %d/%d pages", done, total)

        report = extract_pending(engine, settings, rerun=rerun, progress=log_progress)
    return {
        "pages": report.pages,
        "new_articles": report.new_articles,
        "duplicates": report.duplicates,
        "skipped": report.skipped,
        "failed": report.failed,
        "seconds": round(report.seconds, 2),
    }


@task(retries=1, retry_delay_seconds=10, task_run_name="extract {label}", tags=[EXTRACT])
def extract_chunk_task(page_ids: list[int], label: str = "") -> dict:
    """Extract a chunk of pages on whichever worker runs it; the articles wait, staged, for `save_staged_task`."""
    settings = load_settings()
    with connect(settings) as engine:
        report = extract_chunk(engine, settings, page_ids)
    return {"pages": report.pages, "skipped": report.skipped, "failed": report.failed}


@task(task_run_name="save extracted articles", tags=[STORE_WIDE])
def save_staged_task() -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        logger = get_run_logger()

        def log_progress(done: int, total: int) -> None:
            logger.info("saved %d/%d extracted articles", done, total)

        report = save_staged(engine, progress=log_progress)
    return {"new_articles": report.new_articles, "duplicates": report.duplicates}


@flow(name="extract-fanned-out", flow_run_name="extract-fanned-out", log_prints=True)
def extract_fanned_out_flow(rerun: bool = False) -> dict:
    """Extraction spread over a Dask cluster in chunks of page ids, then saved in one ordered pass."""
    logger = get_run_logger()
    started = time.monotonic()
    settings = load_settings()
    with connect(settings) as engine:
        chunks = pending_chunks(engine, rerun=rerun, size=settings.dask_chunk_size)
    logger.info("extracting %d pages in %d chunks", sum(map(len, chunks)), len(chunks))
    futures = extract_chunk_task.map(chunks, label=[f"chunk {index + 1}/{len(chunks)}" for index in range(len(chunks))])
    totals = {"pages": 0, "new_articles": 0, "duplicates": 0, "skipped": 0, "failed": 0}
    for done, future in enumerate(futures, start=1):
        result = future.result()
        for key in ("pages", "skipped", "failed"):
            totals[key] += result[key]
        logger.info("chunk %d/%d extracted: %d pages so far", done, len(futures), totals["pages"])
    totals.update(save_staged_task())
    totals["seconds"] = round(time.monotonic() - started, 2)
    return totals


@flow(name="extract", flow_run_name="extract", log_prints=True)
def extract_flow(rerun: bool = False) -> dict:
    """Turn every pending page (every page with ``rerun``) into an article or a recorded skip; fanned out over
    Dask when SIGNPOST_DASK_ADDRESS names a cluster."""
    settings = load_settings()
    if settings.dask_address:
        runner = dask_task_runner(settings.dask_address, settings.dask_workers)
        return extract_fanned_out_flow.with_options(task_runner=runner)(rerun)
    return extract_task(rerun)
