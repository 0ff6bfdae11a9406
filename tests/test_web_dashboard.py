"""The admin's dashboard and the curator's desk on both databases: a digest really sent over SMTP (one recipient
refused), members' clicks through the click links, an unsubscription, each counted on the dashboard and in its CSV;
sources' crawl history as sparklines; members found, changed, exported and removed; the facts beside draft items."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select, update
from test_web_public import linked_items, publish
from test_web_support import WEEK, Inbox, article, post, sign_in

from builders import store_articles
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.mail_sink import free_port
from signpost.store.dashboard import community_figures, crawl_history
from signpost.store.digests import load_items
from signpost.store.members import add_member, confirm_membership, join_community, member_topics, unsubscribe
from signpost.store.outbox import outbox_rows
from signpost.store.review import set_click_tracking
from signpost.store.schema import articles, members, outbox
from signpost.store.scores import record_decision
from signpost.store.sources import finish_crawl, get_source, start_crawl

pytest_plugins = ["test_web_support"]


class RefusingInbox(Inbox):
    """The real SMTP inbox, refusing one mailbox as a receiving server does."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    handler = RefusingInbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def send_week(seeded, app_settings, inbox) -> dict[str, int]:
    """Publish and send the volunteering digest to three members, one of whom the server refuses."""
    publish(seeded)
    ids = {}
    for email in ("one@example.net", "both@example.net", "gone@example.net"):
        ids[email] = add_member(seeded.engine, email, email.split("@")[0].title())
        join_community(seeded.engine, ids[email], seeded.vol.id, {seeded.recruitment, seeded.wellbeing})
        confirm_membership(seeded.engine, ids[email], seeded.vol.id)
    queue_digest(seeded.engine, app_settings, seeded.vol_digest)
    report = send_digest(seeded.engine, app_settings, seeded.vol_digest)
    assert (report.sent, report.failed, len(inbox.messages)) == (2, 1, 2)
    return ids


def test_the_dashboard_counts_what_happened_to_a_sent_digest(client, seeded, app_settings, inbox):
    set_click_tracking(seeded.engine, seeded.vol.id, True)
    ids = send_week(seeded, app_settings, inbox)
    # Each reader clicks the first link of their email; "one" clicks it twice.
    for message in inbox.messages:
        page = message.get_body(preferencelist=("html",)).get_content()
        first = re.findall(r'<h3[^>]*><a href="http://testserver(/r/[^"]+)"', page)[0]
        for _ in range(2 if message["To"].addresses[0].addr_spec.startswith("one@") else 1):
            assert client.get(first, follow_redirects=False).status_code == 302
    unsubscribe(seeded.engine, ids["both@example.net"], seeded.vol.id)
    # A state the outbox gains later (the mail issue's bounces) is counted as it is, with no change here.
    with seeded.engine.begin() as connection:
        connection.execute(update(outbox).where(outbox.c.member_id == ids["gone@example.net"]).values(state="bounced"))

    [figures] = community_figures(seeded.engine, seeded.vol.id)
    assert (figures.members, figures.states, figures.unsubscribed) == (3, {"sent": 2, "bounced": 1}, 1)
    assert (figures.clicks, figures.clickers) == (3, 2)

    sign_in(client, "admin@example.org")
    page = client.get("/admin/dashboard/vol").text
    assert page.count('<svg class="chart"') == 3 and "Delivery by week" in page and "Clicks per topic by week" in page
    by_topic = read_csv(client.get("/admin/dashboard/vol/topics.csv"))
    assert by_topic == [["week", "Recruitment", "Wellbeing"], [WEEK.date().isoformat(), "3", "0"]]
    assert client.get("/admin/dashboard/vol/nothing.csv").status_code == 404
    weeks = read_csv(client.get("/admin/dashboard/vol/weeks.csv"))
    assert weeks[0] == [
        "week",
        "sent at",
        "members it went to",
        "delivered",
        "bounced",
        "unsubscribed after it",
        "clicks",
        "members who clicked",
    ]
    assert weeks[1][0] == WEEK.date().isoformat() and weeks[1][2:] == ["3", "2", "1", "1", "3", "2"]

    base = f"/admin/dashboard/vol/digests/{seeded.vol_digest}"
    assert "Clicks per source" in client.get(base).text
    first_item = linked_items(seeded, {seeded.recruitment})[0]
    items = read_csv(client.get(f"{base}/items.csv"))
    assert items[1][0] == first_item.title and items[1][2:] == ["3", "2"]
    topics = {row[0]: row[1:] for row in read_csv(client.get(f"{base}/topics.csv"))[1:]}
    assert topics["Recruitment"][1:] == ["3", "2"] and topics["Wellbeing"][1:] == ["0", "0"]
    sources = {row[0]: row[1:] for row in read_csv(client.get(f"{base}/sources.csv"))[1:]}
    assert sum(int(clicks) for _, clicks, _ in sources.values()) == 3
    delivery = dict(tuple(row) for row in read_csv(client.get(f"{base}/delivery.csv"))[1:])
    assert delivery == {"went to": "3", "delivered": "2", "bounced": "1", "unsubscribed after it": "1"}
    # Curators do not see the admin's dashboard.
    sign_in(client, "sam@example.org")
    assert client.get("/admin/dashboard/vol").status_code == 403


def test_removing_a_member_keeps_what_was_sent_in_the_counts_and_sends_them_nothing_more(
    client, seeded, app_settings, inbox
):
    ids = send_week(seeded, app_settings, inbox)
    sign_in(client, "admin@example.org")
    for email in ("one@example.net", "gone@example.net"):  # one was delivered, one refused
        assert post(client, f"/admin/members/{ids[email]}/remove", {"sure": "1"}).status_code == 303
    [figures] = community_figures(seeded.engine, seeded.vol.id)
    assert (figures.members, figures.states) == (3, {"sent": 2, "failed": 1})
    weeks = read_csv(client.get("/admin/dashboard/vol/weeks.csv"))
    assert weeks[1][2:4] == ["3", "2"]
    rows = {row["id"]: row for row in outbox_rows(seeded.engine, seeded.vol_digest)}
    assert sorted(row["email"] for row in rows.values()) == ["(removed member)", "(removed member)", "both@example.net"]
    assert all(row["member_id"] is None for row in rows.values() if row["email"] == "(removed member)")
    outbox_page = client.get(f"/admin/mail/digests/{seeded.vol_digest}").text
    assert "(removed member)" in outbox_page and ">one@example.net<" not in outbox_page

    # Queued but not yet sent: the removed member's row goes with them, and the send reaches nobody more.
    later = add_member(seeded.engine, "later@example.net", "Later")
    join_community(seeded.engine, later, seeded.vol.id, {seeded.recruitment})
    confirm_membership(seeded.engine, later, seeded.vol.id)
    assert queue_digest(seeded.engine, app_settings, seeded.vol_digest) == 1  # the one row added
    assert post(client, f"/admin/members/{later}/remove", {"sure": "1"}).status_code == 303
    assert send_digest(seeded.engine, app_settings, seeded.vol_digest).sent == 0
    assert len(inbox.messages) == 2 and len(outbox_rows(seeded.engine, seeded.vol_digest)) == 3


def test_a_sources_last_crawls_show_as_a_sparkline(client, seeded):
    engine = seeded.engine
    # An article from before the crawls counts in none of them.
    first = store_articles(engine, "Fresh Site", "https://fresh.example", [article("fresh.example", "f0", "tea")])
    source = get_source(engine, "https://fresh.example/feed")
    crawl = start_crawl(engine, source.id)
    kept = store_articles(
        engine,
        "Fresh Site",
        "https://fresh.example",
        [article("fresh.example", f"g{n}", w) for n, w in enumerate("ab")],
    )
    finish_crawl(engine, crawl, ok=True, items_found=5, pages_fetched=2, pages_failed=0)
    record_decision(engine, seeded.recruitment, kept[0], "approve", actor="sam@example.org")
    failed = start_crawl(engine, source.id)
    finish_crawl(engine, failed, ok=False, items_found=0, pages_fetched=0, pages_failed=1, error="503")
    points = crawl_history(engine, [source.id])[source.id]
    assert [(p.ok, p.items_found, p.articles_kept, p.approvals) for p in points] == [(True, 5, 2, 1), (False, 0, 0, 0)]
    assert first[0] not in kept

    sign_in(client, "admin@example.org")
    page = client.get("/admin/sources").text
    assert "Fresh Site, last 2 crawls: items found 5, 0; articles kept 2, 0; approved 1, 0; 1 failed" in page


def test_an_admin_finds_changes_exports_and_removes_members(client, seeded):
    engine = seeded.engine
    ada = add_member(engine, "ada@example.net", "Ada Lovelace")
    bob = add_member(engine, "bob@example.net", "=HYPERLINK(evil)")
    for member_id in (ada, bob):
        join_community(engine, member_id, seeded.vol.id, {seeded.recruitment})
    sign_in(client, "admin@example.org")
    found = client.get("/admin/members", params={"q": "LOVELACE"}).text
    assert "ada@example.net" in found and "bob@example.net" not in found
    assert "bob@example.net" in client.get("/admin/members", params={"q": "bob@", "community": "vol"}).text
    assert "No member matches" in client.get("/admin/members", params={"q": "nobody"}).text

    assert (
        post(
            client, f"/admin/members/{ada}/topics", {"community_id": seeded.vol.id, "topic_id": [seeded.wellbeing]}
        ).status_code
        == 303
    )
    assert member_topics(engine, ada, seeded.vol.id) == [seeded.wellbeing]
    assert "Wellbeing" in client.get(f"/admin/members/{ada}").text
    foreign = post(client, f"/admin/members/{ada}/topics", {"community_id": seeded.vol.id, "topic_id": [seeded.homes]})
    assert foreign.status_code == 400 and member_topics(engine, ada, seeded.vol.id) == [seeded.wellbeing]

    rows = read_csv(client.get("/admin/members.csv", params={"community": "vol"}))
    assert rows[0] == ["email", "name", "community", "status", "joined", "unsubscribed", "topics"]
    by_email = {row[0]: row for row in rows[1:]}
    assert by_email["ada@example.net"][2:4] == ["vol", "pending"] and by_email["ada@example.net"][6] == "Wellbeing"
    assert by_email["bob@example.net"][1] == "'=HYPERLINK(evil)"  # no formula in a spreadsheet

    assert post(client, f"/admin/members/{bob}/remove").status_code == 303  # not ticked: kept
    assert post(client, f"/admin/members/{bob}/remove", {"sure": "1"}).status_code == 303
    with engine.connect() as connection:
        assert connection.scalars(select(members.c.email)).all() == ["ada@example.net"]
    assert client.get(f"/admin/members/{bob}").status_code == 404


def test_each_draft_item_shows_what_a_curator_weighs_and_the_rest_of_a_section_is_decided_at_once(client, seeded):
    # The page had a lead image; a javascript: one never becomes an image.
    with seeded.engine.begin() as connection:
        connection.execute(
            update(articles)
            .where(articles.c.id == seeded.vol_articles[0])
            .values(image_url="https://alpha.example/a0.jpg")
        )
        connection.execute(
            update(articles).where(articles.c.id == seeded.vol_articles[1]).values(image_url="javascript:alert(1)")
        )
    sign_in(client, "sam@example.org")
    draft = client.get(f"/review/digests/{seeded.vol_digest}").text
    assert "1st of 6 candidates for Recruitment" in draft and "3rd of 6 candidates for Recruitment" in draft
    assert "clear fit" in draft and "1 min read" in draft and "1 source carried it" in draft
    assert "02 Mar 2026" in draft or "03 Mar 2026" in draft
    assert "score 1.00" not in draft
    assert draft.count('<img class="lead"') == 1 and 'src="https://alpha.example/a0.jpg"' in draft
    more = client.get(f"/review/digests/{seeded.vol_digest}/topics/{seeded.recruitment}/candidates").text
    assert "borderline</span> Alpha News" in more and "1 min read" in more and "score 0." not in more

    items = load_items(seeded.engine, seeded.vol_digest)
    recruiting = [item for item in items if item.topic_id == seeded.recruitment]
    post(client, f"/review/items/{recruiting[0].id}/decide", {"state": "rejected"})
    # What review.js posts gets the page itself back, with where the focus goes.
    answer = post(
        client,
        f"/review/digests/{seeded.vol_digest}/topics/{seeded.recruitment}/decide-rest",
        {"state": "approved"},
        headers={"X-Signpost-Fetch": "1"},
    )
    assert answer.status_code == 200 and answer.headers["X-Signpost-Focus"] == f"topic-{seeded.recruitment}"
    assert f"Approved the {len(recruiting) - 1} items left in Recruitment." in answer.text
    states = {item.id: item.state for item in load_items(seeded.engine, seeded.vol_digest)}
    assert [states[item.id] for item in recruiting] == ["rejected"] + ["approved"] * (len(recruiting) - 1)
    assert all(states[item.id] == "proposed" for item in items if item.topic_id == seeded.wellbeing)
