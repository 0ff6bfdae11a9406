"""Whole crawls of the fixture web: Scrapy child processes over HTTP, trafilatura, the store, on both databases."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections import Counter

import psutil
import pytest
from sqlalchemy import select

from conftest import shared_data
from signpost.fixtureweb import FixtureServer, build_fixture_web
from signpost.spiders.crawl import crawl_sources
from signpost.spiders.extraction_stage import extract_pending
from signpost.spiders.registry import add_source_from_url
from signpost.spiders.urls import canonicalize_url
from signpost.store.articles import count_articles
from signpost.store.pages import fetch_failures, page_counts
from signpost.store.schema import articles, pages
from signpost.store.sources import get_source, list_sources

pytestmark = pytest.mark.slow
WORD = re.compile(r"\w+")


def word_f1(predicted: str, truth: str) -> float:
    predicted_words, true_words = Counter(WORD.findall(predicted.lower())), Counter(WORD.findall(truth.lower()))
    overlap = sum((predicted_words & true_words).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(predicted_words.values()), overlap / sum(true_words.values())
    return 2 * precision * recall / (precision + recall)


@pytest.fixture(scope="module")
def fixture_web():
    corpora = [shared_data("sector-seeds"), shared_data("bbc")]
    web = build_fixture_web(corpora, sites=10, articles_per_site=24)
    server = FixtureServer(web, port=0, slow_seconds=6.0)
    server.start()
    yield web, server
    server.stop()


def add_all_sites(engine, settings, web) -> None:
    for site in web.sites:
        add_source_from_url(engine, settings, site.base_url, name=site.name)


def stored_articles_by_page_url(engine) -> dict[str, dict]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                pages.c.url,
                articles.c.id,
                articles.c.title,
                articles.c.author,
                articles.c.published_at,
                articles.c.text,
            ).join(articles, articles.c.id == pages.c.article_id)
        ).mappings()
        return {row["url"]: dict(row) for row in rows}


def test_crawl_stores_every_article_once_records_every_fault_and_recrawls_cheaply(fixture_web, engine, settings):
    web, server = fixture_web
    add_all_sites(engine, settings, web)
    server.reset_counts()
    report = crawl_sources(engine, settings, list_sources(engine))
    first_requests = len(server.request_log)
    extracted = extract_pending(engine, settings)

    # Every true article landed once, with its metadata and text.
    stored = stored_articles_by_page_url(engine)
    assert count_articles(engine) == len(web.truth)
    assert extracted.new_articles == len(web.truth)
    scores = {}
    for url, truth in web.truth.items():
        article = stored[canonicalize_url(url)]
        assert article["title"].strip().lower() == truth.title.strip().lower(), url
        assert article["published_at"].date() == truth.published.date(), url
        if truth.author:
            assert article["author"] and truth.author.split()[-1].lower() in article["author"].lower(), url
        scores[url] = word_f1(article["text"], truth.text)
    worst = min(scores.items(), key=lambda item: item[1])
    assert sum(scores.values()) / len(scores) >= 0.9
    assert worst[1] >= 0.75, (worst, stored[canonicalize_url(worst[0])]["text"], web.truth[worst[0]].text)

    # Each fault is on its source's record, with a reason an admin can read; nothing else failed.
    failures = {row["url"]: row for row in fetch_failures(engine)}
    expected = {
        "not_found": "HTTP 404",
        "disallowed": "robots.txt",
        "slow": "timed out",
        "oversized": "too large",
        "redirect_loop": "redirects",
    }
    for fault in web.faults:
        if fault.kind in expected:
            row = failures.pop(canonicalize_url(fault.url))
            assert expected[fault.kind] in row["error"], (fault, row)
            assert row["source_id"] is not None
    assert failures == {}
    [broken] = [fault for fault in web.faults if fault.kind == "broken_feed"]
    broken_source = next(source for source in list_sources(engine) if source.name == broken.site)
    # A feed cut off part-way is recovered: its source stays healthy, with a note, and its sitemap is read too.
    assert broken_source.health.consecutive_failures == 0
    assert broken_source.health.last_error.startswith("note: broken feed")
    assert report.sources_failed == 0

    # A second crawl of the unchanged web fetches under 10% of what the first did, and stores nothing twice.
    server.reset_counts()
    crawl_sources(engine, settings, list_sources(engine))
    assert len(server.request_log) < 0.1 * first_requests, (len(server.request_log), first_requests)
    assert extract_pending(engine, settings).new_articles == 0
    assert count_articles(engine) == len(web.truth)


def test_crawl_killed_midway_loses_nothing_and_duplicates_nothing(fixture_web, engine, settings):
    web, _ = fixture_web
    add_all_sites(engine, settings, web)
    # Slow the crawl down so the kill lands while it is still fetching.
    settings.concurrent_requests_per_domain = 1
    settings.concurrent_requests = 2
    sources = list_sources(engine)
    crawl = threading.Thread(target=crawl_sources, args=(engine, settings, sources))
    crawl.start()
    deadline = time.monotonic() + 60
    while page_counts(engine).get("pending", 0) < 20 and time.monotonic() < deadline:
        time.sleep(0.1)
    children = [
        child
        for child in psutil.Process().children(recursive=True)
        if "signpost.spiders.crawl_child" in " ".join(child.cmdline())
    ]
    assert children, "the crawl child process was not found"
    for child in children:
        child.send_signal(signal.SIGKILL)
    crawl.join()
    stored_before = page_counts(engine).get("pending", 0)
    assert 0 < stored_before < len(web.truth)
    # The crash is on every source's record, and the next crawl picks up where it stopped.
    assert all("exit -9" in (get_source(engine, s.id).health.last_error or "") for s in sources)
    settings.concurrent_requests_per_domain = 8
    settings.concurrent_requests = 64
    crawl_sources(engine, settings, list_sources(engine))
    extract_pending(engine, settings)
    stored = stored_articles_by_page_url(engine)
    assert all(canonicalize_url(url) in stored for url in web.truth)
    assert count_articles(engine) == len(web.truth)
