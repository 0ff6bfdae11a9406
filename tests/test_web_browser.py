"""One real browser (Chromium through Playwright) against uvicorn: a curator signs in, approves an item, rejects
one, approves the digest, and the store shows all of it. No JavaScript is needed by the pages."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from test_web_support import PASSWORD, Seeded, web_settings

from signpost.config.settings import Settings
from signpost.digests.mail_sink import free_port
from signpost.store.db import open_migrated_store
from signpost.store.digests import get_digest, list_events, load_items
from signpost.store.scores import community_decisions
from signpost.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def launched_chromium():
    """Debian's Chromium through Playwright, or a skip that says what is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium); the browser tests are skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def browser():
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def live_server(tmp_path):
    # One browser run is enough: both databases are covered by the TestClient tests.
    settings = Settings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'signpost.db'}")
    engine = open_migrated_store(settings.store_url)
    seeded = Seeded(engine)
    port = free_port()
    app = create_app(web_settings(settings, public_url=f"http://127.0.0.1:{port}"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", seeded
    server.should_exit = True
    thread.join(10)
    engine.dispose()


def test_a_curator_reviews_a_draft_in_a_browser(browser, live_server):
    base, seeded = live_server
    engine = seeded.engine
    keep, drop = (
        next(item for item in load_items(engine, seeded.vol_digest) if item.article_id == article_id)
        for article_id in seeded.vol_articles[:2]
    )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/review")
    assert "/signin" in page.url
    page.get_by_label("Email").first.fill("sam@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("link", name="02 Mar 2026").click()
    assert page.locator("h1").inner_text().startswith("Volunteering")
    page.locator(f"#item-{keep.id}").get_by_role("button", name="Approve").click()
    page.locator(f"#item-{drop.id}").get_by_role("button", name="Reject").click()
    assert page.locator(f"#item-{keep.id} .badge").inner_text() == "approved"
    assert page.locator(f"#item-{drop.id} .badge").inner_text() == "rejected"
    page.get_by_label("Send from").fill("2026-03-09T07:00")
    page.get_by_role("button", name="Approve and schedule").click()
    assert page.locator("#digest-status").inner_text() == "approved"
    context.close()

    states = {item.id: item.state for item in load_items(engine, seeded.vol_digest)}
    assert states[keep.id] == "approved" and states[drop.id] == "rejected"
    digest = get_digest(engine, seeded.vol_digest)
    assert digest.status == "approved" and digest.approved_by == "sam@example.org"
    kinds = {(d.article_id, d.kind) for d in community_decisions(engine, seeded.vol.id)}
    assert {(keep.article_id, "approve"), (drop.article_id, "reject")} <= kinds
    assert {"item_approved", "item_rejected", "approved"} <= {
        event["action"] for event in list_events(engine, digest.id)
    }
