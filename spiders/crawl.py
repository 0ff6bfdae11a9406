"""Crawling sources in batches, each batch a Scrapy child process with a timeout that really kills."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.spiders.scrapy_settings import scrapy_settings
from signpost.store.records import Source
from signpost.store.sources import abandon_crawl, finish_crawl, move_source, start_crawl

ProgressCallback = Callable[[int, int], None]


@dataclass
class CrawlReport:
    """Totals of one crawl over many sources, and each source's outcome."""

    sources_ok: int = 0
    sources_failed: int = 0
    sources_not_modified: int = 0
    # Sources the batch's deadline left unvisited: not failed, and due again on the next run.
    sources_deferred: int = 0
    items_found: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    seconds: float = 0.0
    failures: dict[int, str] = field(default_factory=dict)
    stats: list[dict] = field(default_factory=list)

    def add(self, other: CrawlReport) -> None:
        for name in (
            "sources_ok",
            "sources_failed",
            "sources_not_modified",
            "sources_deferred",
            "items_found",
            "pages_fetched",
            "pages_failed",
            "seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.update(other.failures)
        self.stats.extend(other.stats)


def child_deadline(batch_timeout: float) -> float:
    """The wall-clock moment the child stops its own crawl: early enough to write its report before the hard kill."""
    margin = max(3.0, min(30.0, 0.2 * batch_timeout))
    return time.time() + max(batch_timeout - margin, 0.5 * batch_timeout)


def batches(sources: list[Source], size: int) -> list[list[Source]]:
    return [sources[start : start + size] for start in range(0, len(sources), size)]


def _job(settings: Settings, batch: list[Source]) -> dict:
    return {
        "store_url": settings.store_url,
        "scrapy_settings": scrapy_settings(settings),
        "spider_options": {
            "max_pages": settings.max_pages_per_source,
            "max_depth": settings.listing_max_depth,
            "deadline_at": child_deadline(settings.crawl_batch_timeout),
        },
        "sources": [
            {
                "id": source.id,
                "url": source.url,
                "kind": source.kind,
                "options": source.options,
                "etag": source.etag,
                "last_modified": source.last_modified,
            }
            for source in batch
        ],
    }


def crawl_batch(engine: Engine, settings: Settings, batch: list[Source]) -> CrawlReport:
    """Crawl a batch in a child process and record every source's outcome, even when the child dies."""
    crawl_ids = {source.id: start_crawl(engine, source.id) for source in batch}
    report = CrawlReport()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="signpost-crawl-") as folder:
        job_path, report_path = Path(folder, "job.json"), Path(folder, "report.json")
        job_path.write_text(json.dumps(_job(settings, batch)))
        failure = None
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "signpost.spiders.crawl_child", str(job_path), str(report_path)],
                timeout=settings.crawl_batch_timeout,
                capture_output=True,
                text=True,
            )
            if completed.returncode != 0:
                tail = completed.stderr.strip().splitlines()[-3:]
                failure = f"crawl process failed (exit {completed.returncode}): {' | '.join(tail)}"
        except subprocess.TimeoutExpired:
            failure = f"crawl process killed after {settings.crawl_batch_timeout:.0f} s"
        child_report = json.loads(report_path.read_text()) if report_path.exists() else None
    report.seconds = time.monotonic() - started
    outcomes = {item["source_id"]: item for item in (child_report or {}).get("sources", [])}
    if child_report:
        report.stats.append(child_report.get("stats", {}))
    for source in batch:
        outcome = outcomes.get(source.id)
        if outcome is None:
            outcome = {
                "source_id": source.id,
                "ok": False,
                "error": failure or "no report from the crawl process",
                "items_found": 0,
                "pages_fetched": 0,
                "pages_failed": 0,
                "page_errors": [],
                "not_modified": False,
            }
        _record_outcome(engine, settings, crawl_ids[source.id], outcome, report)
    return report


def _cut_short(settings: Settings, outcome: dict) -> tuple[bool, str | None]:
    """(ok, error) for a source the batch's deadline interrupted; "waiting" ones are left to the next run."""
    timeout = f"SIGNPOST_CRAWL_BATCH_TIMEOUT ({settings.crawl_batch_timeout:.0f} s)"
    if outcome.get("cut_off") == "running":
        fetched = outcome.get("pages_fetched", 0)
        return False, f"timed out: still fetching when the batch reached {timeout}, after {fetched} pages"
    return bool(outcome["ok"]), outcome.get("error")


def _record_outcome(engine: Engine, settings: Settings, crawl_id: int, outcome: dict, report: CrawlReport) -> None:
    if outcome.get("cut_off") == "waiting":
        abandon_crawl(engine, crawl_id, "not reached before the batch's deadline; crawled again on the next run")
        report.sources_deferred += 1
        return
    ok, error = _cut_short(settings, outcome)
    outcome = {**outcome, "ok": ok}
    page_errors = outcome.get("page_errors", [])
    if page_errors:
        listed = "; ".join(page_errors[:5]) + (f"; and {len(page_errors) - 5} more" if len(page_errors) > 5 else "")
        error = f"{error}; {listed}" if error else f"{len(page_errors)} page(s) failed: {listed}"
    notes = outcome.get("notes", [])
    if ok and notes:
        # A healthy source's note: it stays healthy, and the admin sees what was mended.
        error = "; ".join(["note: " + "; ".join(notes), *([error] if error else [])])
    if ok and outcome.get("moved_to") and move_source(engine, outcome["source_id"], outcome["moved_to"]):
        moved = f"moved permanently to {outcome['moved_to']}; the source now points there"
        error = f"{error}; {moved}" if error else f"note: {moved}"
    finish_crawl(
        engine,
        crawl_id,
        ok=ok,
        items_found=outcome["items_found"],
        pages_fetched=outcome["pages_fetched"],
        pages_failed=outcome["pages_failed"],
        error=error,
        not_modified=bool(outcome.get("not_modified")),
        etag=outcome.get("etag"),
        last_modified=outcome.get("last_modified"),
        check_minutes=settings.source_check_minutes,
        backoff_max_hours=settings.failure_backoff_max_hours,
    )
    if ok:
        report.sources_ok += 1
        report.sources_not_modified += int(bool(outcome.get("not_modified")))
    else:
        report.sources_failed += 1
        report.failures[outcome["source_id"]] = error or "failed"
    report.items_found += outcome["items_found"]
    report.pages_fetched += outcome["pages_fetched"]
    report.pages_failed += outcome["pages_failed"]


def crawl_sources(
    engine: Engine, settings: Settings, sources: list[Source], progress: ProgressCallback | None = None
) -> CrawlReport:
    """Crawl the sources batch by batch; ``progress(done, total)`` is called after each batch."""
    total = CrawlReport()
    done = 0
    for batch in batches(sources, settings.crawl_batch_size):
        total.add(crawl_batch(engine, settings, batch))
        done += len(batch)
        if progress:
            progress(done, len(sources))
    return total
