"""What the web tests share: a store seeded through store functions, an app, signed-in clients, a real SMTP inbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from html.parser import HTMLParser

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pydantic import SecretStr

from builders import store_articles
from signpost.config.settings import Settings
from signpost.digests.drafting import draft_digest
from signpost.digests.mail_sink import free_port
from signpost.store.communities import get_community, save_community
from signpost.store.records import ExtractedArticle
from signpost.store.schema import topic_scores
from signpost.store.users import save_user, set_curator
from signpost.web import security
from signpost.web.app import create_app
from signpost.web.hooks import WebHooks
from signpost.web.pages import CSRF_COOKIE

WEEK = datetime(2026, 3, 2, tzinfo=UTC)
SECRET = "web-test-secret-key"
PASSWORD = "correct horse battery"
BODY = (
    "Volunteer managers across the region reported new ways of working with {what}. "
    "The change came after a year of trials with {what} in small and large organisations alike. "
    "Managers said the approach made {what} easier to plan and to explain to trustees and staff."
)
# Scraped text as hostile as it gets: none of it may reach a page as markup or as a javascript: link.
HOSTILE_TITLE = "<script>alert('t')</script>Buddy schemes <img src=x onerror=alert(1)>"
HOSTILE_URL = "javascript:alert(document.cookie)"


def web_settings(settings: Settings, **extra: object) -> Settings:
    values = {
        "secret_key": SecretStr(SECRET),
        "session_cookie_secure": False,
        "public_url": "http://testserver",
        **extra,
    }
    return settings.model_copy(update=values)


def article(site: str, slug: str, what: str, title: str | None = None) -> ExtractedArticle:
    return ExtractedArticle(
        canonical_url=f"https://{site}/{slug}",
        title=title or f"New thinking on {what}",
        text=BODY.format(what=what),
        published_at=WEEK + timedelta(days=1),
    )


class Seeded:
    """Two communities with a draft each, an admin, a curator of each, and their ids."""

    def __init__(self, engine) -> None:
        self.engine = engine
        save_community(
            engine,
            slug="vol",
            name="Volunteering",
            items_per_topic=3,
            topic_list=[{"slug": "recruitment", "name": "Recruitment"}, {"slug": "wellbeing", "name": "Wellbeing"}],
        )
        save_community(
            engine, slug="care", name="Care <em>network</em>", topic_list=[{"slug": "homes", "name": "Homes"}]
        )
        self.vol = get_community(engine, "vol")
        self.care = get_community(engine, "care")
        self.recruitment, self.wellbeing = (topic.id for topic in self.vol.topics)
        self.homes = self.care.topics[0].id
        whats = ["buddies", "rotas", "rest", "taster days", "mentoring", "recognition"]
        self.vol_articles = store_articles(
            engine,
            "Alpha <b>News</b>",
            "https://alpha.example",
            [article("alpha.example", f"a{n}", what) for n, what in enumerate(whats)],
        )
        self.hostile = store_articles(
            engine,
            "Evil <script>x</script> Source",
            "https://evil.example",
            [article("evil.example", "h0", "hostile things", title=HOSTILE_TITLE)],
        )[0]
        self.care_articles = store_articles(
            engine,
            "Care Weekly",
            "https://care.example",
            [article("care.example", f"c{n}", what) for n, what in enumerate(["staffing", "visits"])],
        )
        a = self.vol_articles
        scores = [
            (self.hostile, self.recruitment, 0.95),
            (a[0], self.recruitment, 0.9),
            (a[1], self.recruitment, 0.8),
            (a[3], self.recruitment, 0.5),
            (a[4], self.recruitment, 0.4),
            (a[5], self.recruitment, 0.3),
            (a[2], self.wellbeing, 0.85),
            *((article_id, self.homes, 0.7) for article_id in self.care_articles),
        ]
        with engine.begin() as connection:
            connection.execute(
                topic_scores.insert(),
                [
                    {
                        "article_id": article_id,
                        "topic_id": topic_id,
                        "score": score,
                        "similarity": score,
                        "reasons": [f"close to the topic <b>{score}</b>"],
                        "scored_at": WEEK,
                    }
                    for article_id, topic_id, score in scores
                ],
            )
        end = WEEK + timedelta(days=7)
        self.vol_digest = draft_digest(engine, self.vol, WEEK, end, actor="system")
        self.care_digest = draft_digest(engine, self.care, WEEK, end, actor="system")
        password_hash = security.hash_password(PASSWORD)
        self.admin = save_user(engine, "admin@example.org", "Ada Admin", password_hash=password_hash, is_admin=True)
        self.sam = save_user(engine, "sam@example.org", "Sam Curator", password_hash=password_hash)
        self.cat = save_user(engine, "cat@example.org", "Cat Curator", password_hash=password_hash)
        set_curator(engine, self.sam, self.vol.id)
        set_curator(engine, self.cat, self.care.id)


class MarkupCheck(HTMLParser):
    """What a browser would see as markup: tags, event-handler attributes and link targets (our own script file
    and an item's lead image, an http(s) URL, are the only script and image a page may have)."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        ours = (tag == "script" and (given.get("src") or "").startswith("/static/")) or (
            tag == "img"
            and given.get("class") == "lead"
            and (given.get("src") or "").startswith(("https://", "http://"))
        )
        if tag in ("script", "img", "b", "em") and not ours:
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{name} attribute on <{tag}>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(("javascript:", "data:")):
                self.problems.append(f"{name}={value!r} on <{tag}>")


def markup_problems(page: str) -> list[str]:
    checker = MarkupCheck()
    checker.feed(page)
    checker.close()
    return checker.problems


def csrf_of(client: TestClient) -> str:
    """The form token a page would carry for this client's CSRF cookie (visiting a page first sets it)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/")
    return security.csrf_token(SECRET, client.cookies[CSRF_COOKIE])


def post(client: TestClient, path: str, data: dict | None = None, **kwargs):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_of(client)}, follow_redirects=False, **kwargs)


def sign_in(client: TestClient, email: str, password: str = PASSWORD):
    response = post(client, "/signin", {"email": email, "password": password, "next": "/review"})
    assert response.status_code == 303, response.text
    return response


class Inbox:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it accepts."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 2.0.0 accepted"

    def links(self, pattern: str) -> list[str]:
        found = []
        for message in self.messages:
            body = message.get_body(preferencelist=("plain",)).get_content()
            found += re.findall(pattern, body)
        return found


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def seeded(engine) -> Seeded:
    return Seeded(engine)


@pytest.fixture
def app_settings(settings, inbox) -> Settings:
    return web_settings(settings, smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_security="none")


def make_client(app_settings: Settings, hooks: WebHooks | None = None) -> TestClient:
    return TestClient(create_app(app_settings, hooks=hooks))


@pytest.fixture
def client(app_settings, seeded):
    with make_client(app_settings) as test_client:
        yield test_client
