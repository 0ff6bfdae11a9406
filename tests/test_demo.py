"""`signpost demo` as a newcomer runs it, in an empty folder: a draft to review, then with --approve, mail."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from signpost.digests.mail_sink import free_port
from signpost.store.db import open_store
from signpost.store.digests import load_items
from signpost.store.outbox import delivery_summary
from signpost.store.schema import digest_items, topic_scores

pytestmark = pytest.mark.slow
pytest_plugins = ["test_web_browser"]
SIGNPOST = str(Path(sys.executable).with_name("signpost"))


def test_demo_drafts_then_sends(tmp_path):
    # Only what a user's shell would have: no SIGNPOST_* from the test run, the slow fault page cut short.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SIGNPOST_", "PREFECT_"))}
    env |= {"SIGNPOST_DOWNLOAD_TIMEOUT": "5", "COLUMNS": "200"}
    command = [SIGNPOST, "demo", "--sites", "5", "--articles-per-site", "8", "--port", str(free_port())]
    drafted = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert drafted.returncode == 0, drafted.stdout[-3000:] + drafted.stderr[-3000:]
    assert "Review the draft" in drafted.stdout and "/review/digests/1" in drafted.stdout
    mail = tmp_path / "var" / "mail"
    notices = sorted(mail.glob("*.eml"))
    assert [path.name.split("-", 1)[1] for path in notices] == [
        "alex.curator@demo.signpost.example.eml",
        "sam.curator@demo.signpost.example.eml",
    ]
    assert "/review/digests/1" in message_from_bytes(notices[0].read_bytes(), policy=default).get_body().get_content()
    # Issue 16: no proposed item sits in a section whose topic is not the article's best.
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'signpost.db'}")
    with engine.connect() as connection:
        items = connection.execute(select(digest_items.c.article_id, digest_items.c.topic_id)).all()
        scores = connection.execute(select(topic_scores.c.article_id, topic_scores.c.topic_id, topic_scores.c.score))
        best: dict[int, tuple[float, int]] = {}
        for article_id, topic_id, score in scores:
            best[article_id] = max(best.get(article_id, (-1.0, 0)), (score, topic_id))
    engine.dispose()
    assert items
    assert [(a, t) for a, t in items if best[a][1] != t] == []

    sent = subprocess.run([*command, "--approve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert sent.returncode == 0, sent.stdout[-3000:] + sent.stderr[-3000:]
    assert "approved and sent" in sent.stdout
    # The draft the first run made is approved: no second weekly run, no second notice to the curators.
    assert "drafted by an earlier `signpost demo`" in sent.stdout and "Fixture web:" not in sent.stdout
    assert len(list(mail.glob("*curator*.eml"))) == 2
    digests = [path for path in mail.glob("*member*.eml")]
    assert len(digests) > 200  # 300 members, each following topics that have items in a full week
    files = len(list(mail.glob("*.eml")))
    assert f"{files} messages ({len(digests)} from this run)" in " ".join(sent.stdout.split())
    message = message_from_bytes(digests[0].read_bytes(), policy=default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None


def test_demo_serve_lets_a_browser_review_add_a_link_by_hand_and_send(tmp_path, browser):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SIGNPOST_", "PREFECT_"))}
    env |= {"SIGNPOST_DOWNLOAD_TIMEOUT": "5", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    web_port = free_port()
    command = [SIGNPOST, "demo", "--serve", "--sites", "5", "--articles-per-site", "8"]
    command += ["--port", str(free_port()), "--web-port", str(web_port)]
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 900
        while "Serving the demo until Ctrl-C" not in log.read_text() and demo.poll() is None:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        output = " ".join(log.read_text().split())
        assert demo.poll() is None, output[-3000:]
        by_hand = re.search(r"to add by hand: (\S+)", output).group(1)
        base = f"http://127.0.0.1:{web_port}"
        page = browser.new_context(java_script_enabled=False).new_page()
        page.goto(f"{base}/review/digests/1")
        page.get_by_label("Email").first.fill("sam.curator@demo.signpost.example")
        page.get_by_label("Password").fill("signpost-demo-password")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.goto(f"{base}/review/digests/1")
        page.get_by_label("Add a link by hand").first.fill(by_hand)
        page.get_by_role("button", name="Fetch and add").first.click()
        assert "Link added." in page.content(), page.content()[-2000:]
        page.get_by_role("button", name="Approve and send now").click()
        assert "you have not reviewed will go to" in page.locator("#undecided-question").inner_text()
        page.get_by_role("button", name="Send them").click()
        assert "the publishing flow is sending it now" in page.content()

        engine = open_store(f"sqlite:///{tmp_path / 'var' / 'signpost.db'}")
        deadline = time.monotonic() + 600
        while not delivery_summary(engine, 1).all_sent:
            assert time.monotonic() < deadline, (tmp_path / "var" / "logs" / "publish-1.log").read_text()[-3000:]
            time.sleep(2)
        summary = delivery_summary(engine, 1)
        (added,) = [item for item in load_items(engine, 1) if any("added by hand" in r for r in item.reasons)]
        engine.dispose()
        digests = sorted((tmp_path / "var" / "mail").glob("*member*.eml"))
        assert len(digests) == summary.counts["sent"] > 200
        messages = [message_from_bytes(path.read_bytes(), policy=default) for path in digests]
        assert len({message["To"].addresses[0].addr_spec for message in messages}) == len(digests)
        assert added.url.rstrip("/") == by_hand.rstrip("/")
        assert any(added.url in message.get_body(("plain",)).get_content() for message in messages)
        page.goto(f"{base}/review/digests/1")
        assert page.locator("#digest-status").inner_text() == "sent"
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(60)
        except subprocess.TimeoutExpired:
            demo.kill()
    assert demo.returncode == 0, log.read_text()[-3000:]
    assert "Stopped the web app, the demo's sites and its mail sink." in log.read_text()
