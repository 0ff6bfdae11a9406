"""The weekly and publish flows under Prefect: a fixture web becomes a draft, curators hear of it, members get it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import select
from test_digests_webhooks import Receiver

from conftest import save_news_desk, shared_data
from signpost.fixtureweb import REFERENCE_NOW, FixtureServer, build_fixture_web
from signpost.flows.publish import publish_due_flow
from signpost.flows.weekly import run_report_markdown, weekly_flow
from signpost.spiders.registry import add_source_from_url
from signpost.store.communities import get_community
from signpost.store.digests import approve_digest, get_digest, load_items
from signpost.store.members import add_member, confirm_membership, join_community
from signpost.store.schema import topic_scores
from signpost.store.sources import save_source
from signpost.store.users import save_user, set_curator
from signpost.store.webhooks import save_webhooks

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_weekly_then_publish(prefect_server, engine, settings, monkeypatch, smtp):
    mail, smtp_port = smtp
    for name, value in {
        "DATABASE_URL": settings.store_url,
        "ALLOW_PRIVATE_ADDRESSES": "true",
        "AUTOTHROTTLE": "false",
        "DOWNLOAD_TIMEOUT": "5",
        "SECRET_KEY": "weekly-test",
        "PUBLIC_URL": "https://signpost.example.org",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "FAILING_AFTER": "1",
    }.items():
        monkeypatch.setenv(f"SIGNPOST_{name}", value)
    save_news_desk(engine)
    community = get_community(engine, "desk")
    set_curator(engine, save_user(engine, "curator@example.org", "Cat Curator"), community.id)
    save_user(engine, "admin@example.org", "Ada Admin", is_admin=True)
    sport, tech = (next(t.id for t in community.topics if t.slug == slug) for slug in ("sport", "tech"))
    for email, topics in (("sporty@example.net", [sport]), ("geek@example.net", [tech]), ("all@example.net", None)):
        member = add_member(engine, email)
        join_community(engine, member, community.id, topics or [t.id for t in community.topics])
        confirm_membership(engine, member, community.id)
    receiver = Receiver()
    save_webhooks(engine, community.id, [(f"{receiver.url}/chat", "mattermost")])

    web = build_fixture_web([shared_data("bbc")], sites=4, articles_per_site=12, faults=False)
    with FixtureServer(web, port=0):
        for site in web.sites:
            add_source_from_url(engine, settings, site.base_url, name=site.name)
        # A feed that has gone: its source fails, and with FAILING_AFTER=1 the admins hear of it at once.
        gone = f"{web.sites[0].base_url}feeds/gone.xml"
        save_source(engine, url=gone, site_url=gone, name="Gone Gazette", kind="feed", community_slugs=["desk"])
        report = weekly_flow("desk", now=REFERENCE_NOW + timedelta(minutes=5))

    # A draft of the week before the reference moment, with sections, and the curator told where it is.
    draft = report["draft"]
    digest = get_digest(engine, draft["digest_id"])
    assert (digest.status, digest.period_end) == ("draft", REFERENCE_NOW)
    assert draft["items"] > 0 and sum(draft["per_topic"].values()) == draft["items"], report
    assert draft["curators_told"] == ["curator@example.org"]
    assert report["crawl"]["admins_told"] == ["admin@example.org"]
    told = {rcpts[0]: message_from_bytes(content, policy=default) for rcpts, content in mail.accepted}
    assert set(told) == {"curator@example.org", "admin@example.org"}
    assert f"/review/digests/{digest.id}" in told["curator@example.org"].get_body().get_content()
    assert "Gone Gazette" in told["admin@example.org"].get_body().get_content()
    # The run report (a Prefect artifact, and what `signpost weekly` prints): time per stage, the failing feed.
    markdown = run_report_markdown(report)
    assert set(report["seconds"]) == {"crawl", "extract", "classify", "draft"}
    assert "Time per stage: crawl" in markdown and "## Failing sources" in markdown and "gone.xml" in markdown
    drafted = ", ".join(f"{slug} {count}" for slug, count in draft["per_topic"].items())
    assert f"Drafted items per topic: {drafted}" in markdown and "Candidates" not in markdown
    with engine.connect() as connection:
        assert connection.scalar(select(topic_scores.c.article_id).limit(1)) is not None

    # Approved, then published when due: each member gets their topics once, the chat gets one post.
    approve_digest(engine, digest.id, "curator@example.org")
    mail.accepted.clear()
    published = publish_due_flow()
    assert [run["digest_id"] for run in published] == [digest.id]
    items_by_topic = Counter(item.topic_id for item in load_items(engine, digest.id))
    expected = {"all@example.net"}
    expected |= {"sporty@example.net"} if items_by_topic[sport] else set()
    expected |= {"geek@example.net"} if items_by_topic[tech] else set()
    assert Counter(rcpt for rcpts, _ in mail.accepted for rcpt in rcpts) == Counter(expected)
    assert get_digest(engine, digest.id).status == "sent"
    assert len(receiver.bodies["/chat"]) == 1
    # Nothing is due any more: a second publish run does nothing.
    assert publish_due_flow() == []
    receiver.server.shutdown()


def test_the_run_report_lists_drafted_items_per_topic(engine, settings, monkeypatch):
    from test_web_support import WEEK, Seeded

    from signpost.flows.weekly import draft_task
    from signpost.store.digests import decide_item

    seeded = Seeded(engine)
    monkeypatch.setenv("SIGNPOST_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNPOST_VAR_DIR", str(settings.var_dir))
    rejected = load_items(engine, seeded.vol_digest)[0]
    decide_item(engine, rejected.id, "rejected", actor="sam@example.org")
    drafted = draft_task.fn("vol", WEEK, WEEK + timedelta(days=7))
    in_draft = [item for item in load_items(engine, seeded.vol_digest) if item.state != "rejected"]
    assert drafted["digest_id"] == seeded.vol_digest and drafted["items"] == len(in_draft)
    assert drafted["per_topic"] == {
        "recruitment": sum(1 for item in in_draft if item.topic_id == seeded.recruitment),
        "wellbeing": sum(1 for item in in_draft if item.topic_id == seeded.wellbeing),
    }
    stage = {"seconds": 0.0}
    report = {
        "community": "vol",
        "period": ["2026-03-02", "2026-03-09"],
        "seconds": {"crawl": 1.0, "extract": 1.0, "classify": 1.0, "draft": 1.0},
        "crawl": {"sources": 1, "sources_ok": 1, "not_modified": 0, "sources_failed": 0, "pages_fetched": 3},
        "extract": {"new_articles": 3, "duplicates": 0, "skipped": 0, "failed": 0, **stage},
        "classify": {"embed": {"articles": 3, **stage}, "group": {"duplicates": 0, "stories_started": 3, **stage}},
        "draft": drafted,
    }
    report["crawl"]["failures"] = {}
    report["classify"]["score"] = {"vol": {"articles": 3, "decisions": 1, **stage}}
    markdown = run_report_markdown(report)
    counts = drafted["per_topic"]
    assert f"Drafted items per topic: recruitment {counts['recruitment']}, wellbeing {counts['wellbeing']}" in markdown
    assert "Candidates" not in markdown
