"""The whole promise once, for real: a fixture web crawled into a draft, reviewed and sent in Chromium, and each
member's email, received by an SMTP server, holding exactly the topics they follow."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from email import message_from_bytes
from email.policy import default

import pytest
import uvicorn
import yaml
from aiosmtpd.controller import Controller
from test_web_browser import CHROMIUM

from builders import in_process_publisher
from conftest import Inbox, shared_data
from signpost.classify.embed_stage import embed_pending
from signpost.classify.embedding import Embedder
from signpost.classify.group_stage import group_pending
from signpost.classify.score_stage import score_community
from signpost.config.settings import Settings
from signpost.digests.drafting import draft_digest
from signpost.digests.mail_sink import free_port
from signpost.fixtureweb import REFERENCE_NOW, FixtureServer, build_fixture_web
from signpost.spiders.crawl import crawl_sources
from signpost.spiders.extraction_stage import extract_pending
from signpost.spiders.registry import add_source_from_url
from signpost.store.communities import get_community, save_community
from signpost.store.db import open_migrated_store
from signpost.store.digests import get_digest, load_items
from signpost.store.members import add_member, confirm_membership, join_community
from signpost.store.sources import list_sources
from signpost.store.users import save_user, set_curator
from signpost.web.app import create_app
from signpost.web.hooks import WebHooks
from signpost.web.security import hash_password

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"
TOPICS = ("business", "sport", "tech")


def drafted_store(settings: Settings):
    """The fixture web crawled, extracted, embedded, grouped and scored, and the week's draft made."""
    engine = open_migrated_store(settings.store_url)
    spec = {topic["id"]: topic for topic in yaml.safe_load((shared_data("bbc") / "topics.yaml").read_text())["topics"]}
    save_community(
        engine,
        slug="desk",
        name="News desk",
        items_per_topic=2,
        topic_list=[{"slug": t, "name": spec[t]["name"], "description": spec[t]["description"]} for t in TOPICS],
    )
    community = get_community(engine, "desk")
    web = build_fixture_web([shared_data("bbc")], sites=4, articles_per_site=12, faults=False)
    with FixtureServer(web, port=0):
        for site in web.sites:
            add_source_from_url(engine, settings, site.base_url, name=site.name)
        crawl_sources(engine, settings, list_sources(engine))
    extract_pending(engine, settings)
    embedder = Embedder()
    embed_pending(engine, settings, embedder)
    group_pending(engine, embedder.name)
    score_community(engine, community, embedder)
    digest_id = draft_digest(engine, community, REFERENCE_NOW - timedelta(days=7), REFERENCE_NOW)
    return engine, community, digest_id


def test_from_the_web_to_each_members_inbox(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium); the end-to-end test is skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    port = free_port()
    settings = Settings(
        var_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'signpost.db'}",
        allow_private_addresses=True,
        autothrottle=False,
        download_timeout=5,
        secret_key="end-to-end",
        session_cookie_secure=False,
        public_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
    )
    engine, community, digest_id = drafted_store(settings)
    curator = save_user(engine, "cat@example.org", "Cat", password_hash=hash_password(PASSWORD))
    set_curator(engine, curator, community.id)
    topic_of = {topic.id: topic.slug for topic in community.topics}
    follows = {"biz@example.net": {"business"}, "fan@example.net": {"sport"}, "both@example.net": {"sport", "tech"}}
    for email, slugs in follows.items():
        member = add_member(engine, email)
        join_community(engine, member, community.id, [t for t, slug in topic_of.items() if slug in slugs])
        confirm_membership(engine, member, community.id)
    items = load_items(engine, digest_id)
    keep, drop = items[0], items[1]

    app = create_app(settings, hooks=WebHooks(start_publish=in_process_publisher(settings)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    try:
        while not server.started:
            time.sleep(0.05)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"{settings.public_url}/review/digests/{digest_id}")
            page.get_by_label("Email").first.fill("cat@example.org")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in", exact=True).click()
            page.goto(f"{settings.public_url}/review/digests/{digest_id}")
            page.locator(f"#item-{keep.id}").get_by_role("button", name="Approve").click()
            page.locator(f"#item-{drop.id}").get_by_role("button", name="Reject").click()
            page.get_by_role("button", name="Approve and send now").click()
            # The items nobody reviewed are asked about first: they go too.
            page.get_by_role("button", name="Send them").click()
            browser.close()
        deadline = time.monotonic() + 60
        while get_digest(engine, digest_id).status != "sent" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.should_exit = True
        smtp.stop()
    assert get_digest(engine, digest_id).status == "sent"

    sent = load_items(engine, digest_id, ("approved",))
    with_items = {topic_of[item.topic_id] for item in sent}
    assert drop.id not in {item.id for item in sent} and keep.id in {item.id for item in sent}
    received = {rcpts[0]: message_from_bytes(content, policy=default) for rcpts, content in inbox.accepted}
    expected = {email for email, slugs in follows.items() if slugs & with_items}
    assert set(received) == expected and len(inbox.accepted) == len(expected)
    for email, message in received.items():
        html = message.get_body(("html",)).get_content()
        assert {slug for slug in TOPICS if f'id="topic-{slug}"' in html} == follows[email] & with_items, email
        assert drop.title not in html
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and message["Message-ID"]
        assert message.get_body(("plain",)).get_content().strip()
    engine.dispose()
