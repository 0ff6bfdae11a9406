"""The crawl and extract flows: sources to pages (Scrapy child processes), pages to articles (trafilatura)."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner

from config.settings import load_settings
from spiders.crawl import batches, crawl_batch
from spiders.extraction_stage import extract_pending
from store.db import open_store
from store.sources import get_source, list_sources, sources_due


@task(retries=2, retry_delay_seconds=[10, 60], task_run_name="crawl {len_label}")
def crawl_batch_task(source_ids: list[int], len_label: str = "") -> dict:
    """Crawl one batch of sources in a Scrapy child process; returns counts, never pages."""
    settings = load_settings()
    engine = open_store(settings.store_url)
    report = crawl_batch(engine, settings, [get_source(engine, source_id) for source_id in source_ids])
    engine.dispose()
    return {
        "sources_ok": report.sources_ok,
        "sources_failed": report.sources_failed,
        "not_modified": report.sources_not_modified,
        "pages_fetched": report.pages_fetched,
        "pages_failed": report.pages_failed,
        "failures": {str(key): value for key, value in report.failures.items()},
    }


@flow(name="crawl", task_runner=ThreadPoolTaskRunner(max_workers=2), log_prints=True)
def crawl_flow(community: str | None = None, all_sources: bool = False) -> dict:
    """Crawl every source that is due (or all enabled ones), batch by batch."""
    logger = get_run_logger()
    settings = load_settings()
    engine = open_store(settings.store_url)
    due = (
        list_sources(engine, community=community, enabled_only=True, include_shared=True)
        if all_sources
        else sources_due(engine, community=community)
    )
    engine.dispose()
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
        "pages_fetched": 0,
        "pages_failed": 0,
        "failures": {},
    }
    for done, future in enumerate(futures, start=1):
        result = future.result()
        for key in ("sources_ok", "sources_failed", "not_modified", "pages_fetched", "pages_failed"):
            totals[key] += result[key]
        totals["failures"].update(result["failures"])
        logger.info(
            "batch %d/%d done: %d pages fetched so far, %d sources failing",
            done,
            len(futures),
            totals["pages_fetched"],
            totals["sources_failed"],
        )
    return totals


@task(task_run_name="extract pending pages")
def extract_task(rerun: bool = False) -> dict:
    settings = load_settings()
    engine = open_store(settings.store_url)
    logger = get_run_logger()

    def log_progress(done: int, total: int) -> None:
        logger.info("extracted %d/%d pages", done, total)

    report = extract_pending(engine, settings, rerun=rerun, progress=log_progress)
    engine.dispose()
    return {
        "pages": report.pages,
        "new_articles": report.new_articles,
        "duplicates": report.duplicates,
        "skipped": report.skipped,
        "failed": report.failed,
        "seconds": round(report.seconds, 2),
    }


@flow(name="extract", log_prints=True)
def extract_flow(rerun: bool = False) -> dict:
    """Turn every pending page (every page with ``rerun``) into an article or a recorded skip."""
    return extract_task(rerun)
