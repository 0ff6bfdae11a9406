"""Bounces and complaints through the bounce listener and a real IMAP mailbox (Dovecot over TLS): DSNs per
recipient, ARF complaints that unsubscribe everywhere, prose bounces believed by their VERP address alone."""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from datetime import UTC, datetime

import pytest
from bounce_messages import arf, dsn, out_of_office, prose_bounce
from mailservers import Dovecot, require_dovecot

from builders import approved_digest, store_articles
from signpost.config.settings import Settings
from signpost.digests.bounce_listener import BounceListener
from signpost.digests.bounce_mailbox import poll_mailbox
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.mail_sink import free_port
from signpost.digests.verp import read_verp, verp_address
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import get_community, save_community
from signpost.store.members import MemberImport, confirm_membership, import_members, join_community, membership_status
from signpost.store.outbox import outbox_rows
from signpost.store.records import ExtractedArticle
from signpost.store.suppressions import delivery_state, is_suppressed, list_suppressions

BOUNCE_DOMAIN = "bounces.signpost.test"
SECRET = "test-secret"
TEXT = "Volunteer managers shared what worked this year. Teams that met monthly kept more volunteers."
MEMBERS = ["gone@example.net", "angry@example.net", "full@example.net", "fine@example.net"]


def settings_for(store_url: str, tmp_path, smtp_port: int, **extra) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=store_url,
        secret_key=SECRET,
        public_url="https://signpost.example.org",
        mail_from="Volunteer network <digest@signpost.test>",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        bounce_domain=BOUNCE_DOMAIN,
        **extra,
    )


def sent_digest(engine, settings: Settings) -> tuple[dict[str, dict], int]:
    """Two communities sharing the members; a digest of the first sent to them all: (rows by email, other id)."""
    for slug in ("vol", "trustees"):
        save_community(engine, slug=slug, name=slug.capitalize(), topic_list=[{"slug": "news", "name": "News"}])
    community, other = get_community(engine, "vol"), get_community(engine, "trustees")
    for target in (community, other):
        rows = [MemberImport(email, "", [target.topics[0].id]) for email in MEMBERS]
        import_members(engine, target.id, rows, confirmed=True)
    url = "https://news.example/1"
    [article] = store_articles(
        engine, "News", "https://news.example", [ExtractedArticle(canonical_url=url, title="Story", text=TEXT)]
    )
    candidate = DraftCandidate(article, "Story", TEXT, url, "News", None, None, 1.0)
    digest_id = approved_digest(
        engine, community, {community.topics[0].id: [candidate]}, datetime(2026, 3, 2, tzinfo=UTC)
    )
    queue_digest(engine, settings, digest_id)
    assert send_digest(engine, settings, digest_id).sent == len(MEMBERS)
    return {row["email"]: row for row in outbox_rows(engine, digest_id)}, other.id


def verp(row: dict) -> str:
    return verp_address(SECRET, BOUNCE_DOMAIN, row["id"])


def test_verp_addresses_are_signed_and_name_their_row():
    address = verp_address(SECRET, BOUNCE_DOMAIN, 42)
    assert address.startswith("bounces+42-") and address.endswith("@" + BOUNCE_DOMAIN)
    assert read_verp(SECRET, BOUNCE_DOMAIN, address) == 42
    assert read_verp(SECRET, BOUNCE_DOMAIN, address.upper()) == 42  # a mail system folded its case
    assert read_verp(SECRET, BOUNCE_DOMAIN, address.replace("+42-", "+43-")) is None
    assert read_verp("another-secret", BOUNCE_DOMAIN, address) is None
    assert read_verp(SECRET, "elsewhere.test", address) is None


def test_the_listener_takes_a_dsn_and_an_arf_complaint_and_refuses_forged_addresses(engine, store_url, tmp_path, smtp):
    _, port = smtp
    settings = settings_for(store_url, tmp_path, port)
    rows, other_id = sent_digest(engine, settings)
    assert {sender for sender in (read_verp(SECRET, BOUNCE_DOMAIN, verp(row)) for row in rows.values())} == {
        row["id"] for row in rows.values()
    }
    listener_port = free_port()
    with BounceListener(engine, settings, "127.0.0.1", listener_port) as listener:
        with smtplib.SMTP("127.0.0.1", listener_port) as client:
            gone = rows["gone@example.net"]
            client.sendmail(
                "",
                [verp(gone)],
                dsn(verp(gone), "gone@example.net", "5.1.1", "550 5.1.1 no such user", gone["message_id"]),
            )
            angry = rows["angry@example.net"]
            # Feedback loops write to their own address, and name the VERP sender inside the report.
            client.sendmail(
                "",
                [f"fbl@{BOUNCE_DOMAIN}"],
                arf(f"fbl@{BOUNCE_DOMAIN}", verp(angry), "angry@example.net", angry["message_id"]),
            )
            forged = verp(rows["fine@example.net"]).replace("bounces+", "bounces+9").lower()
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("", [forged], prose_bounce(forged, "fine@example.net", "550 5.1.1 gone"))
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("", ["someone@example.net"], b"Subject: relay?\r\n\r\nno\r\n")
        assert listener.handler.recorded == 2
    by_email = {item.email: item for item in list_suppressions(engine)}
    assert set(by_email) == {"gone@example.net", "angry@example.net"}
    assert (
        by_email["gone@example.net"].reason == "hard"
        and "550 5.1.1 no such user" in by_email["gone@example.net"].detail
    )
    assert by_email["angry@example.net"].reason == "complaint"
    after = {row["email"]: row for row in outbox_rows(engine, gone["digest_id"])}
    assert [delivery_state(after[email]) for email in MEMBERS] == ["bounced", "complained", "sent", "sent"]
    angry_member = angry["member_id"]
    # A complaint unsubscribes the member from every community at once, not just the one that mailed them.
    assert membership_status(engine, angry_member, other_id) == "unsubscribed"
    assert membership_status(engine, angry_member, get_community(engine, "vol").id) == "unsubscribed"
    assert membership_status(engine, after["fine@example.net"]["member_id"], other_id) == "confirmed"


def test_a_new_double_opt_in_lifts_a_suppression(engine, store_url, tmp_path, smtp):
    _, port = smtp
    settings = settings_for(store_url, tmp_path, port)
    rows, _ = sent_digest(engine, settings)
    gone = rows["gone@example.net"]
    listener_port = free_port()
    with (
        BounceListener(engine, settings, "127.0.0.1", listener_port),
        smtplib.SMTP("127.0.0.1", listener_port) as client,
    ):
        client.sendmail(
            "", [verp(gone)], dsn(verp(gone), "gone@example.net", "5.1.1", "550 no such user", gone["message_id"])
        )
    assert is_suppressed(engine, gone["member_id"])
    community = get_community(engine, "trustees")
    join_community(engine, gone["member_id"], community.id, [community.topics[0].id])
    confirm_membership(engine, gone["member_id"], community.id)
    assert not is_suppressed(engine, gone["member_id"])


def test_the_mailbox_poller_reads_bounces_over_imap_tls_and_deletes_what_it_recorded(engine, store_url, tmp_path, smtp):
    require_dovecot()
    _, port = smtp
    with Dovecot() as dovecot:
        settings = settings_for(
            store_url,
            tmp_path,
            port,
            bounce_imap_host="127.0.0.1",
            bounce_imap_port=dovecot.port,
            bounce_imap_username=dovecot.user,
            bounce_imap_password=dovecot.password,
            bounce_imap_ca_file=str(dovecot.ca_file),
        )
        rows, _ = sent_digest(engine, settings)
        gone, full, fine = rows["gone@example.net"], rows["full@example.net"], rows["fine@example.net"]
        forged = verp(fine).replace("bounces+", "bounces+9")
        context = ssl.create_default_context(cafile=str(dovecot.ca_file))
        with imaplib.IMAP4_SSL("127.0.0.1", dovecot.port, ssl_context=context) as imap:
            imap.login(dovecot.user, dovecot.password)
            for message in (
                dsn(verp(gone), "gone@example.net", "5.1.1", "550 5.1.1 user unknown", gone["message_id"]),
                prose_bounce(verp(full), "full@example.net", "452 4.2.2 mailbox over quota"),
                prose_bounce(forged, "fine@example.net", "550 5.1.1 forged"),
                out_of_office(verp(fine)),
            ):
                assert imap.append("INBOX", None, None, message)[0] == "OK"
        report = poll_mailbox(engine, settings)
        assert (report.messages, report.reports, report.suppressed, report.kept) == (4, 2, 1, 0)
        with imaplib.IMAP4_SSL("127.0.0.1", dovecot.port, ssl_context=context) as imap:
            imap.login(dovecot.user, dovecot.password)
            assert imap.select("INBOX") == ("OK", [b"0"])
    [suppressed] = list_suppressions(engine)
    assert (suppressed.email, suppressed.reason, suppressed.source) == ("gone@example.net", "hard", "imap")
    after = {row["email"]: row for row in outbox_rows(engine, gone["digest_id"])}
    assert delivery_state(after["full@example.net"]) == "soft-bounced"  # one soft bounce of three allowed
    assert delivery_state(after["fine@example.net"]) == "sent"


def test_the_mailbox_poller_refuses_a_server_whose_certificate_it_cannot_verify(engine, store_url, tmp_path):
    require_dovecot()
    with Dovecot() as dovecot:
        settings = Settings(
            database_url=store_url,
            secret_key=SECRET,
            bounce_domain=BOUNCE_DOMAIN,
            bounce_imap_host="127.0.0.1",
            bounce_imap_port=dovecot.port,
            bounce_imap_username=dovecot.user,
            bounce_imap_password=dovecot.password,
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            poll_mailbox(engine, settings)


class RefusingServer:
    """A real SMTP server that refuses one address for good (550) at RCPT, as a receiving MX does."""

    def __init__(self) -> None:
        self.accepted: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.accepted.extend(envelope.rcpt_tos)
        return "250 2.0.0 OK"


def test_a_refusal_at_send_time_counts_as_a_hard_bounce_before_the_next_digest(engine, store_url, tmp_path):
    from aiosmtpd.controller import Controller

    handler = RefusingServer()
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        settings = settings_for(store_url, tmp_path, server.port)
        save_community(engine, slug="vol", name="Vol", topic_list=[{"slug": "news", "name": "News"}])
        community = get_community(engine, "vol")
        rows = [MemberImport(email, "", [community.topics[0].id]) for email in ("gone@example.net", "fine@example.net")]
        import_members(engine, community.id, rows, confirmed=True)
        digests = []
        for week, url in enumerate(("https://news.example/1", "https://news.example/2")):
            [article] = store_articles(
                engine, "News", "https://news.example", [ExtractedArticle(canonical_url=url, title="Story", text=TEXT)]
            )
            candidate = DraftCandidate(article, "Story", TEXT, url, "News", None, None, 1.0)
            digests.append(
                approved_digest(
                    engine,
                    community,
                    {community.topics[0].id: [candidate]},
                    datetime(2026, 3, 2 + 7 * week, tzinfo=UTC),
                )
            )
        queue_digest(engine, settings, digests[0])
        report = send_digest(engine, settings, digests[0])
        assert (report.sent, report.failed) == (1, 1)
        assert queue_digest(engine, settings, digests[1]) == 1
    finally:
        server.stop()
    [suppressed] = list_suppressions(engine)
    assert (suppressed.email, suppressed.reason, suppressed.source) == ("gone@example.net", "hard", "refused")
    assert "User unknown" in suppressed.detail
    assert [row["email"] for row in outbox_rows(engine, digests[1])] == ["fine@example.net"]
    assert {row["email"]: delivery_state(row) for row in outbox_rows(engine, digests[0])} == {
        "gone@example.net": "bounced",
        "fine@example.net": "sent",
    }


class BouncesBeforeAccepting:
    """A relay that hands the bounce listener a 4.2.2 DSN for the message before answering 250 for it: the report
    always arrives while the sender's row is still "sending", as a fast relay's can on a busy night."""

    def __init__(self, listener_port: int) -> None:
        self.listener_port = listener_port

    async def handle_DATA(self, server, session, envelope) -> str:
        [recipient] = envelope.rcpt_tos
        message_id = next(
            line.split(":", 1)[1].strip()
            for line in envelope.content.decode().splitlines()
            if line.lower().startswith("message-id:")
        )
        report = dsn(envelope.mail_from, recipient, "4.2.2", "452 4.2.2 mailbox full", message_id, action="failed")
        with smtplib.SMTP("127.0.0.1", self.listener_port) as client:
            client.sendmail("", [envelope.mail_from], report)
        return "250 2.0.0 queued"


def test_a_soft_bounce_that_arrives_before_the_send_is_marked_still_counts_toward_the_limit(
    engine, store_url, tmp_path
):
    from aiosmtpd.controller import Controller

    listener_port = free_port()
    relay = Controller(BouncesBeforeAccepting(listener_port), hostname="127.0.0.1", port=free_port())
    relay.start()
    try:
        settings = settings_for(store_url, tmp_path, relay.port, soft_bounce_limit=2)
        save_community(engine, slug="vol", name="Vol", topic_list=[{"slug": "news", "name": "News"}])
        community = get_community(engine, "vol")
        import_members(
            engine, community.id, [MemberImport("full@example.net", "", [community.topics[0].id])], confirmed=True
        )
        with BounceListener(engine, settings, "127.0.0.1", listener_port) as listener:
            for week in range(2):
                url = f"https://news.example/{week}"
                [article] = store_articles(
                    engine, "News", "https://news.example", [ExtractedArticle(canonical_url=url, title="S", text=TEXT)]
                )
                candidate = DraftCandidate(article, "S", TEXT, url, "News", None, None, 1.0)
                digest_id = approved_digest(
                    engine,
                    community,
                    {community.topics[0].id: [candidate]},
                    datetime(2026, 3, 2 + 7 * week, tzinfo=UTC),
                )
                assert queue_digest(engine, settings, digest_id) == 1
                assert send_digest(engine, settings, digest_id).sent == 1
                [row] = outbox_rows(engine, digest_id)
                assert (row["state"], delivery_state(row)) == ("sent", "soft-bounced")
            assert listener.handler.recorded == 2
    finally:
        relay.stop()
    [suppressed] = list_suppressions(engine)
    assert (suppressed.email, suppressed.reason) == ("full@example.net", "soft")
