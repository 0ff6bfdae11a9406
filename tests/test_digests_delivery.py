"""Delivery on both databases through a real SMTP server on loopback: everyone once, even after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import update

from builders import approved_digest, store_articles
from conftest import Inbox
from signpost.config.settings import Settings
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.mail_sink import free_port
from signpost.digests.smtp import check_smtp
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import get_community, save_community
from signpost.store.db import utcnow
from signpost.store.digests import get_digest
from signpost.store.members import (
    MemberImport,
    add_member,
    confirm_membership,
    import_members,
    join_community,
    unsubscribe,
)
from signpost.store.outbox import delivery_summary, outbox_counts, outbox_rows
from signpost.store.records import ExtractedArticle
from signpost.store.schema import outbox

ROOT = Path(__file__).resolve().parents[1]
WEEK = datetime(2026, 3, 2, tzinfo=UTC)
TEXT = "Volunteer managers shared what worked this year. Teams that met monthly kept more volunteers. Trustees agreed."


def mail_settings(store_url: str, tmp_path: Path, port: int, **extra: object) -> Settings:
    values = {"delivery_retry_seconds": 0, **extra}  # rows a run left waiting are due again at once, unless asked
    return Settings(
        var_dir=tmp_path / "var",
        database_url=store_url,
        secret_key="test-secret",
        public_url="https://signpost.example.org",
        mail_from="Volunteer network <digest@signpost.example.org>",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_timeout=10,
        **values,
    )


def build(engine, filler: int = 0) -> tuple[int, dict[str, set[str]]]:
    """An approved digest with items in two of three topics, and members in every situation."""
    save_community(
        engine,
        slug="vol",
        name="Volunteer network",
        items_per_topic=2,
        topic_list=[{"slug": slug, "name": slug.capitalize()} for slug in ("recruitment", "wellbeing", "governance")],
    )
    community = get_community(engine, "vol")
    recruitment, wellbeing, governance = (topic.id for topic in community.topics)
    articles = [
        ExtractedArticle(canonical_url=f"https://news.example/{n}", title=f"Story {n}", text=f"{TEXT} ({n})")
        for n in range(4)
    ]
    ids = store_articles(engine, "Sector News", "https://news.example", articles)
    candidates = {
        topic: [DraftCandidate(ids[n], f"Story {n}", TEXT, f"https://news.example/{n}", "Sector News", None, None, 1.0)]
        for topic, n in ((recruitment, 0), (wellbeing, 1))
    }
    candidates[recruitment].append(
        DraftCandidate(ids[2], "Story 2", TEXT, "https://news.example/2", "Sector News", None, None, 0.5)
    )
    digest_id = approved_digest(engine, community, candidates, WEEK)
    expected: dict[str, set[str]] = {}
    for email, topics, state in (
        ("rec@example.net", [recruitment], "confirmed"),
        ("well@example.net", [wellbeing], "confirmed"),
        ("both@example.net", [recruitment, wellbeing, governance], "confirmed"),
        ("gov@example.net", [governance], "confirmed"),  # follows only a topic without items: no email
        ("pending@example.net", [recruitment], "pending"),  # never confirmed: no email
        ("gone@example.net", [recruitment], "unsubscribed"),  # unsubscribed: no email
    ):
        member_id = add_member(engine, email, email.split("@")[0].capitalize())
        join_community(engine, member_id, community.id, topics)
        if state != "pending":
            confirm_membership(engine, member_id, community.id)
        if state == "unsubscribed":
            unsubscribe(engine, member_id, community.id)
        names = {recruitment: "recruitment", wellbeing: "wellbeing"}
        if state == "confirmed" and set(topics) & set(names):
            expected[email] = {names[topic] for topic in topics if topic in names}
    rows = [
        MemberImport(
            f"filler{n}@example.net", f"Filler {n}", [[recruitment], [wellbeing], [recruitment, wellbeing]][n % 3]
        )
        for n in range(filler)
    ]
    import_members(engine, community.id, rows, confirmed=True)
    for row in rows:
        expected[row.email] = {"recruitment" if t == recruitment else "wellbeing" for t in row.topic_ids}
    return digest_id, expected


def sections_of(content: bytes) -> set[str]:
    page = message_from_bytes(content, policy=default).get_body(("html",)).get_content()
    return {slug for slug in ("recruitment", "wellbeing", "governance") if f'id="topic-{slug}"' in page}


def test_each_member_gets_one_email_with_exactly_their_topics(engine, store_url, tmp_path, smtp):
    inbox, port = smtp
    settings = mail_settings(store_url, tmp_path, port)
    digest_id, expected = build(engine)
    assert queue_digest(engine, settings, digest_id) == len(expected)
    assert queue_digest(engine, settings, digest_id) == 0  # idempotent
    seen: list[tuple[int, int]] = []
    report = send_digest(engine, settings, digest_id, progress=lambda done, total: seen.append((done, total)))
    assert (report.sent, report.failed, report.retry_later) == (len(expected), 0, 0)
    assert seen[-1] == (len(expected), len(expected))
    assert inbox.by_recipient() == Counter({email: 1 for email in expected})
    for rcpts, content in inbox.accepted:
        message = message_from_bytes(content, policy=default)
        assert sections_of(content) == expected[rcpts[0]]
        row = next(row for row in outbox_rows(engine, digest_id) if row["email"] == rcpts[0])
        assert (
            message["Message-ID"]
            == row["message_id"]
            == f"<digest-{digest_id}.member-{row['member_id']}.email@signpost.example.org>"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "<https://signpost.example.org/unsubscribe/" in str(message["List-Unsubscribe"])
        assert "<mailto:digest@signpost.example.org?subject=unsubscribe" in str(message["List-Unsubscribe"])
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert get_digest(engine, digest_id).status == "sent"
    again = send_digest(engine, settings, digest_id)
    assert again.sent == 0 and len(inbox.accepted) == len(expected)


def test_a_server_failing_mid_run_then_a_second_run_delivers_the_rest_once(engine, store_url, tmp_path, smtp):
    inbox, port = smtp
    settings = mail_settings(store_url, tmp_path, port)
    digest_id, expected = build(engine, filler=30)
    queue_digest(engine, settings, digest_id)
    inbox.refuse_after = 12
    first = send_digest(engine, settings, digest_id, batch_size=5)
    assert first.sent == 12 and first.retry_later == len(expected) - 12 and not first.finished
    assert outbox_counts(engine, digest_id)["sending"] == 0
    assert get_digest(engine, digest_id).status == "approved"
    inbox.refuse_after = None
    second = send_digest(engine, settings, digest_id, batch_size=5)
    assert second.sent == len(expected) - 12 and second.finished
    assert inbox.by_recipient() == Counter({email: 1 for email in expected})
    assert get_digest(engine, digest_id).status == "sent"


def test_no_server_leaves_every_row_pending(engine, store_url, tmp_path):
    settings = mail_settings(store_url, tmp_path, free_port())
    digest_id, expected = build(engine)
    queue_digest(engine, settings, digest_id)
    report = send_digest(engine, settings, digest_id)
    assert report.sent == 0 and report.retry_later == len(expected)
    assert outbox_counts(engine, digest_id)["pending"] == len(expected)


SENDER = """
import sys
from signpost.config.settings import load_settings
from signpost.digests.delivery import send_digest
from signpost.store.db import open_store
settings = load_settings()
send_digest(open_store(settings.store_url), settings, int(sys.argv[1]), batch_size=4)
"""


def test_a_sender_killed_mid_send_then_run_again_delivers_everyone_exactly_once(engine, store_url, tmp_path, smtp):
    inbox, port = smtp
    settings = mail_settings(store_url, tmp_path, port)
    digest_id, expected = build(engine, filler=20)
    queue_digest(engine, settings, digest_id)
    inbox.stall_at = 9  # the child is killed while the server holds its 9th message
    environment = {
        **os.environ,
        "SIGNPOST_DATABASE_URL": store_url,
        "SIGNPOST_SECRET_KEY": "test-secret",
        "SIGNPOST_PUBLIC_URL": "https://signpost.example.org",
        "SIGNPOST_MAIL_FROM": settings.mail_from,
        "SIGNPOST_SMTP_HOST": "127.0.0.1",
        "SIGNPOST_SMTP_PORT": str(port),
        "SIGNPOST_SMTP_SECURITY": "none",
    }
    child = subprocess.Popen([sys.executable, "-c", SENDER, str(digest_id)], cwd=tmp_path, env=environment)
    try:
        assert inbox.stalled.wait(60), "the sender never reached the 9th message"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    inbox.release.set()
    counts = outbox_counts(engine, digest_id)
    assert counts["sent"] == 8 and counts["sending"] >= 1  # the row in flight, and the rest of its batch
    # The restart knows the only sender is dead, so it takes the rows left in sending back at once.
    report = send_digest(engine, settings, digest_id, stale_after=timedelta(0))
    assert report.released == counts["sending"]
    assert report.finished and outbox_counts(engine, digest_id)["sent"] == len(expected)
    assert inbox.by_recipient() == Counter({email: 1 for email in expected})
    message_ids = [message_from_bytes(content, policy=default)["Message-ID"] for _, content in inbox.accepted]
    assert len(set(message_ids)) == len(expected)


def time_passes(engine, digest_id: int) -> None:
    """Every waiting row's wait is over, as if the clock had moved on to its next try."""
    with engine.begin() as connection:
        connection.execute(
            update(outbox)
            .where(outbox.c.digest_id == digest_id, outbox.c.next_attempt_at.is_not(None))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_an_outage_longer_than_every_retry_fails_nobody_and_the_server_back_gets_everyone_once(
    engine, store_url, tmp_path
):
    port = free_port()
    settings = mail_settings(store_url, tmp_path, port, delivery_retry_seconds=60, delivery_retry_max_seconds=600)
    digest_id, expected = build(engine, filler=10)
    queue_digest(engine, settings, digest_id)
    waits = []
    for _ in range(8):  # more tries than the sender ever gave a row before
        report = send_digest(engine, settings, digest_id)
        assert report.sent == report.failed == 0 and report.retry_later == len(expected)
        rows = outbox_rows(engine, digest_id)
        assert {row["state"] for row in rows} == {"pending"}
        # From the try to the next; a loaded machine may take a second or two between claiming a row and its mark.
        waits.append({int((row["next_attempt_at"] - row["claimed_at"]).total_seconds()) // 5 * 5 for row in rows})
        # Tried again at once, nothing happens: each row waits for its time.
        assert send_digest(engine, settings, digest_id).retry_later == len(expected)
        assert {row["attempts"] for row in outbox_rows(engine, digest_id)} == {len(waits)}
        time_passes(engine, digest_id)
    assert waits == [{60}, {120}, {240}, {480}, {600}, {600}, {600}, {600}]
    summary = delivery_summary(engine, digest_id)
    assert summary.counts["failed"] == 0 and summary.waiting == len(expected) and not summary.all_sent
    assert summary.last_error == f"connection refused by 127.0.0.1:{port}"
    assert get_digest(engine, digest_id).status == "approved"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = send_digest(engine, settings, digest_id)
    finally:
        controller.stop()
    assert report.finished and report.sent == len(expected)
    assert inbox.by_recipient() == Counter({email: 1 for email in expected})
    assert delivery_summary(engine, digest_id).all_sent and get_digest(engine, digest_id).status == "sent"


class RefusingInbox(Inbox):
    """Refuses one mailbox for good (550) and another for now (450) at RCPT TO; takes the rest."""

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        if address.startswith("well@"):
            return "550 5.1.1 <well@example.net>: mailbox unknown"
        if address.startswith("rec@"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_only_a_permanent_refusal_of_the_recipient_ends_a_row_as_failed(engine, store_url, tmp_path):
    inbox = RefusingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = mail_settings(store_url, tmp_path, controller.port, delivery_retry_seconds=60)
        digest_id, expected = build(engine)
        queue_digest(engine, settings, digest_id)
        report = send_digest(engine, settings, digest_id)
    finally:
        controller.stop()
    assert (report.sent, report.failed, report.retry_later) == (len(expected) - 2, 1, 1)
    by_email = {row["email"]: row for row in outbox_rows(engine, digest_id)}
    assert by_email["well@example.net"]["state"] == "failed"
    assert by_email["well@example.net"]["last_error"] == "550 5.1.1 <well@example.net>: mailbox unknown"
    assert by_email["rec@example.net"]["state"] == "pending"
    assert by_email["rec@example.net"]["last_error"] == "450 4.2.1 mailbox busy, try later"
    summary = delivery_summary(engine, digest_id)
    assert [row["email"] for row in summary.failed_rows] == ["well@example.net"]
    assert [row["email"] for row in summary.waiting_rows] == ["rec@example.net"]
    assert get_digest(engine, digest_id).status == "approved"


def test_the_check_before_a_send_says_why_the_server_cannot_take_mail(store_url, tmp_path, smtp):
    _, port = smtp
    assert check_smtp(mail_settings(store_url, tmp_path, port)) is None
    down = free_port()
    assert check_smtp(mail_settings(store_url, tmp_path, down)) == f"connection refused by 127.0.0.1:{down}"
    login = mail_settings(store_url, tmp_path, port, smtp_username="sam", smtp_password="secret")
    assert "SMTP AUTH extension not supported" in check_smtp(login)


def test_two_sender_processes_deliver_everyone_exactly_once(engine, store_url, tmp_path, smtp):
    inbox, port = smtp
    settings = mail_settings(store_url, tmp_path, port, smtp_connections=2)
    digest_id, expected = build(engine, filler=40)
    queue_digest(engine, settings, digest_id)
    seen: list[int] = []
    report = send_digest(engine, settings, digest_id, processes=2, batch_size=5, progress=lambda d, t: seen.append(d))
    assert report.finished and report.sent == len(expected) and seen[-1] <= len(expected)
    assert inbox.by_recipient() == Counter({email: 1 for email in expected})
    assert get_digest(engine, digest_id).status == "sent"
