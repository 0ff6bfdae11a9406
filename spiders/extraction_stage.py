"""The extract stage: every pending page through trafilatura in a process pool (or fanned out), into the store."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.spiders.extract import EXTRACTOR_VERSION, extract_page
from signpost.spiders.templates import drop_template_lines
from signpost.store.articles import known_article_urls, save_article
from signpost.store.pages import (
    StoredPage,
    load_pages,
    load_staged,
    mark_all_for_reextraction,
    pending_page_ids,
    set_extract_state,
    stage_extractions,
    staged_page_ids,
)
from signpost.store.records import ExtractedArticle, Skipped

CHUNK = 256


@dataclass
class ExtractReport:
    pages: int = 0
    new_articles: int = 0
    duplicates: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


Job = tuple[bytes, str, str | None, dict | None, int, datetime | None]


def _job(page: StoredPage, settings: Settings) -> Job:
    """What a worker process needs to extract a page: picklable, without the store."""
    url = page.final_url or page.url
    return (page.body, url, page.encoding, page.feed_entry, settings.min_article_chars, page.fetched_at)


def _extract_one(job: Job) -> ExtractedArticle | Skipped:
    body, url, encoding, feed_entry, min_chars, fetched_at = job
    try:
        # no date after the page was fetched is believed: it was first seen then
        return extract_page(
            body, url, encoding=encoding, feed_entry=feed_entry, min_chars=min_chars, first_seen=fetched_at
        )
    except Exception as error:  # a bad page must never stop the stage
        return Skipped(f"extraction failed: {type(error).__name__}: {error}")


def _record_skip(engine: Engine, page: StoredPage, skipped: Skipped, report: ExtractReport) -> None:
    state = "failed" if skipped.reason.startswith("extraction failed") else "skipped"
    report.failed += state == "failed"
    report.skipped += state == "skipped"
    set_extract_state(engine, [(page.id, state, skipped.reason, None)])


def _save(engine: Engine, page: StoredPage, result: ExtractedArticle | Skipped, report: ExtractReport) -> None:
    report.pages += 1
    if isinstance(result, Skipped):
        _record_skip(engine, page, result, report)
        return
    if result.canonical_url not in known_article_urls(engine, [result.canonical_url]) and page.source_id is not None:
        result = drop_template_lines(engine, result, page.source_id)
    _, is_new = save_article(
        engine, result, page_id=page.id, source_id=page.source_id, page_url=page.url, extractor=EXTRACTOR_VERSION
    )
    report.new_articles += is_new
    report.duplicates += not is_new


def extract_pending(
    engine: Engine,
    settings: Settings,
    *,
    rerun: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExtractReport:
    """Extract every page waiting for it (all stored pages with ``rerun``); idempotent and resumable."""
    chunks = pending_chunks(engine, rerun=rerun)
    total = sum(map(len, chunks))
    report = ExtractReport()
    started = time.monotonic()
    workers = workers or settings.extract_workers or os.cpu_count() or 1
    # spawn, not fork: the stage may run inside Prefect's worker threads, where forking is unsafe.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        done = 0
        for page_ids in chunks:
            loaded = load_pages(engine, page_ids)
            jobs = [_job(page, settings) for page in loaded]
            for page, result in zip(loaded, pool.map(_extract_one, jobs, chunksize=8), strict=True):
                _save(engine, page, result, report)
            done += len(page_ids)
            if progress:
                progress(done, total)
    report.seconds = time.monotonic() - started
    return report


def pending_chunks(engine: Engine, *, rerun: bool = False, size: int = CHUNK) -> list[list[int]]:
    """The pending pages (every page with ``rerun``) in URL order, as chunks of ids."""
    if rerun:
        mark_all_for_reextraction(engine)
    page_ids = pending_page_ids(engine)
    return [page_ids[start : start + size] for start in range(0, len(page_ids), size)]


def extract_chunk(engine: Engine, settings: Settings, page_ids: list[int]) -> ExtractReport:
    """Extract some pages in this process and stage the articles; `save_staged` then stores them in URL order.

    Workers finish in any order, and the first of two exact copies to be saved is the one the other is recorded
    against, so saving waits for one ordered pass: a fanned-out run stores exactly what a single process does.
    """
    report = ExtractReport()
    started = time.monotonic()
    staged: list[tuple[int, dict]] = []
    for page in load_pages(engine, page_ids):
        result = _extract_one(_job(page, settings))
        report.pages += 1
        if isinstance(result, Skipped):
            _record_skip(engine, page, result, report)
        else:
            staged.append((page.id, _as_json(result)))
    stage_extractions(engine, staged)
    report.seconds = time.monotonic() - started
    return report


def save_staged(engine: Engine, progress: Callable[[int, int], None] | None = None) -> ExtractReport:
    """Store every staged article, in URL order; counts new articles and duplicates."""
    page_ids = staged_page_ids(engine)
    report = ExtractReport()
    started = time.monotonic()
    for start in range(0, len(page_ids), CHUNK):
        for page, extracted in load_staged(engine, page_ids[start : start + CHUNK]):
            _save(engine, page, _from_json(extracted), report)
        if progress:
            progress(min(start + CHUNK, len(page_ids)), len(page_ids))
    report.seconds = time.monotonic() - started
    return report


def _as_json(article: ExtractedArticle) -> dict:
    values = asdict(article)
    if article.published_at is not None:
        values["published_at"] = article.published_at.isoformat()
    return values


def _from_json(values: dict) -> ExtractedArticle:
    if values.get("published_at"):
        values = {**values, "published_at": datetime.fromisoformat(values["published_at"])}
    return ExtractedArticle(**values)
