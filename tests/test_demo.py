"""`signpost demo` as a newcomer runs it, in an empty folder: a draft to review, then with --approve, mail."""

from __future__ import annotations

import os
import subprocess
import sys
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from signpost.digests.mail_sink import free_port
from signpost.store.schema import digest_items, topic_scores

pytestmark = pytest.mark.slow
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
    digests = [path for path in mail.glob("*member*.eml")]
    assert len(digests) > 200  # 300 members, each following topics that have items in a full week
    message = message_from_bytes(digests[0].read_bytes(), policy=default)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_body(("html",)) is not None and message.get_body(("plain",)) is not None
