"""Entry point of the crawl child process: ``python -m spiders.crawl_child JOB.json REPORT.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scrapy.crawler import CrawlerProcess

from signpost.spiders.source_spider import SourcesSpider


def run(job_path: Path, report_path: Path) -> int:
    job = json.loads(job_path.read_text())
    process = CrawlerProcess(job["scrapy_settings"], install_root_handler=True)
    crawler = process.create_crawler(SourcesSpider)
    process.crawl(crawler, sources=job["sources"], store_url=job["store_url"], **job.get("spider_options", {}))
    process.start()
    spider: SourcesSpider = crawler.spider
    report = {"sources": spider.report_dicts(), "stats": _plain_stats(crawler.stats.get_stats())}
    # Written to a temporary name first, so the parent never reads half a report.
    partial = report_path.with_suffix(".partial")
    partial.write_text(json.dumps(report))
    partial.replace(report_path)
    return 0


def _plain_stats(stats: dict) -> dict:
    return {key: value if isinstance(value, int | float | str) else str(value) for key, value in stats.items()}


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]), Path(sys.argv[2])))
