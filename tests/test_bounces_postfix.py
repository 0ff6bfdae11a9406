"""Bounces through Debian's Postfix on loopback: Postfix writes the DSN to the VERP address, Signpost's listener
takes it, the member ends suppressed and the next digest has no row for them."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from mailservers import Postfix, require_postfix

from builders import approved_digest, store_articles
from signpost.config.settings import Settings
from signpost.digests.bounce_listener import BounceListener
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.mail_sink import free_port
from signpost.digests.verp import verp_address
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import get_community, save_community
from signpost.store.members import MemberImport, import_members
from signpost.store.outbox import outbox_rows
from signpost.store.records import ExtractedArticle
from signpost.store.suppressions import delivery_state, list_suppressions

WEEK = datetime(2026, 3, 2, tzinfo=UTC)
TEXT = "Volunteer managers shared what worked this year. Teams that met monthly kept more volunteers."
BOUNCE_DOMAIN = "bounces.signpost.test"


class FullMailbox:
    """The next hop of the domain full.test: a real SMTP server whose every mailbox is over quota (452)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        await asyncio.sleep(0)
        return "452 4.2.2 mailbox full"


class Mailbox:
    """The next hop of the domain elsewhere.test: a real SMTP server that keeps what it accepts, envelope too."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.accepted.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 delivered"


def settings_for(store_url: str, tmp_path, postfix_port: int, listener_port: int, **extra) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=store_url,
        secret_key="test-secret",
        public_url="https://signpost.example.org",
        mail_from="Volunteer network <digest@signpost.test>",
        smtp_host="127.0.0.1",
        smtp_port=postfix_port,
        smtp_security="none",
        smtp_timeout=10,
        bounce_domain=BOUNCE_DOMAIN,
        bounce_listen=f"127.0.0.1:{listener_port}",
        **extra,
    )


def community_with(engine, emails: list[str]):
    save_community(engine, slug="vol", name="Volunteer network", topic_list=[{"slug": "news", "name": "News"}])
    community = get_community(engine, "vol")
    import_members(
        engine, community.id, [MemberImport(email, "", [community.topics[0].id]) for email in emails], confirmed=True
    )
    return community


def week_digest(engine, community, week: int) -> int:
    url = f"https://news.example/{week}"
    [article] = store_articles(
        engine,
        "Sector News",
        "https://news.example",
        [ExtractedArticle(canonical_url=url, title=f"Story {week}", text=TEXT)],
    )
    candidate = DraftCandidate(article, f"Story {week}", TEXT, url, "Sector News", None, None, 1.0)
    return approved_digest(engine, community, {community.topics[0].id: [candidate]}, WEEK + timedelta(days=7 * week))


def wait_for(condition, seconds: float, postfix: Postfix) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up after {seconds} s; Postfix's log:\n{postfix.log()[-4000:]}")


def rows_by_email(engine, digest_id: int) -> dict[str, dict]:
    return {row["email"]: row for row in outbox_rows(engine, digest_id)}


def test_a_hard_bounce_written_by_postfix_suppresses_the_member_and_the_next_digest_skips_them(
    engine, store_url, tmp_path
):
    require_postfix()
    listener_port = free_port()
    mailbox = Mailbox()
    elsewhere = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    elsewhere.start()
    transports = {
        BOUNCE_DOMAIN: f"smtp:[127.0.0.1]:{listener_port}",
        "elsewhere.test": f"smtp:[127.0.0.1]:{elsewhere.port}",
    }
    with Postfix(transports) as postfix:
        settings = settings_for(store_url, tmp_path, postfix.port, listener_port)
        community = community_with(engine, ["gone-member-7@local.test", "kept@elsewhere.test"])
        with BounceListener(engine, settings, "127.0.0.1", listener_port) as listener:
            first = week_digest(engine, community, 0)
            queue_digest(engine, settings, first)
            report = send_digest(engine, settings, first)
            assert report.sent == 2  # Postfix took both: the failure comes later, as its own DSN
            wait_for(lambda: list_suppressions(engine), 30, postfix)
        [suppressed] = list_suppressions(engine)
        assert suppressed.email == "gone-member-7@local.test"
        assert suppressed.reason == "hard" and suppressed.source == "smtp"
        assert 'unknown user: "gone-member-7"' in suppressed.detail
        assert listener.handler.recorded == 1
        rows = rows_by_email(engine, first)
        assert delivery_state(rows["gone-member-7@local.test"]) == "bounced"
        assert delivery_state(rows["kept@elsewhere.test"]) == "sent"
        second = week_digest(engine, community, 1)
        assert queue_digest(engine, settings, second) == 1
        assert set(rows_by_email(engine, second)) == {"kept@elsewhere.test"}
    elsewhere.stop()
    [(mail_from, recipients, _content)] = mailbox.accepted
    kept_row = rows_by_email(engine, first)["kept@elsewhere.test"]
    assert recipients == ["kept@elsewhere.test"]
    assert mail_from == verp_address("test-secret", BOUNCE_DOMAIN, kept_row["id"])


def test_a_soft_bounce_counts_once_and_suppresses_only_at_the_limit(engine, store_url, tmp_path):
    require_postfix()
    listener_port = free_port()
    full = Controller(FullMailbox(), hostname="127.0.0.1", port=free_port())
    full.start()
    try:
        transports = {BOUNCE_DOMAIN: f"smtp:[127.0.0.1]:{listener_port}", "full.test": f"smtp:[127.0.0.1]:{full.port}"}
        with Postfix(transports) as postfix:
            settings = settings_for(store_url, tmp_path, postfix.port, listener_port, soft_bounce_limit=2)
            community = community_with(engine, ["over-quota@full.test"])
            with BounceListener(engine, settings, "127.0.0.1", listener_port) as listener:
                first = week_digest(engine, community, 0)
                queue_digest(engine, settings, first)
                assert send_digest(engine, settings, first).sent == 1
                wait_for(lambda: listener.handler.recorded == 1, 30, postfix)
                [row] = outbox_rows(engine, first)
                assert delivery_state(row) == "soft-bounced"
                assert list_suppressions(engine) == []  # one soft bounce is not enough
                second = week_digest(engine, community, 1)
                assert queue_digest(engine, settings, second) == 1
                assert send_digest(engine, settings, second).sent == 1
                wait_for(lambda: list_suppressions(engine), 30, postfix)
        [suppressed] = list_suppressions(engine)
        assert suppressed.reason == "soft" and "452 4.2.2 mailbox full" in suppressed.detail
        third = week_digest(engine, community, 2)
        assert queue_digest(engine, settings, third) == 0
    finally:
        full.stop()


@pytest.mark.parametrize("protocol", ["lmtp"])
def test_postfix_hands_bounces_to_the_listener_over_lmtp(engine, store_url, tmp_path, protocol):
    require_postfix()
    listener_port = free_port()
    with Postfix({BOUNCE_DOMAIN: f"lmtp:inet:127.0.0.1:{listener_port}"}) as postfix:
        settings = settings_for(store_url, tmp_path, postfix.port, listener_port, bounce_protocol=protocol)
        community = community_with(engine, ["gone-member-8@local.test"])
        with BounceListener(engine, settings, "127.0.0.1", listener_port, protocol):
            digest = week_digest(engine, community, 0)
            queue_digest(engine, settings, digest)
            send_digest(engine, settings, digest)
            wait_for(lambda: list_suppressions(engine), 30, postfix)
        assert list_suppressions(engine)[0].email == "gone-member-8@local.test"
