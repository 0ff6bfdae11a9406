"""Posting a published digest to webhooks on loopback: each format's body, retries, and never twice."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prefect.logging import disable_run_logger

from builders import approved_digest, store_articles
from signpost.digests.webhooks import post_digest
from signpost.flows.publish import post_task
from signpost.spiders.fetch import FetchRules, json_poster
from signpost.spiders.urls import AddressRules
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import get_community, save_community
from signpost.store.records import ExtractedArticle
from signpost.store.webhooks import post_states, save_webhooks

WEEK = datetime(2026, 3, 2, tzinfo=UTC)
# The receivers listen on loopback, which the tests allow; the product's rules come from the settings.
LOOPBACK_POST = json_poster(FetchRules(addresses=AddressRules(allow_private=True), deadline=5))
TEXT = "Volunteer managers shared what worked. Teams that met monthly kept more volunteers. Trustees agreed."


class Receiver:
    """A loopback HTTP server that keeps every JSON body posted to it, and answers what each path is told to."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict]] = {}
        self.answers: dict[str, list[int]] = {}  # per path, statuses to answer before 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                pending = receiver.answers.get(self.path, [])
                status = pending.pop(0) if pending else 200
                if status == 200:
                    receiver.bodies.setdefault(self.path, []).append(body)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.server.shutdown()


def published_digest(engine) -> tuple[int, int]:
    save_community(engine, slug="vol", name="Volunteer network", topic_list=[{"slug": "rec", "name": "Recruiting"}])
    community = get_community(engine, "vol")
    title = 'Keeping volunteers <script>alert("x")</script>'
    article = ExtractedArticle(canonical_url="https://news.example/keeping", title=title, text=TEXT)
    [article_id] = store_articles(engine, "Sector News", "https://news.example", [article])
    candidate = DraftCandidate(article_id, title, TEXT, "https://news.example/keeping", "Sector News", None, None, 1.0)
    return approved_digest(engine, community, {community.topics[0].id: [candidate]}, WEEK), community.id


def test_each_format_gets_its_body_once_with_retries(engine, receiver):
    digest_id, community_id = published_digest(engine)
    save_webhooks(
        engine,
        community_id,
        [(f"{receiver.url}/{name}", name) for name in ("slack", "teams", "mattermost", "json")]
        + [(f"{receiver.url}/gone", "json")],
    )
    receiver.answers = {"/slack": [503, 503], "/gone": [404]}
    report = post_digest(engine, digest_id, "https://signpost.example.org", post=LOOPBACK_POST, backoff=0.01)
    assert (report.sent, report.failed) == (4, 1)

    slack = receiver.bodies["/slack"][0]["text"]
    assert "<https://news.example/keeping|Keeping volunteers>" in slack
    assert "https://signpost.example.org/c/vol/digests/" in slack
    card = receiver.bodies["/teams"][0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert "[Keeping volunteers" in receiver.bodies["/mattermost"][0]["text"]
    item = receiver.bodies["/json"][0]["sections"][0]["items"][0]
    assert item["url"] == "https://news.example/keeping" and item["source"] == "Sector News"

    # Scraped markup never reaches a chat message.
    assert "script" not in json.dumps(receiver.bodies)

    states = post_states(engine, digest_id)
    assert sorted(state["state"] for state in states.values()) == ["failed", "sent", "sent", "sent", "sent"]
    assert max(state["attempts"] for state in states.values()) == 3  # two 503s, then accepted

    # Publishing again posts only where it failed; the receiver now accepts it.
    again = post_digest(engine, digest_id, "https://signpost.example.org", post=LOOPBACK_POST, backoff=0.01)
    assert (again.sent, again.failed, again.already) == (1, 0, 4)
    assert {path: len(bodies) for path, bodies in receiver.bodies.items()} == {
        "/slack": 1,
        "/teams": 1,
        "/mattermost": 1,
        "/json": 1,
        "/gone": 1,
    }


def test_webhooks_on_private_addresses_are_refused_like_sources(engine, store_url, receiver, monkeypatch):
    digest_id, community_id = published_digest(engine)
    save_webhooks(engine, community_id, [(f"{receiver.url}/json", "json"), ("http://[::127.0.0.1]:9/x", "json")])
    monkeypatch.setenv("SIGNPOST_DATABASE_URL", store_url)
    monkeypatch.setenv("SIGNPOST_ALLOW_PRIVATE_ADDRESSES", "false")
    with disable_run_logger():
        report = post_task.fn(digest_id)
    assert (report["sent"], report["failed"]) == (0, 2)
    assert receiver.bodies == {}
    states = post_states(engine, digest_id)
    errors = sorted(state["last_error"] for state in states.values())
    assert all("private or loopback" in error for error in errors), errors
    # A refused address is not worth a retry.
    assert [state["attempts"] for state in states.values()] == [1, 1]


def test_chat_posts_ping_no_one(engine, receiver):
    save_community(engine, slug="vol", name="Volunteer network", topic_list=[{"slug": "rec", "name": "Recruiting"}])
    community = get_community(engine, "vol")
    title = "@channel urgent: @here and @ALL read <!channel> this"
    article = ExtractedArticle(canonical_url="https://news.example/ping", title=title, text="@everyone " + TEXT)
    [article_id] = store_articles(engine, "@here News", "https://news.example", [article])
    candidate = DraftCandidate(
        article_id, title, "@everyone " + TEXT, "https://news.example/ping", "@here News", None, None, 1.0
    )
    digest_id = approved_digest(engine, community, {community.topics[0].id: [candidate]}, WEEK)
    save_webhooks(engine, community.id, [(f"{receiver.url}/{name}", name) for name in ("slack", "mattermost", "teams")])
    report = post_digest(engine, digest_id, "https://signpost.example.org", post=LOOPBACK_POST, backoff=0.01)
    assert report.sent == 3
    posted = json.dumps(receiver.bodies, ensure_ascii=False)
    for mention in ("@channel", "@here", "@ALL", "@everyone", "<!channel>"):
        assert mention not in posted, mention
    assert "@\u2060channel urgent" in receiver.bodies["/mattermost"][0]["text"]
    assert "|@\u2060channel urgent" in receiver.bodies["/slack"][0]["text"]
