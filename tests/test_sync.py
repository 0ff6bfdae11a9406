"""signpost sync on both databases: discovery passed in by the CLI, what a re-sync keeps, and archived topics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from test_web_support import web_settings
from typer.testing import CliRunner

from builders import store_articles
from signpost.classify.embed_stage import embed_pending
from signpost.classify.embedding import Embedder
from signpost.classify.score_stage import score_community
from signpost.cli import context
from signpost.cli.main import app
from signpost.digests.drafting import draft_digest
from signpost.fixtureweb import DEMO_CORPUS, FixtureServer, build_fixture_web
from signpost.spiders.registry import add_source_from_url
from signpost.spiders.urls import check_source_url
from signpost.store.communities import get_community
from signpost.store.digests import approve_digest, decide_item, load_items, mark_digest_sent
from signpost.store.records import ExtractedArticle
from signpost.store.schema import topic_scores, topics
from signpost.store.scores import community_decisions
from signpost.store.sources import get_source, list_sources
from signpost.store.sync import sync_file
from signpost.web.app import create_app

WEEK = datetime(2026, 3, 2, tzinfo=UTC)
COMMUNITY = """\
communities:
  - slug: vol
    name: Volunteering
    timezone: UTC
    items_per_topic: 2
    topics:
      - slug: recruitment
        name: Recruiting volunteers
        description: Finding, welcoming and keeping new volunteers.
{wellbeing}"""
WELLBEING = """\
      - slug: wellbeing
        name: Volunteer wellbeing
        description: Burnout, rest and support for volunteers.
"""


@pytest.fixture(scope="module")
def small_web():
    web = build_fixture_web([DEMO_CORPUS], sites=2, articles_per_site=3, faults=False)
    with FixtureServer(web, port=0):
        yield web


@pytest.fixture
def signpost(store_url, tmp_path, monkeypatch):
    """Run ``signpost ARGS`` against the test's own store."""
    for name, value in {
        "DATABASE_URL": store_url,
        "VAR_DIR": str(tmp_path / "var"),
        "ALLOW_PRIVATE_ADDRESSES": "true",
        "DOWNLOAD_TIMEOUT": "5",
    }.items():
        monkeypatch.setenv(f"SIGNPOST_{name}", value)
    monkeypatch.setattr(context.console, "width", 240)
    monkeypatch.setattr(context.errors, "width", 240)

    def run(*args: str, expect: int = 0):
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == expect, (args, result.output)
        return result

    return run


def test_resyncing_keeps_discovered_fallbacks_and_max_depth_zero(signpost, small_web, tmp_path, engine):
    site = small_web.sites[0]
    path = tmp_path / "signpost.yaml"
    text = COMMUNITY.format(wellbeing="") + f"sources:\n  - url: {site.base_url}\n    communities: [vol]\n"
    path.write_text(text + "    max_depth: 0\n")
    assert "sources saved: 1" in signpost("sync", str(path)).output
    [source] = list_sources(engine)
    fallbacks = source.options["fallbacks"]
    # Discovery ran (the CLI passed it in): the feed is crawled, its sitemap and listing page are fallbacks.
    assert source.kind == "feed" and fallbacks and source.options["max_depth"] == 0
    path.write_text(text + "    max_depth: 0\n    max_pages: 7\n    allow: ['/news/']\n")
    signpost("sync", str(path))
    again = get_source(engine, source.id)
    assert again.options == {"fallbacks": fallbacks, "max_depth": 0, "max_pages": 7, "allow": ["/news/"]}
    # What the file no longer says goes; what discovery found stays.
    path.write_text(text)
    signpost("sync", str(path))
    assert get_source(engine, source.id).options == {"fallbacks": fallbacks}


def test_sync_refuses_an_alias_bomb_and_duplicate_keys_from_the_command_line(signpost, tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x]\nb: [*a, *a]\n")
    assert "anchors (&a) are not allowed" in signpost("sync", str(bomb), expect=1).output
    twice = tmp_path / "twice.yaml"
    twice.write_text(COMMUNITY.format(wellbeing="") + "    timezone: Europe/London\n")
    output = signpost("sync", str(twice), expect=1).output
    assert f"{twice}:10: communities.0.timezone: duplicate key" in output
    # The rules the admin's forms apply: a schedule that is not cron, a name with a line break; nothing is saved.
    bad = tmp_path / "bad.yaml"
    text = COMMUNITY.format(wellbeing="").replace(
        "    timezone: UTC\n", "    timezone: UTC\n    schedule: every tuesday-ish\n"
    )
    bad.write_text(text.replace("name: Volunteering", 'name: "Volunteering\\r\\nBcc: all@example.org"'))
    output = signpost("sync", str(bad), expect=1).output
    assert f"{bad}:3: communities.0.name: a name may not contain control characters" in output
    assert f"{bad}:5: communities.0.schedule: not a cron expression" in output
    assert signpost("weekly", expect=1).output.startswith("No communities yet")


def _article(slug: str, title: str, day: int) -> ExtractedArticle:
    return ExtractedArticle(
        canonical_url=f"https://alpha.example/{slug}",
        title=title,
        text=f"{title}. Volunteer managers shared what worked for them this year, with examples from charities.",
        published_at=WEEK + timedelta(days=day),
    )


def _sync(engine, settings, tmp_path, *, wellbeing: bool) -> None:
    path = tmp_path / "signpost.yaml"
    path.write_text(COMMUNITY.format(wellbeing=WELLBEING if wellbeing else ""))
    sync_file(engine, settings, path, discover=add_source_from_url, check_url=check_source_url)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(backend="torch")


def test_a_topic_removed_by_sync_is_archived_with_its_labels_and_published_items(engine, settings, tmp_path, embedder):
    _sync(engine, settings, tmp_path, wellbeing=True)
    vol = get_community(engine, "vol")
    recruitment, wellbeing = (topic.id for topic in vol.topics)
    first = store_articles(
        engine,
        "Alpha",
        "https://alpha.example",
        [
            _article("rest", "Rest days stop volunteer burnout", 1),
            _article("taster", "Taster days bring in new volunteers", 2),
        ],
    )
    with engine.begin() as connection:
        connection.execute(
            topic_scores.insert(),
            [
                {"article_id": first[0], "topic_id": wellbeing, "score": 0.9, "similarity": 0.5, "scored_at": WEEK},
                {"article_id": first[1], "topic_id": recruitment, "score": 0.8, "similarity": 0.5, "scored_at": WEEK},
            ],
        )
    digest_id = draft_digest(engine, vol, WEEK, WEEK + timedelta(days=7))
    by_article = {item.article_id: item for item in load_items(engine, digest_id)}
    decide_item(engine, by_article[first[0]].id, "approved", actor="sam@example.org")
    decide_item(engine, by_article[first[1]].id, "approved", actor="sam@example.org")
    approve_digest(engine, digest_id, "sam@example.org")
    mark_digest_sent(engine, digest_id)

    _sync(engine, settings, tmp_path, wellbeing=False)
    vol = get_community(engine, "vol")
    assert [t.slug for t in vol.topics] == ["recruitment"]
    assert [(t.id, t.slug) for t in vol.archived_topics] == [(wellbeing, "wellbeing")]
    assert vol.archived_topics[0].archived_at is not None
    # The curator's label and the sent digest's item are still there...
    labels = {(d.topic_id, d.article_id, d.kind) for d in community_decisions(engine, vol.id)}
    assert (wellbeing, first[0], "approve") in labels
    assert {item.topic_id for item in load_items(engine, digest_id)} == {recruitment, wellbeing}
    # ...and the public archive and Atom feeds still show it.
    with TestClient(create_app(web_settings(settings))) as client:
        assert f"/c/vol/digests/{digest_id}" in client.get("/c/vol/archive").text
        page = client.get(f"/c/vol/digests/{digest_id}").text
        assert "Rest days stop volunteer burnout" in page and "Volunteer wellbeing" in page
        for feed in ("/c/vol/feed.atom", "/c/vol/topics/wellbeing/feed.atom"):
            assert "Rest days stop volunteer burnout" in client.get(feed).text
        assert client.get("/c/vol/subscribe").text.count("Volunteer wellbeing") == 0
    # History cannot cascade away: the database refuses to delete a topic that has labels and digest items.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(delete(topics).where(topics.c.id == wellbeing))

    # The next week: the archived topic is neither scored nor drafted, though it kept old scores.
    second = store_articles(
        engine,
        "Beta",
        "https://beta.example",
        [_article("calm", "Calm rotas protect volunteer wellbeing", 8), _article("fair", "Volunteer fair", 9)],
    )
    with engine.begin() as connection:
        connection.execute(
            topic_scores.insert(),
            [
                {"article_id": i, "topic_id": wellbeing, "score": 0.99, "similarity": 0.5, "scored_at": WEEK}
                for i in second
            ],
        )
    embed_pending(engine, settings, embedder)
    report = score_community(engine, vol, embedder, since=WEEK)
    # It learns from the recruitment label only; the wellbeing label waits in the store.
    assert (report.topics, report.articles, report.decisions) == (1, 4, 1)
    with engine.connect() as connection:
        rows = connection.execute(select(topic_scores.c.topic_id, topic_scores.c.scored_at)).all()
    assert {topic_id for topic_id, scored_at in rows if scored_at > WEEK} == {recruitment}
    next_week = draft_digest(engine, vol, WEEK + timedelta(days=7), WEEK + timedelta(days=14))
    assert {item.topic_id for item in load_items(engine, next_week)} == {recruitment}

    # Listed again, the topic is back, with the same id and its labels.
    _sync(engine, settings, tmp_path, wellbeing=True)
    vol = get_community(engine, "vol")
    assert [t.id for t in vol.topics] == [recruitment, wellbeing] and vol.archived_topics == []
    assert (wellbeing, first[0], "approve") in {
        (d.topic_id, d.article_id, d.kind) for d in community_decisions(engine, vol.id)
    }
    started = datetime.now(UTC)
    assert score_community(engine, vol, embedder, since=WEEK).decisions == 2
    with engine.connect() as connection:
        rescored = connection.scalars(select(topic_scores.c.topic_id).where(topic_scores.c.scored_at >= started))
        assert set(rescored) == {recruitment, wellbeing}


@pytest.fixture(scope="module")
def paged_web():
    web = build_fixture_web([DEMO_CORPUS], sites=1, articles_per_site=30, faults=False)
    with FixtureServer(web, port=0):
        yield web


def test_max_depth_zero_keeps_a_listing_crawl_to_its_first_page(signpost, paged_web, tmp_path, engine, settings):
    from signpost.spiders.crawl import crawl_sources
    from signpost.store.pages import page_counts

    [site] = paged_web.sites
    assert site.has_listing
    path = tmp_path / "signpost.yaml"
    listing = f"sources:\n  - url: {site.listing_url}\n    kind: listing\n"
    path.write_text(listing + "    max_depth: 0\n")
    signpost("sync", str(path))
    crawl_sources(engine, settings, list_sources(engine))
    first_page = page_counts(engine).get("pending", 0)
    assert 0 < first_page <= site.listing_page_size
    # One level deeper, the crawl follows the listing's next page and finds the articles it lists.
    path.write_text(listing + "    max_depth: 1\n")
    signpost("sync", str(path))
    crawl_sources(engine, settings, list_sources(engine))
    assert page_counts(engine).get("pending", 0) > first_page
