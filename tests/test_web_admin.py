"""The admin's forms on both databases validate as ``signpost sync`` does: refused input is shown, never saved."""

from __future__ import annotations

import pytest
from test_web_support import csrf_of, post, sign_in

from signpost.store.communities import get_community
from signpost.store.members import add_member, member_topics
from signpost.store.users import find_user
from signpost.web.hooks import WebHooks

pytest_plugins = ["test_web_support"]


@pytest.fixture
def admin(client):
    sign_in(client, "admin@example.org")
    return client


def test_a_schedule_that_is_not_cron_is_refused_on_the_form_and_not_saved(admin, seeded):
    for page in ("/admin/communities", "/admin/communities/vol", "/admin/sources"):
        assert admin.get(page).status_code == 200
    form = {"slug": "vol", "name": "Volunteering", "timezone": "UTC", "schedule": "every tuesday-ish"}
    refused = post(admin, "/admin/communities", {**form, "items_per_topic": "3"})
    assert refused.status_code == 400
    assert "schedule: not a cron expression" in refused.text and 'value="every tuesday-ish"' in refused.text
    assert get_community(seeded.engine, "vol").schedule == "0 7 * * MON"
    # A new community with a bad time zone and a bad slug: nothing is created, both reasons are shown.
    new = {"slug": "Trustees Network", "name": "Trustees", "timezone": "Europe/Londn", "schedule": "0 7 * * MON"}
    refused = post(admin, "/admin/communities", new)
    assert refused.status_code == 400
    assert "unknown time zone &#39;Europe/Londn&#39;" in refused.text
    assert "slug: use a-z, 0-9 and -" in refused.text and 'value="Trustees Network"' in refused.text
    with pytest.raises(LookupError):
        get_community(seeded.engine, "trustees-network")
    saved = post(admin, "/admin/communities", {**form, "schedule": "0 8 * * TUE", "items_per_topic": "4"})
    assert saved.status_code == 303
    assert get_community(seeded.engine, "vol").schedule == "0 8 * * TUE"


@pytest.mark.parametrize("name", ["Volunteering\r\nBcc: everyone@example.org", "Tab\tname", "C1\x85name"])
def test_names_with_control_characters_are_refused_everywhere_on_the_web(admin, seeded, name):
    refused = post(admin, "/admin/communities", {"slug": "vol", "name": name, "schedule": "0 7 * * MON"})
    assert refused.status_code == 400 and "control characters" in refused.text
    assert get_community(seeded.engine, "vol").name == "Volunteering"
    refused = post(admin, "/admin/communities/vol/topics", {"topic_slug": "rest", "name": name})
    assert refused.status_code == 400 and "control characters" in refused.text
    assert "rest" not in {t.slug for t in get_community(seeded.engine, "vol").topics}
    csv_body = f'email,name,topics\nann@example.org,"{name}",recruitment\n'.encode()
    imported = admin.post(
        "/admin/communities/vol/members",
        data={"csrf_token": csrf_of(admin)},
        files={"file": ("members.csv", csv_body, "text/csv")},
    )
    assert "Nothing imported: line 2: a name may not contain control characters" in imported.text
    assert member_topics(seeded.engine, add_member(seeded.engine, "ann@example.org"), seeded.vol.id) == []
    post(admin, "/admin/users", {"email": "tess@example.org", "name": name})
    assert find_user(seeded.engine, "tess@example.org") is None
    # A member's own name: line breaks and tabs fold into spaces, other controls are refused, never a 500.
    form = {"email": "nia@example.org", "topic": [str(seeded.wellbeing)]}
    assert post(admin, "/c/vol/subscribe", {**form, "name": "Nia\x00\x1b[2J"}).status_code == 400


def test_a_topic_form_keeps_what_was_typed_when_refused(admin, seeded):
    refused = post(
        admin,
        "/admin/communities/vol/topics",
        {"topic_slug": "new-topic", "name": "New topic", "examples": "javascript:alert(1)"},
    )
    assert refused.status_code == 400 and "examples.0" in refused.text and 'value="new-topic"' in refused.text
    assert "new-topic" not in {t.slug for t in get_community(seeded.engine, "vol").topics}


def test_archived_topics_can_be_restored_from_the_web(admin, seeded):
    assert post(admin, "/admin/communities/vol/topics/wellbeing/delete").status_code == 303
    vol = get_community(seeded.engine, "vol")
    assert [t.slug for t in vol.topics] == ["recruitment"] and [t.slug for t in vol.archived_topics] == ["wellbeing"]
    page = admin.get("/admin/communities/vol").text
    assert "Archived topics" in page and "/topics/wellbeing/restore" in page
    post(admin, "/admin/communities/vol/topics/wellbeing/restore")
    assert [t.id for t in get_community(seeded.engine, "vol").topics] == [seeded.recruitment, seeded.wellbeing]
    assert post(admin, "/admin/communities/vol/topics/nosuch/restore").status_code == 404


def test_a_source_url_is_validated_before_discovery(app_settings, seeded):
    from test_web_support import make_client

    asked: list[str] = []

    def add_source(engine, settings, url, communities):
        asked.append(url)
        raise ValueError("nothing to crawl there")

    with make_client(app_settings, WebHooks(add_source=add_source)) as client:
        sign_in(client, "admin@example.org")
        refused = post(client, "/admin/sources", {"url": "not a url"})
        assert refused.status_code == 400 and "url:" in refused.text and 'value="not a url"' in refused.text
        assert asked == []
        post(client, "/admin/sources", {"url": "https://example.org", "community": ["vol"]})
        assert asked == ["https://example.org/"]
