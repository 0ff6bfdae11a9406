"""Digests signed with DKIM (checked by dkimpy's verifier) with Feedback-ID and List-Id, the DNS records
`signpost mail check` prints for it, and the `signpost mail` commands over the suppression list."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import dkim
import pytest
from typer.testing import CliRunner

from builders import approved_digest, store_articles
from signpost.cli import context
from signpost.cli.main import app
from signpost.config.settings import Settings
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.dns_records import new_dkim_key
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import get_community, save_community
from signpost.store.members import MemberImport, import_members
from signpost.store.outbox import outbox_rows
from signpost.store.records import ExtractedArticle
from signpost.store.suppressions import BounceReport, list_suppressions, record_bounce

TEXT = "Volunteer managers shared what worked this year. Teams that met monthly kept more volunteers."


@pytest.fixture
def signpost(monkeypatch):
    monkeypatch.setattr(context.console, "width", 240)
    monkeypatch.setattr(context.errors, "width", 240)
    runner = CliRunner()

    def run(*args: str, expect: int = 0):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == expect, (args, result.output)
        return result

    return run


def sent_digest(engine, settings: Settings, emails: list[str]) -> int:
    save_community(engine, slug="vol", name="Volunteer network", topic_list=[{"slug": "news", "name": "News"}])
    community = get_community(engine, "vol")
    import_members(
        engine, community.id, [MemberImport(email, "", [community.topics[0].id]) for email in emails], confirmed=True
    )
    url = "https://news.example/1"
    [article] = store_articles(
        engine, "News", "https://news.example", [ExtractedArticle(canonical_url=url, title="Story", text=TEXT)]
    )
    candidate = DraftCandidate(article, "Story", TEXT, url, "News", None, None, 1.0)
    digest_id = approved_digest(
        engine, community, {community.topics[0].id: [candidate]}, datetime(2026, 3, 2, tzinfo=UTC)
    )
    queue_digest(engine, settings, digest_id)
    assert send_digest(engine, settings, digest_id).sent == len(emails)
    return digest_id


def test_digests_are_dkim_signed_over_the_rfc_8058_headers_and_verify(
    engine, store_url, tmp_path, smtp, signpost, monkeypatch
):
    inbox, port = smtp
    key_file = tmp_path / "dkim.pem"
    signpost("mail", "dkim-key", str(key_file))
    assert key_file.stat().st_mode & 0o777 == 0o600
    settings = Settings(
        var_dir=tmp_path / "var",
        database_url=store_url,
        secret_key="test-secret",
        public_url="https://signpost.example.org",
        mail_from="Volunteer network <digest@signpost.example.org>",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        bounce_domain="bounces.signpost.example.org",
        dkim_selector="sp2026",
        dkim_key_file=key_file,
    )
    digest_id = sent_digest(engine, settings, ["ann@example.net"])
    for name, value in {
        "MAIL_FROM": settings.mail_from,
        "BOUNCE_DOMAIN": settings.bounce_domain,
        "DKIM_SELECTOR": "sp2026",
        "DKIM_KEY_FILE": str(key_file),
    }.items():
        monkeypatch.setenv(f"SIGNPOST_{name}", value)
    printed = signpost(
        "mail", "check", "--ip", "192.0.2.10", "--include", "relay.example.net", "--mx-host", "mx.signpost.example.org"
    ).output
    assert 'bounces.signpost.example.org. IN TXT "v=spf1 ip4:192.0.2.10 include:relay.example.net -all"' in printed
    assert "bounces.signpost.example.org. IN MX 10 mx.signpost.example.org." in printed
    assert '_dmarc.signpost.example.org. IN TXT "v=DMARC1; p=none;' in printed
    # The DKIM key record, as published: the quoted strings joined.
    record_line = next(
        line for line in printed.splitlines() if line.startswith("sp2026._domainkey.signpost.example.org.")
    )
    published = "".join(re.findall(r'"([^"]*)"', record_line)).encode()
    [(recipients, raw)] = inbox.accepted
    assert raw.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"sp2026._domainkey.signpost.example.org."
        return published

    assert dkim.verify(raw, dnsfunc=dns)
    signature = message_from_bytes(raw, policy=default)["DKIM-Signature"]
    signed = {
        field.strip() for field in re.search(r"h=([^;]+);", str(signature).replace("\r\n", "")).group(1).split(":")
    }
    assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post"} <= signed
    assert "d=signpost.example.org" in str(signature) and "s=sp2026" in str(signature)
    tampered = raw.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: List-Unsubscribe=Other"
    )
    assert not dkim.verify(tampered, dnsfunc=dns)
    message = message_from_bytes(raw, policy=default)
    assert message["List-Id"] == "Volunteer network <vol.signpost.example.org>"
    assert message["Feedback-ID"] == f"{digest_id}:vol:digest:signpost.example.org"
    [row] = outbox_rows(engine, digest_id)
    assert recipients == ["ann@example.net"] and row["state"] == "sent"


def test_the_mail_commands_list_and_lift_suppressions(engine, store_url, tmp_path, smtp, signpost, monkeypatch):
    _, port = smtp
    settings = Settings(
        var_dir=tmp_path / "var",
        database_url=store_url,
        secret_key="test-secret",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        mail_from="Network <digest@signpost.example.org>",
    )
    digest_id = sent_digest(engine, settings, ["gone@example.net", "fine@example.net"])
    record_bounce(engine, BounceReport("hard", "smtp", "5.1.1", "550 5.1.1 no such user", email="gone@example.net"), 3)
    monkeypatch.setenv("SIGNPOST_DATABASE_URL", store_url)
    monkeypatch.setenv("SIGNPOST_VAR_DIR", str(tmp_path / "var"))
    listed = signpost("mail", "suppressions").output
    assert "gone@example.net" in listed and "550 5.1.1 no such user" in listed and "fine@" not in listed
    shown = signpost("mail", "delivery", str(digest_id)).output
    assert "bounced 1, sent 1" in shown and "gone@example.net" in shown and "fine@example.net" not in shown
    assert "fine@example.net" in signpost("mail", "delivery", str(digest_id), "--all").output
    signpost("mail", "lift", "fine@example.net", expect=1)
    assert "Lifted" in signpost("mail", "lift", "GONE@example.net").output
    assert list_suppressions(engine) == []


def test_serve_polls_the_bounce_mailbox_when_there_is_one(engine, monkeypatch):
    from signpost.flows.deployments import deployments

    assert "bounce-mailbox" not in {deployment.name for deployment in deployments(engine)}
    monkeypatch.setenv("SIGNPOST_BOUNCE_IMAP_HOST", "imap.example.org")
    monkeypatch.setenv("SIGNPOST_BOUNCE_IMAP_MINUTES", "5")
    found = {deployment.name: deployment for deployment in deployments(engine)}
    assert found["bounce-mailbox"].schedules[0].schedule.interval.total_seconds() == 300


def test_a_dkim_key_is_never_overwritten(tmp_path):
    key = tmp_path / "key.pem"
    new_dkim_key(key)
    with pytest.raises(ValueError, match="refusing to overwrite"):
        new_dkim_key(key)


def test_mail_listen_runs_the_bounce_listener_alone(store_url, tmp_path):
    import os
    import signal
    import smtplib
    import subprocess
    import sys
    from pathlib import Path

    from mailservers import listening

    from signpost.digests.mail_sink import free_port
    from signpost.store.db import open_migrated_store

    open_migrated_store(store_url).dispose()
    port = free_port()
    env = dict(
        os.environ,
        SIGNPOST_DATABASE_URL=store_url,
        SIGNPOST_VAR_DIR=str(tmp_path / "var"),
        SIGNPOST_SECRET_KEY="test-secret",
        SIGNPOST_BOUNCE_DOMAIN="bounces.example.org",
    )
    signpost_command = str(Path(sys.executable).with_name("signpost"))
    process = subprocess.Popen(
        [signpost_command, "mail", "listen", "--address", f"127.0.0.1:{port}"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert listening(port, 30, process), process.communicate(timeout=5)[0]
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo()
            assert client.mail("")[0] == 250
            assert client.rcpt("bounces+1-aaaaaaaaaaaaaaaa@bounces.example.org")[0] == 550  # a forged VERP address
            assert client.rcpt("postmaster@bounces.example.org")[0] == 250
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0].decode()
    assert "Taking bounces for bounces.example.org by smtp" in output
