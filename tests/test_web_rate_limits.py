"""Rate limits of the web app on both databases: password guessing, sign-in links and subscriptions that would
flood a mailbox, suggestions, client IPs behind a proxy, and a burst of attempts at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from test_web_support import PASSWORD, post
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from signpost.digests import tokens
from signpost.store.attempts import Allowance, subject_hash, take_attempt
from signpost.store.members import add_member, confirm_membership, join_community
from signpost.store.review import list_suggestions
from signpost.store.schema import rate_limit_attempts
from signpost.web.app import create_app
from signpost.web.pages import SESSION_COOKIE

pytest_plugins = ["test_web_support"]

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOCKED = "Too many failed sign-ins"
FORWARDED = {"X-Forwarded-For": "192.0.2.1"}


class Clock:
    """The time the app's rate limits count by, moved on by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(app_settings, seeded, clock):
    """An app with some settings changed, on the seeded store and the test's clock."""
    apps = []

    def make(**changes: object):
        app = create_app(app_settings.model_copy(update=changes))
        app.state.web.clock = clock
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.state.web.engine.dispose()


def client_from(app, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 50000))


def signin(client: TestClient, email: str, password: str):
    return post(client, "/signin", {"email": email, "password": password, "next": "/review"})


def subscribe(client: TestClient, seeded, email: str):
    return post(client, "/c/vol/subscribe", {"email": email, "topic": [str(seeded.wellbeing)]})


def test_the_eleventh_guess_waits_even_with_the_right_password(make_app, clock, inbox):
    app = make_app()
    attacker = client_from(app, "203.0.113.7")
    for _ in range(10):
        assert signin(attacker, "sam@example.org", "wrong guess").status_code == 401
    refused = signin(attacker, "sam@example.org", PASSWORD)
    assert refused.status_code == 429 and LOCKED in refused.text
    assert refused.headers["Retry-After"] == str(15 * 60) and "15 minutes" in refused.text
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    # An address without an account gets the very same answer: the limit tells nobody who has one.
    for _ in range(10):
        assert signin(attacker, "nobody@example.org", "wrong guess").status_code == 401
    unknown = signin(attacker, "nobody@example.org", "wrong guess")
    assert unknown.status_code == 429 and unknown.headers["Retry-After"] == refused.headers["Retry-After"]
    assert unknown.text == refused.text
    # Someone else from somewhere else signs in; Sam, from anywhere, waits, but can still have a link emailed.
    elsewhere = client_from(app, "198.51.100.20")
    assert signin(elsewhere, "cat@example.org", PASSWORD).status_code == 303
    assert signin(elsewhere, "sam@example.org", PASSWORD).status_code == 429
    assert post(elsewhere, "/signin/link", {"email": "sam@example.org"}).status_code == 200
    assert [message["To"] for message in inbox.messages] == ["sam@example.org"]
    clock.advance(minutes=10)
    assert signin(elsewhere, "sam@example.org", PASSWORD).headers["Retry-After"] == str(5 * 60)
    clock.advance(minutes=5, seconds=1)
    assert signin(attacker, "sam@example.org", PASSWORD).status_code == 303


def test_failures_from_one_ip_are_limited_whatever_the_addresses(make_app, clock):
    app = make_app(signin_failures_per_ip=4)
    attacker = client_from(app, "203.0.113.7")
    for n in range(4):
        assert signin(attacker, f"guess{n}@example.org", "wrong guess").status_code == 401
    refused = signin(attacker, "cat@example.org", PASSWORD)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(15 * 60)
    # An X-Forwarded-For from a client that is no trusted proxy changes nothing.
    spoofed = post(attacker, "/signin", {"email": "cat@example.org", "password": PASSWORD}, headers=FORWARDED)
    assert spoofed.status_code == 429
    assert signin(client_from(app, "198.51.100.20"), "cat@example.org", PASSWORD).status_code == 303
    clock.advance(minutes=15, seconds=1)
    assert signin(attacker, "cat@example.org", PASSWORD).status_code == 303


def test_a_successful_sign_in_clears_nothing_it_should_not(make_app):
    app = make_app(signin_failures_per_email=4, signin_failures_per_ip=8)
    attacker = client_from(app, "203.0.113.7")
    for email in ["sam@example.org"] * 3 + ["cat@example.org"] * 3:
        assert signin(attacker, email, "wrong guess").status_code == 401
    # Signing in to one's own account does not buy more guesses at others' from the same IP...
    assert signin(attacker, "admin@example.org", PASSWORD).status_code == 303
    assert signin(attacker, "guess1@example.org", "wrong guess").status_code == 401
    assert signin(attacker, "guess2@example.org", "wrong guess").status_code == 401
    assert signin(attacker, "admin@example.org", PASSWORD).status_code == 429
    # ... nor does it forget the failures at the other addresses.
    other = client_from(app, "198.51.100.20")
    assert signin(other, "cat@example.org", "wrong guess").status_code == 401
    assert signin(other, "cat@example.org", PASSWORD).status_code == 429
    # An address's own successful sign-in uncounts that address's failures, and only those.
    assert signin(other, "sam@example.org", PASSWORD).status_code == 303
    third = client_from(app, "192.0.2.55")
    for _ in range(4):
        assert signin(third, "sam@example.org", "wrong guess").status_code == 401
    assert signin(third, "sam@example.org", PASSWORD).status_code == 429


def test_subscribing_again_and_again_sends_at_most_the_limit(make_app, clock, seeded, inbox):
    app = make_app()
    bomber = client_from(app, "203.0.113.7")
    answers = [subscribe(bomber, seeded, email) for email in ["victim@example.org", " Victim@Example.ORG"] * 4]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429] * 3
    assert answers[-1].headers["Retry-After"] == str(60 * 60) and "Too many emails" in answers[-1].text
    # From another IP too, and sign-in links count against the same address: it gets nothing more this hour.
    elsewhere = client_from(app, "198.51.100.20")
    assert subscribe(elsewhere, seeded, "victim@example.org").status_code == 429
    assert post(elsewhere, "/signin/link", {"email": "victim@example.org"}).status_code == 429
    assert inbox_count(inbox, "victim@example.org") == 5
    # Other addresses from the bomber's IP are still served, up to the IP's own limit.
    assert subscribe(bomber, seeded, "someone@example.org").status_code == 200
    clock.advance(minutes=60, seconds=1)
    assert subscribe(bomber, seeded, "victim@example.org").status_code == 200
    assert inbox_count(inbox, "victim@example.org") == 6


def inbox_count(inbox, address: str) -> int:
    return sum(message["To"].lower() == address for message in inbox.messages)


def test_sign_in_links_are_limited_alike_for_known_and_unknown_addresses(make_app, inbox):
    app = make_app(requested_emails_per_address=2, requested_emails_per_ip=0)
    client = client_from(app, "203.0.113.7")
    for email in ("sam@example.org", "nobody@example.org"):
        answers = [post(client, "/signin/link", {"email": email}) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert inbox_count(inbox, "sam@example.org") == 2 and inbox_count(inbox, "nobody@example.org") == 0


def test_emails_asked_for_from_one_ip_are_limited(make_app, seeded, inbox):
    app = make_app(requested_emails_per_ip=3)
    bomber = client_from(app, "203.0.113.7")
    answers = [subscribe(bomber, seeded, f"person{n}@example.org") for n in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert post(bomber, "/signin/link", {"email": "sam@example.org"}).status_code == 429
    assert subscribe(client_from(app, "198.51.100.20"), seeded, "person3@example.org").status_code == 200
    assert len(inbox.messages) == 4


def test_client_ip_comes_from_a_trusted_proxy_only(make_app, seeded):
    app = make_app(requested_emails_per_ip=1, requested_emails_per_address=0)
    # What uvicorn runs the app behind (proxy_headers, FORWARDED_ALLOW_IPS), trusting the proxy at 10.0.0.1.
    behind_proxy = ProxyHeadersMiddleware(app, trusted_hosts="10.0.0.1")
    proxy = TestClient(behind_proxy, client=("10.0.0.1", 50000))
    for ip, expected in [("198.51.100.1", 200), ("198.51.100.2", 200), ("198.51.100.1", 429)]:
        answer = post(
            proxy,
            "/c/vol/subscribe",
            {"email": "a@example.org", "topic": [str(seeded.wellbeing)]},
            headers={"X-Forwarded-For": ip},
        )
        assert answer.status_code == expected, ip
    # Anyone else's X-Forwarded-For is ignored: they cannot pose as a new client with each request.
    direct = TestClient(behind_proxy, client=("203.0.113.7", 50000))
    for ip, expected in [("192.0.2.1", 200), ("192.0.2.2", 429)]:
        answer = post(
            direct,
            "/c/vol/subscribe",
            {"email": "b@example.org", "topic": [str(seeded.wellbeing)]},
            headers={"X-Forwarded-For": ip},
        )
        assert answer.status_code == expected, ip
    # An IPv6 client holds a whole /64: counting single addresses would let it rotate through them.
    assert subscribe(client_from(app, "2001:db8:1:2::1"), seeded, "c@example.org").status_code == 200
    assert subscribe(client_from(app, "2001:db8:1:2::beef"), seeded, "c@example.org").status_code == 429
    assert subscribe(client_from(app, "2001:db8:1:3::1"), seeded, "c@example.org").status_code == 200


def test_suggestions_are_limited_per_member(make_app, clock, seeded):
    app = make_app(suggestions_per_hour=2)
    member = add_member(seeded.engine, "pat@example.org", "Pat")
    join_community(seeded.engine, member, seeded.vol.id, [seeded.wellbeing])
    confirm_membership(seeded.engine, member, seeded.vol.id)
    token = tokens.make_token("web-test-secret-key", tokens.PREFERENCES, member, seeded.vol.id)
    client = client_from(app, "203.0.113.7")
    answers = [post(client, f"/preferences/{token}/suggest", {"url": f"https://x.example/{n}"}) for n in range(3)]
    assert [answer.status_code for answer in answers] == [303, 303, 429]
    assert answers[-1].headers["Retry-After"] == str(60 * 60)
    assert len(list_suggestions(seeded.engine, seeded.vol.id)) == 2
    clock.advance(hours=1, seconds=1)
    assert post(client, f"/preferences/{token}/suggest", {"url": "https://x.example/3"}).status_code == 303


def test_a_burst_at_once_gets_no_more_than_the_limit_and_old_rows_are_purged(engine):
    window = timedelta(minutes=15)
    allowed = []

    def attempt() -> None:
        answer = take_attempt(engine, "signin", [Allowance("email:sam@example.org", 5)], window, now=START)
        if answer.allowed:
            allowed.append(answer)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 5
    take_attempt(engine, "signin", [Allowance("ip:203.0.113.7", 5)], window, now=START + timedelta(minutes=5))
    later = take_attempt(engine, "signin", [Allowance("ip:198.51.100.1", 5)], window, now=START + window)
    assert later.allowed
    with engine.connect() as connection:
        left = connection.execute(rate_limit_attempts.select()).all()
    # The burst's rows left the window and went; the newer two stay.
    assert len(left) == 2 and subject_hash("email:sam@example.org") not in {row.subject for row in left}
