"""The store on both databases: migrations, sources and health, pages, articles and their dedup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from signpost.store.articles import count_articles, list_articles, save_article, text_fingerprint
from signpost.store.communities import get_community, save_community
from signpost.store.db import migrate
from signpost.store.pages import known_urls, load_pages, pending_page_ids, record_sightings, save_pages
from signpost.store.records import ExtractedArticle, FetchedPage
from signpost.store.schema import metadata
from signpost.store.sources import (
    backoff,
    finish_crawl,
    get_source,
    list_sources,
    save_source,
    sources_due,
    start_crawl,
)


def test_migrations_are_idempotent(engine):
    migrate(engine)
    migrate(engine)
    assert list_sources(engine) == []


def test_migrations_build_exactly_the_schema(engine):
    # Migrations are hand-checked files; this keeps them and store/schema.py from drifting apart.
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_source_health_backs_off_and_recovers(engine):
    save_community(engine, slug="vol", name="Volunteering")
    source_id = save_source(
        engine,
        url="https://a.example/feed",
        site_url="https://a.example/",
        name="A",
        kind="feed",
        community_slugs=["vol"],
    )
    assert get_source(engine, source_id).communities == ["vol"]
    for attempt in range(1, 4):
        crawl_id = start_crawl(engine, source_id)
        finish_crawl(engine, crawl_id, ok=False, items_found=0, pages_fetched=0, pages_failed=0, error="HTTP 500")
        health = get_source(engine, source_id).health
        assert health.consecutive_failures == attempt
        assert health.last_error == "HTTP 500"
        assert health.next_check_at > datetime.now(UTC) + backoff(attempt, 60, 72) - timedelta(minutes=1)
    # A failing source is never dropped: it stays listed, and is due again once its back-off has passed.
    assert [source.id for source in list_sources(engine)] == [source_id]
    assert sources_due(engine, datetime.now(UTC) + timedelta(days=4)) != []
    crawl_id = start_crawl(engine, source_id)
    finish_crawl(engine, crawl_id, ok=True, items_found=12, pages_fetched=3, pages_failed=0, etag='"v2"')
    health = get_source(engine, source_id).health
    assert (health.consecutive_failures, health.last_item_count, health.last_error) == (0, 12, None)
    assert get_source(engine, source_id).etag == '"v2"'


def test_unknown_community_is_refused(engine):
    with pytest.raises(LookupError, match="no community"):
        save_source(
            engine,
            url="https://a.example/feed",
            site_url="https://a.example/",
            name="A",
            kind="feed",
            community_slugs=["nope"],
        )


def test_failed_page_is_retried_but_a_good_one_is_never_replaced(engine):
    now = datetime.now(UTC)
    save_pages(
        engine, [FetchedPage(url="https://a.example/x", source_id=None, status=0, fetched_at=now, error="timed out")]
    )
    assert known_urls(engine, ["https://a.example/x"]) == set()
    save_pages(
        engine,
        [
            FetchedPage(
                url="https://a.example/x",
                source_id=None,
                status=200,
                fetched_at=now,
                body=b"<html>ok</html>",
                encoding="utf-8",
            )
        ],
    )
    assert known_urls(engine, ["https://a.example/x"]) == {"https://a.example/x"}
    save_pages(
        engine, [FetchedPage(url="https://a.example/x", source_id=None, status=0, fetched_at=now, error="timed out")]
    )
    [page] = load_pages(engine, pending_page_ids(engine))
    assert page.body == b"<html>ok</html>"


def test_gone_pages_are_not_fetched_again(engine):
    save_pages(
        engine,
        [
            FetchedPage(
                url="https://a.example/gone", source_id=None, status=404, fetched_at=datetime.now(UTC), error="HTTP 404"
            )
        ],
    )
    assert known_urls(engine, ["https://a.example/gone"]) == {"https://a.example/gone"}


def test_article_stored_once_and_credited_to_every_source(engine):
    first = save_source(engine, url="https://a.example/feed", site_url="https://a.example/", name="A", kind="feed")
    second = save_source(engine, url="https://b.example/feed", site_url="https://b.example/", name="B", kind="feed")
    now = datetime.now(UTC)
    save_pages(
        engine,
        [
            FetchedPage(url="https://a.example/story", source_id=first, status=200, fetched_at=now, body=b"a"),
            FetchedPage(url="https://b.example/copy", source_id=second, status=200, fetched_at=now, body=b"b"),
        ],
    )
    record_sightings(engine, [("https://a.example/story", first), ("https://b.example/copy", second)])
    page_a, page_b = load_pages(engine, pending_page_ids(engine))
    text = "Volunteers gave 4,000 hours to the food bank this winter. " * 5
    article = ExtractedArticle(canonical_url="https://a.example/story", text=text, title="Food bank", published_at=now)
    article_id, is_new = save_article(
        engine, article, page_id=page_a.id, source_id=first, page_url=page_a.url, extractor="test"
    )
    assert is_new
    # The same text under another URL (punctuation and case aside) is the same article.
    copy = ExtractedArticle(canonical_url="https://b.example/copy", text=text.upper().replace(".", "!"), title="Copy")
    copy_id, is_new = save_article(
        engine, copy, page_id=page_b.id, source_id=second, page_url=page_b.url, extractor="test"
    )
    assert (copy_id, is_new) == (article_id, False)
    assert count_articles(engine) == 1
    [row] = list_articles(engine)
    assert row["sources"] == ["A", "B"]
    assert row["published_at"].tzinfo is not None
    assert text_fingerprint("A, b!") == text_fingerprint("a b")
    # A later sighting of an extracted URL by a third source credits it at once.
    third = save_source(engine, url="https://c.example/feed", site_url="https://c.example/", name="C", kind="feed")
    record_sightings(engine, [("https://a.example/story", third)])
    assert list_articles(engine)[0]["sources"] == ["A", "B", "C"]


def test_community_topics_follow_the_file(engine):
    save_community(
        engine,
        slug="vol",
        name="Volunteering",
        topic_list=[{"slug": "recruit", "name": "Recruitment"}, {"slug": "policy", "name": "Policy"}],
    )
    save_community(
        engine,
        slug="vol",
        name="Volunteering network",
        topic_list=[{"slug": "policy", "name": "Policy and funding", "keywords_must": ["grant"]}],
    )
    community = get_community(engine, "vol")
    assert community.name == "Volunteering network"
    assert [(t.slug, t.name, t.keywords_must) for t in community.topics] == [
        ("policy", "Policy and funding", ["grant"])
    ]
