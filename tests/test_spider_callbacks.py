"""The crawl spider's callbacks and middlewares, on hand-built Scrapy responses: crawler behaviour in milliseconds."""

from __future__ import annotations

import pytest
from scrapy import Request, Spider
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from signpost.spiders.failures import describe_failure
from signpost.spiders.middlewares import (
    PrivateAddressMiddleware,
    PrivateAddressRefused,
    RobotsTxtRefused,
    TooManyRedirects,
    TypedRedirectMiddleware,
    TypedRobotsTxtMiddleware,
)
from signpost.spiders.source_spider import SourcesSpider
from signpost.spiders.urls import AddressRules, resolve_host
from signpost.store.db import open_migrated_store
from signpost.store.sources import save_source

FEED_URL = "https://news.example.org/feed.xml"
SITEMAP_URL = "https://news.example.org/sitemap.txt"
FALLBACK = {"kind": "sitemap", "url": SITEMAP_URL}


@pytest.fixture
def spider(tmp_path):
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_migrated_store(store_url)
    sources = [
        {"url": FEED_URL, "kind": "feed", "options": {"fallbacks": [FALLBACK]}},
        {"url": SITEMAP_URL, "kind": "sitemap", "options": {}},
        {"url": "https://news.example.org/blog/", "kind": "listing", "options": {}},
    ]
    for source in sources:
        source["id"] = save_source(engine, site_url=source["url"], name=source["kind"], **source)
    engine.dispose()
    assert [source["id"] for source in sources] == [1, 2, 3]
    spider = SourcesSpider(sources=sources, store_url=store_url)
    yield spider
    spider.engine.dispose()


def index_request(spider: SourcesSpider, source_id: int) -> Request:
    source = spider.sources[source_id]
    return spider._index_request(source["url"], source, kind=source["kind"], depth=0, conditional=True)


def answer(request: Request, body: bytes, status: int = 200, cls: type[Response] = XmlResponse, **meta) -> Response:
    request.meta.update(meta)
    headers = {"Content-Type": "application/rss+xml"}
    return cls(url=request.url, status=status, body=body, request=request, headers=headers)


def rss(items: str) -> bytes:
    return f"<rss version='2.0'><channel><title>News</title><link>https://news.example.org/</link>{items}</channel></rss>".encode()


def test_a_mended_feed_reads_right_and_leaves_the_source_healthy(spider) -> None:
    body = b"\n\n  " + rss(
        "<item><title>Caf&eacute;&nbsp;au lait &mdash; news</title><link>https://news.example.org/?id=5&page=2</link></item>"
        "<item><title>Two</title><link>https://news.example.org/two-story</link></item>"
    )
    request = index_request(spider, 1)
    requests = list(spider.parse_feed(answer(request, body)))
    assert [r.url for r in requests] == ["https://news.example.org/?id=5&page=2", "https://news.example.org/two-story"]
    assert requests[0].meta["feed_entry"]["title"] == "Café\xa0au lait — news".replace("\xa0", " ")
    report = spider.reports[1]
    assert (report.ok, report.error, report.notes, report.items_found) == (True, None, [], 2)
    assert report.open_requests == 2  # the two article requests; the feed's own was answered


def test_a_recovered_feed_is_healthy_with_a_note_and_its_fallback_is_read_too(spider) -> None:
    body = rss("<item><title>One</title><link>https://news.example.org/one-story</link></item>")[:-30]
    requests = list(spider.parse_feed(answer(index_request(spider, 1), body)))
    assert [r.url for r in requests] == [SITEMAP_URL, "https://news.example.org/one-story"]
    assert requests[0].meta["is_fallback"]
    report = spider.reports[1]
    assert report.ok and report.error is None
    assert report.notes[0].startswith(f"broken feed at {FEED_URL}, recovered 1 entries: XML syntax error at line 1")


def test_a_body_that_is_no_feed_fails_the_source_and_goes_in_by_the_fallback(spider) -> None:
    requests = list(spider.parse_feed(answer(index_request(spider, 1), b"<html><body>Moved</body></html>")))
    assert [r.url for r in requests] == [SITEMAP_URL]
    report = spider.reports[1]
    assert not report.ok
    assert (
        report.error
        == f"broken feed at {FEED_URL}: not a feed: this is an HTML page; used its sitemap {SITEMAP_URL} instead"
    )


@pytest.mark.parametrize(("reasons", "moved"), [([301], True), ([308, 301], True), ([302], False), ([301, 307], False)])
def test_a_permanent_move_is_recorded(spider, reasons, moved) -> None:
    request = index_request(spider, 1)
    assert 301 not in request.meta["handle_httpstatus_list"]  # so the redirect middleware follows it
    response = XmlResponse(
        url="https://new.example.org/feed.xml",
        body=rss("<item><link>https://new.example.org/a-story</link></item>"),
        request=request.replace(
            url="https://new.example.org/feed.xml", meta={**request.meta, "redirect_reasons": reasons}
        ),
    )
    list(spider.parse_feed(response))
    assert spider.reports[1].moved_to == ("https://new.example.org/feed.xml" if moved else None)


def test_not_modified_and_http_errors(spider) -> None:
    list(spider.parse_feed(answer(index_request(spider, 1), b"", status=304)))
    assert spider.reports[1].ok and spider.reports[1].not_modified
    requests = list(spider.parse_sitemap(answer(index_request(spider, 2), b"gone", status=410, cls=TextResponse)))
    assert requests == []
    assert spider.reports[2].error == f"{SITEMAP_URL}: HTTP 410"


def test_a_text_sitemap_with_one_stray_line_keeps_its_urls(spider) -> None:
    body = b"https://news.example.org/one-story\nnot a url\nhttps://news.example.org/two-story\n"
    requests = list(spider.parse_sitemap(answer(index_request(spider, 2), body, cls=TextResponse)))
    assert [r.url for r in requests] == ["https://news.example.org/one-story", "https://news.example.org/two-story"]
    assert spider.reports[2].ok
    assert spider.reports[2].notes == [f"sitemap at {SITEMAP_URL}: skipped 1 line(s) that are not http(s) URLs"]


def test_a_listing_honours_base_href_and_skips_bad_links(spider) -> None:
    html = b"""<html><head><base href="https://news.example.org/stories/"></head><body><main>
      <a href="2024/05/a-story-about-volunteers">A</a><a href="http://example.c[o.test/a-b-c-d">bad</a>
      <a href="http://news.example.org:99999/x-y-z-w">bad port</a></main></body></html>"""
    requests = list(spider.parse_listing(answer(index_request(spider, 3), html, cls=HtmlResponse)))
    assert [r.url for r in requests] == ["https://news.example.org/stories/2024/05/a-story-about-volunteers"]


def failure_of(error: Exception) -> Failure:
    return Failure(error)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RobotsTxtRefused("Forbidden by robots.txt"), "disallowed by robots.txt"),
        (TooManyRedirects("max redirections reached after 5 hops"), "too many redirects"),
        (DownloadCancelledError("Cancelling download: size 9 larger than 5"), "response too large"),
        (DownloadTimeoutError("Getting x took longer than 3 seconds."), "timed out"),
        (DNSLookupError("nowhere.invalid"), "host name not found"),
        (PrivateAddressRefused("10.0.0.1 is a private or loopback address"), "refused: 10.0.0.1"),
        # A message that merely mentions redirects or robots is not mistaken for one.
        (IgnoreRequest("robots.txt redirect timed out"), "IgnoreRequest: robots.txt redirect timed out"),
    ],
)
def test_describe_failure_goes_by_type(error, expected) -> None:
    status, message = describe_failure(failure_of(error))
    assert status == 0
    assert message.startswith(expected)


def test_describe_failure_of_an_http_error() -> None:
    response = TextResponse("https://e.org/x", status=503, request=Request("https://e.org/x"))
    assert describe_failure(failure_of(HttpError(response))) == (503, "HTTP 503")


def test_redirect_middleware_raises_its_own_type_when_the_chain_is_too_long() -> None:
    crawler = get_crawler(Spider, {"REDIRECT_MAX_TIMES": 2})
    crawler.spider = crawler._create_spider("test")
    middleware = TypedRedirectMiddleware.from_crawler(crawler)
    request = Request("https://e.org/a", meta={"redirect_times": 2, "redirect_ttl": 1})
    response = Response("https://e.org/a", status=301, headers={"Location": "/b"}, request=request)
    with pytest.raises(TooManyRedirects, match="after 2 hops"):
        middleware.process_response(request, response)
    followed = middleware.process_response(Request("https://e.org/a"), response)
    assert isinstance(followed, Request) and followed.url == "https://e.org/b"


def test_robots_middleware_raises_its_own_type() -> None:
    crawler = get_crawler(Spider, {"ROBOTSTXT_OBEY": True})
    crawler.spider = crawler._create_spider("test")
    middleware = TypedRobotsTxtMiddleware.from_crawler(crawler)
    parser = ProtegoRobotParser.from_crawler(crawler, b"User-agent: *\nDisallow: /private/\n")
    middleware.process_request_2(parser, Request("https://e.org/public/page"))
    with pytest.raises(RobotsTxtRefused):
        middleware.process_request_2(parser, Request("https://e.org/private/page"))


def test_private_address_middleware_refuses_loopback() -> None:
    with pytest.raises(PrivateAddressRefused):
        PrivateAddressMiddleware(AddressRules(False), resolve_host).process_request(Request("http://127.0.0.1:8080/f"))
    allowed = PrivateAddressMiddleware(AddressRules(True), resolve_host)
    assert allowed.process_request(Request("http://127.0.0.1:8080/")) is None


def test_at_the_deadline_sources_are_finished_running_or_waiting(spider) -> None:
    list(
        spider.parse_feed(
            answer(index_request(spider, 1), rss("<item><link>https://news.example.org/x-y</link></item>"))
        )
    )
    # The feed's article request is open; pretend it reached the downloader.
    spider._reached_downloader(Request(FEED_URL, meta={"source_id": 1}), spider)
    index_request(spider, 2)  # asked for, never downloaded
    list(
        spider.parse_listing(answer(index_request(spider, 3), b"<html><body>no links</body></html>", cls=HtmlResponse))
    )
    spider.mark_cut_off()
    assert [spider.reports[n].cut_off for n in (1, 2, 3)] == ["running", "waiting", None]
