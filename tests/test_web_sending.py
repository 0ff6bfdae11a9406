"""Sending from the review pages on both databases, through a real SMTP server on loopback: the check before a
send, the question about unreviewed items, waiting rows and their error on the draft page, retry now, cancelling a
scheduled send, and a test email."""

from __future__ import annotations

import re

import pytest
from test_web_support import PASSWORD, WEEK, make_client, post, sign_in, web_settings

from signpost.config.settings import Settings
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.mail_sink import free_port
from signpost.store.digests import approve_digest, get_digest, list_events, load_items
from signpost.store.members import add_member, confirm_membership, join_community
from signpost.store.outbox import delivery_summary, outbox_counts
from signpost.web.hooks import WebHooks

pytest_plugins = ["test_web_support", "test_web_browser"]


def in_process_publisher(settings):
    """The publishing flow's two email steps, run at once in the test's process (the CLI's hook starts
    `signpost digests publish` in a process of its own; the demo's browser test drives that one)."""

    def start(digest_id: int) -> None:
        from signpost.store.db import open_current_store

        engine = open_current_store(settings.store_url)
        queue_digest(engine, settings, digest_id)
        send_digest(engine, settings, digest_id)
        engine.dispose()

    return start


@pytest.fixture
def sending_client(app_settings, seeded):
    with make_client(app_settings, WebHooks(start_publish=in_process_publisher(app_settings))) as client:
        yield client


def add_readers(seeded, count: int = 3) -> list[str]:
    emails = []
    for number in range(count):
        email = f"reader{number}@example.org"
        member = add_member(seeded.engine, email, f"Reader {number}")
        join_community(seeded.engine, member, seeded.vol.id, [seeded.wellbeing, seeded.recruitment][: 1 + number % 2])
        confirm_membership(seeded.engine, member, seeded.vol.id)
        emails.append(email)
    return emails


def flash_of(client, response) -> str:
    return client.get(response.headers["location"]).text


def test_send_now_with_the_server_down_is_refused_with_the_reason(settings, seeded):
    port = free_port()
    down = web_settings(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    with make_client(down, WebHooks(start_publish=in_process_publisher(down))) as client:
        sign_in(client, "sam@example.org")
        response = post(client, f"/review/digests/{seeded.vol_digest}/approve", {"when": "now", "undecided": "send"})
        assert response.status_code == 303
        page = flash_of(client, response)
    assert f"Not approved: the mail server does not answer (connection refused by 127.0.0.1:{port})" in page
    assert get_digest(seeded.engine, seeded.vol_digest).status == "draft"


def test_unreviewed_items_are_asked_about_and_dropped_ones_stay_out(sending_client, seeded, inbox):
    add_readers(seeded)
    client, engine = sending_client, seeded.engine
    items = load_items(engine, seeded.vol_digest)
    keep = items[0]
    sign_in(client, "sam@example.org")
    assert post(client, f"/review/items/{keep.id}/decide", {"state": "approved"}).status_code == 303
    asked = post(client, f"/review/digests/{seeded.vol_digest}/approve", {"when": "now"})
    assert asked.status_code == 200
    undecided = len(items) - 1
    assert f"{undecided} items you have not reviewed will go to 3 members" in asked.text
    assert {"Send them", "Drop them", "Go back"} <= set(re.findall(r">(Send them|Drop them|Go back)<", asked.text))
    assert get_digest(engine, seeded.vol_digest).status == "draft" and not inbox.messages
    sent = post(client, f"/review/digests/{seeded.vol_digest}/approve", {"when": "now", "undecided": "drop"})
    assert "Approved; the publishing flow is sending it now." in flash_of(client, sent)
    states = {item.id: item.state for item in load_items(engine, seeded.vol_digest)}
    assert states[keep.id] == "approved" and list(states.values()).count("rejected") == undecided
    assert "undecided_dropped" in {event["action"] for event in list_events(engine, seeded.vol_digest)}
    # Only the approved item's topic has items now: readers following only the other one get nothing.
    followers = 3 if keep.topic_id == seeded.wellbeing else 1
    assert len(inbox.messages) == followers
    for message in inbox.messages:
        assert keep.url in message.get_body(("plain",)).get_content()
    assert get_digest(engine, seeded.vol_digest).status == "sent"


def test_approve_and_send_now_runs_the_publishing_hook(sending_client, seeded, inbox):
    readers = add_readers(seeded, 2)
    sign_in(sending_client, "sam@example.org")
    response = post(
        sending_client, f"/review/digests/{seeded.vol_digest}/approve", {"when": "now", "undecided": "send"}
    )
    assert response.status_code == 303
    digest = get_digest(seeded.engine, seeded.vol_digest)
    assert digest.status == "sent" and digest.scheduled_for is not None and digest.scheduled_for > WEEK
    assert sorted(message["To"].addresses[0].addr_spec for message in inbox.messages) == readers
    page = sending_client.get(f"/review/digests/{seeded.vol_digest}").text
    assert '<span class="badge sent" id="digest-status">sent</span>' in page
    assert '<span class="badge sent">sent</span>' in sending_client.get("/review").text


def test_waiting_rows_show_on_the_draft_page_and_an_admin_retries_them(sending_client, seeded, inbox, settings):
    readers = add_readers(seeded, 3)
    client, engine = sending_client, seeded.engine
    sign_in(client, "sam@example.org")
    post(
        client,
        f"/review/digests/{seeded.vol_digest}/approve",
        {"scheduled_for": "2026-03-09T07:00", "undecided": "send"},
    )
    port = free_port()
    down = web_settings(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    queue_digest(engine, down, seeded.vol_digest)
    send_digest(engine, down, seeded.vol_digest)
    page = client.get(f"/review/digests/{seeded.vol_digest}").text
    assert re.search(
        rf"sending: 0 of 3, 3 waiting since \d\d:\d\d \(connection refused by 127\.0\.0\.1:{port}\)", page
    ), page
    assert page.count(f"connection refused by 127.0.0.1:{port}") >= 4  # the badge, the summary, each row
    assert all(email in page for email in readers)
    assert "Retry now" not in page  # curators see it; only admins retry
    assert post(client, f"/review/digests/{seeded.vol_digest}/retry").status_code == 403
    assert "waiting" in client.get("/review").text

    post(client, "/signout")
    sign_in(client, "admin@example.org")
    assert "Retry now" in client.get(f"/review/digests/{seeded.vol_digest}").text
    retried = post(client, f"/review/digests/{seeded.vol_digest}/retry")
    assert "3 waiting emails are due now; the publishing flow is sending it now." in flash_of(client, retried)
    assert sorted(message["To"].addresses[0].addr_spec for message in inbox.messages) == readers
    assert delivery_summary(engine, seeded.vol_digest).all_sent


def test_a_scheduled_send_can_be_cancelled_until_the_first_email_goes_out(sending_client, seeded, settings):
    add_readers(seeded, 2)
    client, engine = sending_client, seeded.engine
    sign_in(client, "sam@example.org")
    approve = {"scheduled_for": "2026-03-09T07:00", "undecided": "send"}
    post(client, f"/review/digests/{seeded.vol_digest}/approve", approve)
    queue_digest(engine, settings, seeded.vol_digest)  # the publishing run has queued, not sent
    assert "Cancel the approval" in client.get(f"/review/digests/{seeded.vol_digest}").text
    cancelled = post(client, f"/review/digests/{seeded.vol_digest}/cancel")
    assert "Approval cancelled" in flash_of(client, cancelled)
    digest = get_digest(engine, seeded.vol_digest)
    assert digest.status == "draft" and digest.approved_by is None and digest.scheduled_for is None
    assert sum(outbox_counts(engine, seeded.vol_digest).values()) == 0

    post(client, f"/review/digests/{seeded.vol_digest}/approve", approve)
    down = web_settings(settings, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    queue_digest(engine, down, seeded.vol_digest)
    send_digest(engine, down, seeded.vol_digest)  # tried (and waiting): it has started going out
    assert "Cancel the approval" not in client.get(f"/review/digests/{seeded.vol_digest}").text
    refused = post(client, f"/review/digests/{seeded.vol_digest}/cancel")
    assert "has started going out" in flash_of(client, refused)
    assert get_digest(engine, seeded.vol_digest).status == "approved"


def test_send_me_a_test_emails_the_curator_what_a_member_of_those_topics_gets(sending_client, seeded, inbox):
    sign_in(sending_client, "sam@example.org")
    response = post(sending_client, f"/review/digests/{seeded.vol_digest}/test", {"topic": [str(seeded.wellbeing)]})
    assert "A test email went to sam@example.org." in flash_of(sending_client, response)
    (message,) = inbox.messages
    assert message["To"].addresses[0].addr_spec == "sam@example.org"
    html = message.get_body(("html",)).get_content()
    assert 'id="topic-wellbeing"' in html and 'id="topic-recruitment"' not in html
    assert get_digest(seeded.engine, seeded.vol_digest).status == "draft"


def test_a_browser_sees_the_waiting_rows_and_the_last_error_on_the_draft_page(browser, live_server, tmp_path):
    base, seeded = live_server
    readers = add_readers(seeded, 3)
    approve_digest(seeded.engine, seeded.vol_digest, "sam@example.org")
    port = free_port()
    down = web_settings(
        Settings(var_dir=tmp_path / "var", database_url=seeded.engine.url.render_as_string(hide_password=False)),
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
    )
    queue_digest(seeded.engine, down, seeded.vol_digest)
    send_digest(seeded.engine, down, seeded.vol_digest)
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{base}/review/digests/{seeded.vol_digest}")
    page.get_by_label("Email").first.fill("sam@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(f"{base}/review/digests/{seeded.vol_digest}")
    badge = page.locator("#digest-status").inner_text()
    assert re.fullmatch(
        rf"sending: 0 of 3, 3 waiting since \d\d:\d\d \(connection refused by 127\.0\.0\.1:{port}\)", badge
    )
    rows = page.locator("table.waiting-rows tbody tr")
    assert rows.count() == 3
    for index, email in enumerate(readers):
        cells = rows.nth(index).locator("td").all_inner_texts()
        assert cells[0] == email and cells[1] == "1" and cells[2] == f"connection refused by 127.0.0.1:{port}"
    assert page.locator(".delivery-waiting").inner_text() == "3"
    assert page.get_by_role("button", name="Retry now").count() == 0  # a curator; admins retry


def test_the_badge_says_sent_only_when_every_email_is_sent():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from signpost.store.outbox import DeliverySummary
    from signpost.web.sending import delivery_badge

    def summary(waiting: int = 0, **counts: int) -> DeliverySummary:
        full = {"pending": 0, "sending": 0, "sent": 0, "failed": 0} | counts
        since = datetime(2026, 3, 9, 22, 41, tzinfo=UTC) if waiting else None
        return DeliverySummary(full, 0, waiting, since, None, "connection refused by localhost:587", [], [])

    approved, sent = SimpleNamespace(status="approved"), SimpleNamespace(status="sent")
    assert delivery_badge(sent, summary(sent=300), "UTC") == "sent"
    assert delivery_badge(approved, summary(), "UTC") == "approved"
    assert delivery_badge(approved, summary(sent=100, pending=200), "UTC") == "sending: 100 of 300"
    assert (
        delivery_badge(approved, summary(3, sent=297, pending=3), "UTC")
        == "sending: 297 of 300, 3 waiting since 09 Mar 22:41 (connection refused by localhost:587)"
    )
    assert delivery_badge(sent, summary(sent=298, failed=2), "UTC") == "sent to 298 of 300, 2 refused"
