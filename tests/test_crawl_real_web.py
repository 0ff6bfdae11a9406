"""Whole crawls of feeds as real sites publish them: mended, recovered, moved, and a batch with one slow source."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from signpost.spiders.crawl import CrawlReport, _record_outcome, crawl_sources
from signpost.store.schema import crawls, pages
from signpost.store.sources import get_source, list_sources, save_source, start_crawl

pytestmark = pytest.mark.slow

ARTICLE = (
    b"<html><head><title>%s</title></head><body><article><h1>%s</h1><p>Words words words.</p></article></body></html>"
)


def feed(*links: str) -> bytes:
    items = "".join(
        f"<item><title>Caf&eacute; &mdash; {n}</title><link>{link}</link></item>" for n, link in enumerate(links)
    )
    return f'\n\n<?xml version="1.0"?><rss version="2.0"><channel><title>T & co</title>{items}</channel></rss>'.encode()


class Web:
    """A small site on 127.0.0.1: fixed routes, redirects, and paths that answer slowly."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.slow: dict[str, float] = {}
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(web.slow.get(self.path, 0))
                status, headers, body = web.routes.get(self.path, (404, {}, b"not found"))
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the crawler gave up on a slow answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def page(self, path: str) -> str:
        self.routes[path] = (200, {"Content-Type": "text/html"}, ARTICLE % (path.encode(), path.encode()))
        return self.url + path


@pytest.fixture
def web() -> Iterator[Web]:
    site = Web()
    yield site
    site.server.shutdown()
    site.server.server_close()


def add_feed(engine, url: str) -> int:
    return save_source(engine, url=url, site_url=url, name=url.rsplit("/", 1)[-1], kind="feed")


def test_mended_recovered_and_moved_feeds_through_the_crawl(engine, settings, web) -> None:
    rss = {"Content-Type": "application/rss+xml"}
    web.routes["/mended.xml"] = (200, rss, feed(web.page("/a/one?id=5&page=2"), web.page("/a/two")))
    web.routes["/truncated.xml"] = (200, rss, feed(web.page("/a/three"), web.page("/a/lost"))[:-60])
    web.routes["/old.xml"] = (301, {"Location": "/moved.xml"}, b"")
    web.routes["/moved.xml"] = (200, rss, feed(web.page("/a/four")))
    web.routes["/for-now.xml"] = (302, {"Location": "/elsewhere.xml"}, b"")
    web.routes["/elsewhere.xml"] = (200, rss, feed(web.page("/a/five")))
    ids = {name: add_feed(engine, web.url + f"/{name}.xml") for name in ("mended", "truncated", "old", "for-now")}

    report = crawl_sources(engine, settings, list_sources(engine))

    assert (report.sources_ok, report.sources_failed) == (4, 0), report.failures
    mended = get_source(engine, ids["mended"])
    assert (mended.health.consecutive_failures, mended.health.last_error, mended.health.last_item_count) == (0, None, 2)
    truncated = get_source(engine, ids["truncated"])
    assert truncated.health.consecutive_failures == 0 and truncated.health.last_success_at is not None
    assert truncated.health.last_error.startswith(f"note: broken feed at {web.url}/truncated.xml, recovered 1 entries")
    moved = get_source(engine, ids["old"])
    assert moved.url == web.url + "/moved.xml"
    assert f"moved permanently to {web.url}/moved.xml" in moved.health.last_error
    assert get_source(engine, ids["for-now"]).url == web.url + "/for-now.xml"
    with engine.connect() as connection:
        stored = {row.url: row.status for row in connection.execute(select(pages.c.url, pages.c.status))}
    assert stored == {
        web.url + "/a/one?id=5&page=2": 200,
        web.url + "/a/two": 200,
        web.url + "/a/three": 200,
        web.url + "/a/four": 200,
        web.url + "/a/five": 200,
    }


def test_one_slow_source_does_not_fail_its_batch(engine, settings, web) -> None:
    rss = {"Content-Type": "application/rss+xml"}
    web.routes["/fast.xml"] = (200, rss, feed(web.page("/a/quick")))
    web.routes["/slow.xml"] = (200, rss, feed(web.page("/a/sluggish")))
    web.slow["/a/sluggish"] = 30
    fast, slow = add_feed(engine, web.url + "/fast.xml"), add_feed(engine, web.url + "/slow.xml")
    settings.crawl_batch_timeout = 8
    settings.download_timeout = 60

    started = time.monotonic()
    report = crawl_sources(engine, settings, list_sources(engine))

    assert time.monotonic() - started < 8
    assert (report.sources_ok, report.sources_failed) == (1, 1)
    assert get_source(engine, fast).health.consecutive_failures == 0
    slow_health = get_source(engine, slow).health
    assert slow_health.consecutive_failures == 1
    assert slow_health.last_error.startswith("timed out: still fetching when the batch reached SIGNPOST_CRAWL_BATCH")


def test_a_source_the_deadline_never_reached_is_left_for_the_next_run(engine, settings) -> None:
    source_id = add_feed(engine, "https://news.example.org/feed.xml")
    crawl_id = start_crawl(engine, source_id)
    outcome = {"source_id": source_id, "ok": False, "cut_off": "waiting", "items_found": 0, "pages_fetched": 0,
               "pages_failed": 0}  # fmt: skip
    report = CrawlReport()
    _record_outcome(engine, settings, crawl_id, outcome, report)
    assert (report.sources_deferred, report.sources_failed) == (1, 0)
    health = get_source(engine, source_id).health
    assert (health.consecutive_failures, health.next_check_at) == (0, None)
    with engine.connect() as connection:
        error = connection.scalar(select(crawls.c.error).where(crawls.c.id == crawl_id))
    assert error.startswith("not reached before the batch's deadline")
