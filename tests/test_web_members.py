"""Members' pages and the admin's pages on both databases: double opt-in through a real SMTP server, preferences
by signed link, RFC 8058 one-click unsubscribe, suggestions, and admin pages (communities, curators, CSV import)."""

from __future__ import annotations

from test_web_support import csrf_of, markup_problems, post, sign_in

from signpost.digests import tokens
from signpost.store.communities import get_community
from signpost.store.members import add_member, confirm_membership, join_community, member_topics, membership_status
from signpost.store.review import click_tracking, list_suggestions
from signpost.store.users import find_user

pytest_plugins = ["test_web_support"]


def test_subscribing_is_double_opt_in(client, seeded, inbox):
    form = client.get("/c/vol/subscribe").text
    assert "Recruitment" in form and 'name="csrf_token"' in form
    response = post(
        client, "/c/vol/subscribe", {"email": "New@Example.org", "name": "Nia", "topic": [str(seeded.wellbeing)]}
    )
    assert response.status_code == 200 and "Check your email" in response.text
    member = add_member(seeded.engine, "new@example.org")
    assert membership_status(seeded.engine, member, seeded.vol.id) == "pending"
    (link,) = inbox.links(r"http://testserver(/confirm/\S+)")
    # Opening the link changes nothing (mail scanners open links); the button confirms.
    assert "Yes, send me the digest" in client.get(link).text
    assert membership_status(seeded.engine, member, seeded.vol.id) == "pending"
    assert post(client, link).status_code == 200
    assert membership_status(seeded.engine, member, seeded.vol.id) == "confirmed"
    assert member_topics(seeded.engine, member, seeded.vol.id) == [seeded.wellbeing]
    # Signing up again cannot change a confirmed member's topics: they get their preferences link instead.
    post(client, "/c/vol/subscribe", {"email": "new@example.org", "topic": [str(seeded.recruitment)]})
    assert member_topics(seeded.engine, member, seeded.vol.id) == [seeded.wellbeing]
    assert inbox.links(r"http://testserver(/preferences/\S+)")
    assert client.get("/confirm/forged-token").status_code == 400
    bad = post(client, "/c/vol/subscribe", {"email": "not an email", "topic": [str(seeded.wellbeing)]})
    assert bad.status_code == 400


def member_of(seeded, email: str, topics: list[int]) -> int:
    member = add_member(seeded.engine, email, "Member")
    join_community(seeded.engine, member, seeded.vol.id, topics)
    confirm_membership(seeded.engine, member, seeded.vol.id)
    return member


def test_preferences_change_topics_and_take_suggestions(client, seeded):
    member = member_of(seeded, "pat@example.org", [seeded.recruitment])
    token = tokens.make_token("web-test-secret-key", tokens.PREFERENCES, member, seeded.vol.id)
    page = client.get(f"/preferences/{token}").text
    assert "pat@example.org" in page and "Wellbeing" in page
    assert post(client, f"/preferences/{token}", {"topic": [str(seeded.wellbeing)]}).status_code == 303
    assert member_topics(seeded.engine, member, seeded.vol.id) == [seeded.wellbeing]
    # A topic of another community is ignored, not followed.
    post(client, f"/preferences/{token}", {"topic": [str(seeded.homes), str(seeded.recruitment)]})
    assert member_topics(seeded.engine, member, seeded.vol.id) == [seeded.recruitment]
    suggest = f"/preferences/{token}/suggest"
    post(client, suggest, {"url": "https://good.example/read", "note": "Worth it", "topic_id": str(seeded.wellbeing)})
    post(client, suggest, {"url": "javascript:alert(1)"})
    (suggestion,) = list_suggestions(seeded.engine, seeded.vol.id)
    assert suggestion["suggested_by"] == "pat@example.org" and suggestion["topic_id"] == seeded.wellbeing
    # An unsubscribe token is not a preferences token, and a forged one is nothing.
    unsubscribe = tokens.make_token("web-test-secret-key", tokens.UNSUBSCRIBE, member, seeded.vol.id)
    assert client.get(f"/preferences/{unsubscribe}").status_code == 404
    assert client.get(f"/preferences/{token[:-3]}abc").status_code == 404
    assert client.post(f"/preferences/{token}", data={"topic": [str(seeded.wellbeing)]}).status_code == 403


def test_one_click_unsubscribe(client, seeded):
    member = member_of(seeded, "lee@example.org", [seeded.recruitment])
    token = tokens.make_token("web-test-secret-key", tokens.UNSUBSCRIBE, member, seeded.vol.id)
    page = client.get(f"/unsubscribe/{token}").text
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert membership_status(seeded.engine, member, seeded.vol.id) == "confirmed"
    # What a mail provider sends (RFC 8058): no cookies, no CSRF token, just the body.
    client.cookies.clear()
    response = client.post(
        f"/unsubscribe/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200 and "Unsubscribed" in response.text
    assert membership_status(seeded.engine, member, seeded.vol.id) == "unsubscribed"
    again = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert client.post(f"/unsubscribe/{token}", data={}).status_code == 400
    assert client.post(f"/unsubscribe/{token}x", data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_admin_pages_set_up_communities_curators_and_members(client, seeded):
    sign_in(client, "admin@example.org")
    sources = client.get("/admin/sources").text
    assert "Alpha News" in sources and markup_problems(sources) == []
    assert (
        "without discovery"
        in client.get(post(client, "/admin/sources", {"url": "https://x.example/"}).headers["location"]).text
    )
    created = post(
        client,
        "/admin/communities",
        {
            "slug": "trustees",
            "name": "Trustees",
            "timezone": "Europe/Paris",
            "items_per_topic": "4",
            "click_tracking_on": "1",
        },
    )
    assert created.headers["location"] == "/admin/communities/trustees"
    post(
        client,
        "/admin/communities/trustees/topics",
        {"topic_slug": "governance", "name": "Governance", "keywords_must": "board, trustee"},
    )
    post(client, "/admin/communities/trustees/topics", {"topic_slug": "finance", "name": "Finance"})
    community = get_community(seeded.engine, "trustees")
    assert [t.slug for t in community.topics] == ["governance", "finance"]
    assert community.topics[0].keywords_must == ["board", "trustee"] and community.timezone == "Europe/Paris"
    assert click_tracking(seeded.engine, community.id)
    post(client, "/admin/communities/trustees/topics/finance/delete")
    assert [t.slug for t in get_community(seeded.engine, "trustees").topics] == ["governance"]
    # A new user, named curator of the new community.
    post(client, "/admin/users", {"email": "tess@example.org", "name": "Tess", "password": "a long enough password"})
    tess = find_user(seeded.engine, "tess@example.org")
    post(client, "/admin/curators", {"user_id": str(tess.id), "community": "trustees"})
    assert find_user(seeded.engine, "tess@example.org").community_ids == {community.id}
    # Members from a CSV file, with their topics.
    csv_body = b"email,name,topics\nann@example.org,Ann,governance\nbob@example.org,Bob,\n"
    response = client.post(
        "/admin/communities/trustees/members",
        data={"csrf_token": csrf_of(client), "confirmed": "1"},
        files={"file": ("members.csv", csv_body, "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    ann = add_member(seeded.engine, "ann@example.org")
    assert membership_status(seeded.engine, ann, community.id) == "confirmed"
    assert member_topics(seeded.engine, ann, community.id) == [community.topics[0].id]
    bad = client.post(
        "/admin/communities/trustees/members",
        data={"csrf_token": csrf_of(client)},
        files={"file": ("members.csv", b"ann@example.org,Ann,nosuchtopic\n", "text/csv")},
    )
    assert "unknown topics nosuchtopic" in bad.text
