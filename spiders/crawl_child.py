"""Entry point of the crawl child process: ``python -m spiders.crawl_child JOB.json REPORT.json``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from scrapy.crawler import CrawlerProcess

from signpost.spiders.source_spider import SourcesSpider, batch_deadline

DEADLINE_GRACE_SECONDS = 1.0


def run(job_path: Path, report_path: Path) -> int:
    job = json.loads(job_path.read_text())
    process = CrawlerProcess({**job["scrapy_settings"], "LOG_INSTALL_ROOT_HANDLER": True})
    crawler = process.create_crawler(SourcesSpider)

    def write_report(spider: SourcesSpider) -> None:
        report = {"sources": spider.report_dicts(), "stats": _plain_stats(crawler.stats.get_stats())}
        # Written to a temporary name first, so the parent never reads half a report.
        partial = report_path.with_suffix(".partial")
        partial.write_text(json.dumps(report))
        partial.replace(report_path)

    def at_deadline(spider: SourcesSpider) -> None:
        # Scrapy's close (and even stopping the reactor) waits for downloads in flight, as long as a slow server
        # likes. The report is written and buffered pages saved now; give the close a moment, then leave.
        write_report(spider)
        from twisted.internet import reactor

        reactor.callLater(DEADLINE_GRACE_SECONDS, _leave)  # type: ignore[attr-defined]

    crawler.signals.connect(at_deadline, signal=batch_deadline)
    process.crawl(crawler, sources=job["sources"], store_url=job["store_url"], **job.get("spider_options", {}))
    process.start()
    write_report(crawler.spider)
    return 0


def _leave() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _plain_stats(stats: dict) -> dict:
    return {key: value if isinstance(value, int | float | str) else str(value) for key, value in stats.items()}


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), Path(sys.argv[2])))
