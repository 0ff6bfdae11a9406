"""The public side on both databases: archive pages, Atom 1.0 feeds parsed with defusedxml, tracked links."""

from __future__ import annotations

from datetime import timedelta

from defusedxml import ElementTree
from test_web_support import HOSTILE_URL, SECRET, markup_problems

from store.db import utcnow
from store.digests import approve_digest, load_items
from store.members import add_member
from store.review import set_click_tracking
from store.schema import digest_items, item_clicks
from store.scores import community_decisions
from web import security

pytest_plugins = ["test_web_support"]
ATOM = "{http://www.w3.org/2005/Atom}"


def publish(seeded) -> list:
    """Approve the volunteering digest now (the care one stays a draft); its items, with one hostile URL."""
    with seeded.engine.begin() as connection:
        connection.execute(
            digest_items.update()
            .where(digest_items.c.digest_id == seeded.vol_digest, digest_items.c.article_id == seeded.hostile)
            .values(url=HOSTILE_URL)
        )
    approve_digest(seeded.engine, seeded.vol_digest, "sam@example.org")
    return load_items(seeded.engine, seeded.vol_digest)


def test_archive_shows_published_digests_only(client, seeded):
    assert "No digest published yet" in client.get("/c/vol/archive").text
    assert client.get(f"/c/vol/digests/{seeded.vol_digest}").status_code == 404
    publish(seeded)
    assert f"/c/vol/digests/{seeded.vol_digest}" in client.get("/c/vol/archive").text
    page = client.get(f"/c/vol/digests/{seeded.vol_digest}").text
    assert "New thinking on buddies" in page and markup_problems(page) == []
    # Another community's digest is not reachable under this community, and drafts are not public.
    assert client.get(f"/c/vol/digests/{seeded.care_digest}").status_code == 404
    assert client.get(f"/c/care/digests/{seeded.care_digest}").status_code == 404


def parse_feed(client, path: str):
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}").text
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for name in ("id", "title", "updated", "summary"):
            assert entry.find(f"{ATOM}{name}").text, name
        link = entry.find(f"{ATOM}link").get("href")
        assert link.startswith(("http://", "https://"))
    return root, entries


def test_atom_feeds_per_community_and_topic(client, seeded):
    _, entries = parse_feed(client, "/c/vol/feed.atom")
    assert entries == []
    items = publish(seeded)
    _, entries = parse_feed(client, "/c/vol/feed.atom")
    assert len(entries) == len([item for item in items if item.state == "approved"])
    titles = [entry.find(f"{ATOM}title").text for entry in entries]
    assert any(title.startswith("Buddy schemes") for title in titles)
    assert all("<" not in title for title in titles)  # scraped markup is reduced to text
    links = [entry.find(f"{ATOM}link").get("href") for entry in entries]
    assert not any(link.lower().startswith("javascript:") for link in links)
    ids = [entry.find(f"{ATOM}id").text for entry in entries]
    assert len(set(ids)) == len(ids)
    _, wellbeing = parse_feed(client, "/c/vol/topics/wellbeing/feed.atom")
    assert [entry.find(f"{ATOM}title").text for entry in wellbeing] == ["New thinking on rest"]
    assert client.get("/c/vol/topics/nope/feed.atom").status_code == 404
    _, care = parse_feed(client, "/c/care/feed.atom")
    assert care == []  # a draft is in no feed


def clicks(seeded) -> int:
    with seeded.engine.connect() as connection:
        return len(connection.execute(item_clicks.select()).all())


def test_tracked_links_count_and_redirect_to_the_stored_url_only(client, seeded):
    items = publish(seeded)
    item = next(item for item in items if item.article_id == seeded.vol_articles[0])
    hostile = next(item for item in items if item.article_id == seeded.hostile)
    reader = add_member(seeded.engine, "reader@example.org")
    token = security.click_token(SECRET, item.id, reader)
    # Tracking is off by default: the reader still gets to the article, and nothing is counted.
    response = client.get(f"/r/{token}", follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == item.url
    assert clicks(seeded) == 0
    set_click_tracking(seeded.engine, seeded.vol.id, True)
    for _ in range(2):
        response = client.get(f"/r/{token}", follow_redirects=False)
        assert response.status_code == 302 and response.headers["location"] == item.url
    assert clicks(seeded) == 2
    learned = [d for d in community_decisions(seeded.engine, seeded.vol.id) if d.kind == "click"]
    assert [(d.article_id, d.topic_id) for d in learned] == [(item.article_id, item.topic_id)]  # one label a reader
    # Forged tokens, tokens of other purposes, drafts and non-http URLs go nowhere.
    assert client.get(f"/r/{token}x", follow_redirects=False).status_code == 404
    other_purpose = security.timed(SECRET, security.SIGNIN).dumps([item.id, reader])
    assert client.get(f"/r/{other_purpose}", follow_redirects=False).status_code == 404
    hostile_token = security.click_token(SECRET, hostile.id, reader)
    assert client.get(f"/r/{hostile_token}", follow_redirects=False).status_code == 404
    draft_item = load_items(seeded.engine, seeded.care_digest)[0]
    draft_token = security.click_token(SECRET, draft_item.id, None)
    assert client.get(f"/r/{draft_token}", follow_redirects=False).status_code == 404
    assert clicks(seeded) == 2
    # A member deleted since the email went out: the click counts, without them.
    gone = security.click_token(SECRET, item.id, 99999)
    assert client.get(f"/r/{gone}", follow_redirects=False).headers["location"] == item.url
    assert clicks(seeded) == 3


def test_a_digest_scheduled_for_later_is_not_public_yet(client, seeded):
    approve_digest(seeded.engine, seeded.care_digest, "cat@example.org", scheduled_for=utcnow() + timedelta(days=2))
    assert client.get(f"/c/care/digests/{seeded.care_digest}").status_code == 404
    _, entries = parse_feed(client, "/c/care/feed.atom")
    assert entries == []
