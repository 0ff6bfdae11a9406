"""The item pipeline of the crawl child: fetched pages go to the store in batches."""

from __future__ import annotations

import time

from scrapy import Spider
from scrapy.crawler import Crawler

from signpost.spiders.source_spider import batch_deadline
from signpost.store.db import make_engine
from signpost.store.pages import save_pages
from signpost.store.records import FetchedPage

BATCH = 200
FLUSH_SECONDS = 2.0


class PageWriterPipeline:
    """Buffers pages and writes them in one transaction per batch or every two seconds.

    What a crash loses is at most the last buffer, and those URLs are simply fetched again next time.
    """

    def __init__(self, store_url: str):
        self.engine = make_engine(store_url)
        self.buffer: list[FetchedPage] = []
        self.written = 0
        self.last_flush = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageWriterPipeline:
        pipeline = cls(crawler.settings.get("SIGNPOST_STORE_URL"))
        crawler.signals.connect(pipeline.flush, signal=batch_deadline)
        return pipeline

    def process_item(self, item: FetchedPage, spider: Spider | None = None) -> FetchedPage:
        self.buffer.append(item)
        if len(self.buffer) >= BATCH or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()
        return item

    def flush(self, **signal_arguments: object) -> None:
        self.written += save_pages(self.engine, self.buffer)
        self.buffer = []
        self.last_flush = time.monotonic()

    def close_spider(self, spider: Spider | None = None) -> None:
        self.flush()
        self.engine.dispose()
