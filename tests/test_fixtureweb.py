"""Tests of the fixture web: deterministic generation, truth that matches what is served, and faults that misbehave."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import lxml.etree
import pytest

from signpost.fixtureweb import FixtureServer, FixtureWeb, build_fixture_web

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BBC = DATA / "bbc"
SEEDS = DATA / "sector-seeds" / "articles.jsonl"
SLOW_SECONDS = 1.5
OVERSIZED_BYTES = 3_000_000
READ_CAP = 256_000

if not BBC.exists():
    pytest.skip(
        f"fixture web tests need the BBC corpus at {BBC} (../shared/data beside the repo)", allow_module_level=True
    )

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
FEED_LINKS = {
    "rss2": "/rss/channel/item/link",
    "rss091": "/rss/channel/item/link",
    "atom": "/*[local-name()='feed']/*[local-name()='entry']/*[local-name()='link']/@href",
    "rss1": "/*[local-name()='RDF']/*[local-name()='item']/*[local-name()='link']",
}


@pytest.fixture(scope="module")
def web() -> FixtureWeb:
    return build_fixture_web([BBC, SEEDS], sites=10, articles_per_site=12, seed=7)


@pytest.fixture(scope="module")
def server(web: FixtureWeb) -> Iterator[FixtureServer]:
    with FixtureServer(web, slow_seconds=SLOW_SECONDS, oversized_bytes=OVERSIZED_BYTES) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: FixtureServer) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, follow_redirects=False) as http:
        yield http


def feed_links(kind: str, body: bytes) -> list[str]:
    if kind == "jsonfeed":
        return [item["url"] for item in json.loads(body)["items"]]
    found = lxml.etree.fromstring(body).xpath(FEED_LINKS[kind])
    return [value if isinstance(value, str) else value.text for value in found]


def sitemap_links(client: httpx.Client, url: str) -> list[str]:
    root = lxml.etree.fromstring(client.get(url).content)
    if root.tag.endswith("sitemapindex"):
        parts = root.xpath("//sm:sitemap/sm:loc/text()", namespaces=SITEMAP_NS)
        return [link for part in parts for link in sitemap_links(client, part)]
    return [str(link) for link in root.xpath("//sm:url/sm:loc/text()", namespaces=SITEMAP_NS)]


def listing_links(client: httpx.Client, web: FixtureWeb, url: str) -> list[str]:
    """Article links of a listing page and of every page after it."""
    links: list[str] = []
    next_url: str | None = url
    while next_url:
        page = lxml.etree.fromstring(client.get(next_url).content, lxml.etree.HTMLParser())
        hrefs = [str(href) for href in page.xpath("//a/@href")]
        links += [href for href in hrefs if href in web.truth or href in web.fault_urls()]
        older = page.xpath("//a[@rel='next']/@href")
        next_url = urlsplit(url)._replace(path="", query="").geturl() + str(older[0]) if older else None
    return links


def test_generation_is_deterministic() -> None:
    first = build_fixture_web([BBC, SEEDS], sites=6, articles_per_site=5, seed=3)
    second = build_fixture_web([BBC, SEEDS], sites=6, articles_per_site=5, seed=3)
    other = build_fixture_web([BBC, SEEDS], sites=6, articles_per_site=5, seed=4)
    assert first.truth == second.truth
    assert first.faults == second.faults
    assert [site.name for site in first.sites] == [site.name for site in second.sites]
    assert first.truth != other.truth


def test_sites_vary_in_style_feed_and_discovery(web: FixtureWeb) -> None:
    assert len({site.name for site in web.sites}) == len(web.sites)
    assert len({site.style for site in web.sites}) >= 5
    assert {site.feed_kind for site in web.sites} >= {"rss2", "atom", "jsonfeed", "rss1", "rss091"}
    assert any(site.feed_url and not site.feed_linked for site in web.sites)
    assert any(site.feed_url is None and site.sitemap_url for site in web.sites)
    assert any(site.feed_url is None and site.sitemap_url is None and site.listing_url for site in web.sites)
    assert {fault.kind for fault in web.faults} == {
        "broken_feed", "not_found", "slow", "oversized", "redirect_loop", "disallowed", "legacy_encoding",
    }  # fmt: skip


def test_truth_records_syndication_and_reuse() -> None:
    web = build_fixture_web([SEEDS], sites=4, articles_per_site=10, seed=7, faults=False)
    articles = list(web.truth.values())
    assert len(articles) == 40 and not web.faults
    assert len({article.title for article in articles}) == 40
    assert len({article.text for article in articles}) == 40
    assert max(article.reuse_round for article in articles) >= 7  # 5 seed texts stretched over 40 articles
    copies = [article for article in articles if article.duplicate_of]
    assert len(copies) == 2  # 5% of 40
    for copy in copies:
        original = web.truth[copy.duplicate_of]
        assert original.site != copy.site and original.story == copy.story
        assert original.published < copy.published and original.url != copy.url
    assert all(timedelta(0) < web.now - article.published <= timedelta(days=30) for article in articles)


def test_a_web_of_benchmark_size_builds() -> None:
    # How long it takes is for `signpost bench pipeline` to report, not for a timed test on a shared machine.
    web = build_fixture_web([BBC], sites=500, articles_per_site=40)
    assert len(web.truth) == 20_000
    assert web.sites[-1].host == "127.0.2.250"


def test_each_site_answers_on_its_own_address(web: FixtureWeb, server: FixtureServer, client: httpx.Client) -> None:
    hosts = [urlsplit(url).hostname for url in server.base_urls]
    assert len(set(hosts)) == len(web.sites)
    assert len({urlsplit(url).port for url in server.base_urls}) == 1
    for site in web.sites:
        response = client.get(site.base_url)
        assert response.status_code == 200
        assert site.name in response.content.decode(site.encoding)
        assert ('rel="alternate"' in response.text) == site.feed_linked


def test_listings_paginate_by_path_or_query(web: FixtureWeb, client: httpx.Client) -> None:
    for site in web.sites:
        if not site.listing_url:
            continue
        second_page = 200 if len(web.site_postings[site.index]) > site.listing_page_size else 404
        assert client.get(site.url(site.listing_page_path(2))).status_code == second_page
        assert client.get(site.url(site.listing_page_path(99))).status_code == 404
    assert {site.pagination for site in web.sites} == {"path", "query"}


def test_hundreds_of_sites_bind_across_address_blocks() -> None:
    web = build_fixture_web([SEEDS], sites=260, articles_per_site=1, faults=False)
    with FixtureServer(web) as server, httpx.Client(timeout=5.0) as http:
        last = web.sites[-1]
        assert last.host == "127.0.2.10"
        assert http.get(last.robots_url).status_code == 200
        assert server.base_urls[-1] == last.base_url


def test_truth_is_what_feeds_sitemaps_and_listings_link(
    web: FixtureWeb, server: FixtureServer, client: httpx.Client
) -> None:
    broken_feed = set(web.fault_urls("broken_feed"))
    linked: set[str] = set()
    for site in web.sites:
        if site.feed_url and site.feed_url not in broken_feed:
            response = client.get(site.feed_url)
            assert response.headers["content-type"].startswith(
                {"jsonfeed": "application/feed+json", "atom": "application/atom+xml", "rss1": "application/xml"}.get(
                    site.feed_kind or "", "application/rss+xml"
                )
            )
            linked.update(feed_links(site.feed_kind or "", response.content))
        if site.sitemap_url:
            linked.update(sitemap_links(client, site.sitemap_url))
        if site.listing_url:
            linked.update(listing_links(client, web, site.listing_url))
    page_faults = {fault.url for fault in web.faults if fault.kind not in ("broken_feed", "legacy_encoding")}
    assert page_faults <= linked
    assert linked - page_faults == set(web.truth)


def test_pages_show_the_true_text_title_author_and_date(web: FixtureWeb, client: httpx.Client) -> None:
    for site in web.sites:
        article = web.articles_of(site)[0]
        response = client.get(article.url)
        page = unescape(response.content.decode(site.encoding))
        assert f'<link rel="canonical" href="{article.url}">' in page
        assert all(paragraph in page for paragraph in article.text.split("\n"))
        assert article.title in page and article.author in page
        assert str(article.published.year) in page


def test_broken_feed_does_not_parse(web: FixtureWeb, client: httpx.Client) -> None:
    (url,) = web.fault_urls("broken_feed")
    body = client.get(url).content
    with pytest.raises((lxml.etree.XMLSyntaxError, json.JSONDecodeError)):
        json.loads(body) if body.lstrip().startswith(b"{") else lxml.etree.fromstring(body)


def test_feeds_and_sitemaps_answer_conditional_gets(web: FixtureWeb, client: httpx.Client) -> None:
    site = next(site for site in web.sites if site.feed_url and site.feed_url not in web.fault_urls())
    for url in (site.feed_url, site.sitemap_url):
        assert url
        first = client.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_request_log_counts_fetches(web: FixtureWeb, server: FixtureServer, client: httpx.Client) -> None:
    server.reset_counts()
    urls = list(web.truth)[:3]
    for url in urls:
        client.get(url)
    client.get(web.sites[0].url("/no-such-page/"))
    assert [record.url for record in server.request_log] == [*urls, web.sites[0].url("/no-such-page/")]
    assert server.status_counts() == {200: 3, 404: 1}


def test_not_found_and_redirect_loop(web: FixtureWeb, client: httpx.Client) -> None:
    (missing,) = web.fault_urls("not_found")
    assert client.get(missing).status_code == 404
    (loop_start,) = web.fault_urls("redirect_loop")
    url, seen = loop_start, []
    for _ in range(4):
        response = client.get(url)
        assert response.status_code == 302
        seen.append(url)
        url = response.headers["location"]
    assert seen[0] == seen[2] and seen[1] == seen[3] and seen[0] != seen[1]


def test_oversized_page_streams_until_the_client_stops(web: FixtureWeb, client: httpx.Client) -> None:
    (url,) = web.fault_urls("oversized")
    received = b""
    with client.stream("GET", url) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        for chunk in response.iter_bytes():
            received += chunk
            if len(received) >= READ_CAP:
                break
    assert received.lstrip().lower().startswith(b"<!doctype html") and b"<p>" in received
    full = client.get(url).content
    assert OVERSIZED_BYTES - 1000 < len(full) <= OVERSIZED_BYTES + 1000 and full.rstrip().endswith(b"</html>")


def test_slow_page_outlasts_a_short_timeout(web: FixtureWeb, client: httpx.Client) -> None:
    (url,) = web.fault_urls("slow")
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        client.get(url, timeout=0.3)
    assert time.perf_counter() - started < 1.0
    assert client.get(url, timeout=SLOW_SECONDS + 3).status_code == 200


def test_legacy_site_serves_windows_1252(web: FixtureWeb, client: httpx.Client) -> None:
    (fault,) = [fault for fault in web.faults if fault.kind == "legacy_encoding"]
    site = next(site for site in web.sites if site.name == fault.site)
    article = web.articles_of(site)[0]
    response = client.get(article.url)
    assert response.headers["content-type"] == "text/html; charset=windows-1252"
    assert b'<meta charset="windows-1252">' in response.content
    assert "£".encode("cp1252") in response.content  # in the footer of every page
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    page = unescape(response.content.decode("cp1252"))
    assert all(paragraph in page for paragraph in article.text.split("\n"))
    accented = [a for a in web.articles_of(site) if any(ord(char) > 127 for char in a.text + a.author)]
    assert accented, "the legacy site should publish non-ASCII text"


def test_robots_disallows_the_private_page_the_feed_links(web: FixtureWeb, client: httpx.Client) -> None:
    (fault,) = [fault for fault in web.faults if fault.kind == "disallowed"]
    site = next(site for site in web.sites if site.name == fault.site)
    robots = client.get(site.robots_url).text
    assert f"Disallow: {site.disallowed_path}" in robots and f"Sitemap: {site.sitemap_url}" in robots
    assert urlsplit(fault.url).path.startswith(site.disallowed_path)
    assert site.feed_url and fault.url in feed_links(site.feed_kind or "", client.get(site.feed_url).content)
    assert fault.url not in web.truth
