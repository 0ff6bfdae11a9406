"""The public side on both databases: archive pages, Atom 1.0 feeds parsed with defusedxml, tracked links (and
the digest emails that carry them, followed through the app)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from defusedxml import ElementTree
from test_web_support import HOSTILE_URL, SECRET, markup_problems

from signpost.digests import tokens
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.render import safe_url
from signpost.store.db import utcnow
from signpost.store.digests import approve_digest, load_items
from signpost.store.members import add_member, confirm_membership, join_community
from signpost.store.review import set_click_tracking
from signpost.store.schema import digest_items, item_clicks
from signpost.store.scores import community_decisions
from signpost.web import security

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
    token = tokens.click_token(SECRET, item.id, reader)
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
    hostile_token = tokens.click_token(SECRET, hostile.id, reader)
    assert client.get(f"/r/{hostile_token}", follow_redirects=False).status_code == 404
    draft_item = load_items(seeded.engine, seeded.care_digest)[0]
    draft_token = tokens.click_token(SECRET, draft_item.id, None)
    assert client.get(f"/r/{draft_token}", follow_redirects=False).status_code == 404
    assert clicks(seeded) == 2
    # A member deleted since the email went out: the click counts, without them.
    gone = tokens.click_token(SECRET, item.id, 99999)
    assert client.get(f"/r/{gone}", follow_redirects=False).headers["location"] == item.url
    assert clicks(seeded) == 3


def test_a_digest_scheduled_for_later_is_not_public_yet(client, seeded):
    approve_digest(seeded.engine, seeded.care_digest, "cat@example.org", scheduled_for=utcnow() + timedelta(days=2))
    assert client.get(f"/c/care/digests/{seeded.care_digest}").status_code == 404
    _, entries = parse_feed(client, "/c/care/feed.atom")
    assert entries == []


def send_to_readers(seeded, app_settings, inbox) -> list[tuple[int, set[int], list[str], list[str]]]:
    """Publish the volunteering digest and send it to two readers through the outbox and SMTP; for each email:
    the member id, the topics they follow, and the item links of the HTML headings and of the text part."""
    publish(seeded)
    readers = {}
    for email, topic_ids in (("one@example.net", {seeded.recruitment}), ("both@example.net", seeded_topics(seeded))):
        member_id = add_member(seeded.engine, email)
        join_community(seeded.engine, member_id, seeded.vol.id, topic_ids)
        confirm_membership(seeded.engine, member_id, seeded.vol.id)
        readers[email] = (member_id, topic_ids)
    queue_digest(seeded.engine, app_settings, seeded.vol_digest)
    assert send_digest(seeded.engine, app_settings, seeded.vol_digest).sent == len(readers) == len(inbox.messages)
    emails = []
    for message in inbox.messages:
        page = message.get_body(preferencelist=("html",)).get_content()
        text = message.get_body(preferencelist=("plain",)).get_content()
        in_html = [html.unescape(link) for link in re.findall(r'<h3[^>]*><a href="([^"]+)"', page)]
        in_text = re.findall(r"^Alpha News: (\S+?)\r?$", text, flags=re.MULTILINE)
        emails.append((*readers[message["To"].addresses[0].addr_spec], in_html, in_text))
    return emails


def seeded_topics(seeded) -> set[int]:
    return {seeded.recruitment, seeded.wellbeing}


def linked_items(seeded, topic_ids: set[int]) -> list:
    """The published items of those topics that an email links to, in email order (the hostile one has no link)."""
    items = [item for item in load_items(seeded.engine, seeded.vol_digest, ("approved",)) if safe_url(item.url)]
    return [item for item in items if item.topic_id in topic_ids]


def test_with_tracking_on_each_emailed_link_counts_that_members_click_and_leads_to_the_article(
    client, seeded, app_settings, inbox
):
    set_click_tracking(seeded.engine, seeded.vol.id, True)
    emails = send_to_readers(seeded, app_settings, inbox)
    expected_clicks = set()
    for member_id, topic_ids, in_html, in_text in emails:
        items = linked_items(seeded, topic_ids)
        assert len(items) >= len(topic_ids) and in_html == in_text and len(in_html) == len(items)
        for link, item in zip(in_html, items, strict=True):
            assert link.startswith("http://testserver/r/"), link
            response = client.get(link.removeprefix("http://testserver"), follow_redirects=False)
            assert response.status_code == 302 and response.headers["location"] == item.url
            expected_clicks.add((item.id, member_id))
    with seeded.engine.connect() as connection:
        counted = [(row.item_id, row.member_id) for row in connection.execute(item_clicks.select())]
    assert sorted(counted) == sorted(expected_clicks)  # one click each, for that member and that item
    learned = {
        (d.article_id, d.topic_id) for d in community_decisions(seeded.engine, seeded.vol.id) if d.kind == "click"
    }
    assert learned == {(item.article_id, item.topic_id) for item in linked_items(seeded, seeded_topics(seeded))}
    # A link whose signature was altered, or signed with another key, is refused and counts nothing.
    payload, signature = emails[0][2][0].rsplit("/", 1)[1].split(".")
    member_id, item_id = emails[0][0], linked_items(seeded, emails[0][1])[0].id
    for forged in (f"{payload}.{signature[::-1]}", tokens.click_token("not-the-key", item_id, member_id)):
        assert client.get(f"/r/{forged}", follow_redirects=False).status_code == 404
    assert clicks(seeded) == len(expected_clicks)


def test_with_tracking_off_emailed_links_go_straight_to_the_articles(client, seeded, app_settings, inbox):
    for _member_id, topic_ids, in_html, in_text in send_to_readers(seeded, app_settings, inbox):
        assert in_html == in_text == [item.url for item in linked_items(seeded, topic_ids)]
        assert in_html and not any("/r/" in link for link in in_html)
    assert clicks(seeded) == 0
