"""The publishing flow under Prefect with the mail server down: no error, no traceback, rows waiting with the
reason; once the server is back, publish-due delivers everyone exactly once."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from prefect.testing.utilities import prefect_test_harness
from test_digests_delivery import build
from typer.testing import CliRunner

from conftest import Inbox
from signpost.cli import context
from signpost.cli.main import app
from signpost.digests.mail_sink import free_port
from signpost.flows.publish import publish_due_flow, publish_flow
from signpost.store.digests import get_digest
from signpost.store.outbox import delivery_summary

pytestmark = pytest.mark.slow


def test_publishing_waits_out_a_mail_server_that_is_down(engine, settings, monkeypatch):
    port = free_port()
    for name, value in {
        "DATABASE_URL": settings.store_url,
        "SECRET_KEY": "publish-test",
        "PUBLIC_URL": "https://signpost.example.org",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "DELIVERY_RETRY_SECONDS": "0",  # the next run may try again at once
    }.items():
        monkeypatch.setenv(f"SIGNPOST_{name}", value)
    digest_id, expected = build(engine, filler=5)
    with prefect_test_harness(server_startup_timeout=120):
        for _ in range(6):  # more runs than the sender once allowed a row
            email = publish_flow(digest_id)["email"]
            assert email["sent"] == email["failed"] == 0 and email["waiting"] == len(expected)
            assert email["last_error"] == f"connection refused by 127.0.0.1:{port}"
        assert get_digest(engine, digest_id).status == "approved"
        assert delivery_summary(engine, digest_id).counts["failed"] == 0
        monkeypatch.setattr(context.console, "width", 300)
        listed = CliRunner().invoke(app, ["digests", "list", "--community", "vol"], catch_exceptions=False)
        waiting = rf"0 of {len(expected)} sent, {len(expected)} waiting since [\d: -]+ UTC \(connection refused by"
        assert re.search(waiting, listed.output), listed.output
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            (published,) = publish_due_flow()
        finally:
            controller.stop()
    assert published["email"]["sent"] == len(expected) and published["email"]["waiting"] == 0
    assert inbox.by_recipient() == Counter({email: 1 for email in expected})
    assert get_digest(engine, digest_id).status == "sent"
