"""Drafts hold what belongs, on both databases: caps per source, a relevance floor with borderline candidates
one click away, freshness and rare sources in the reasons, nothing sent twice and follow-ups marked."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default

from test_web_support import make_client, post, sign_in, web_settings

from builders import store_articles
from signpost.digests.drafting import draft_digest, draft_rules, learnt_floor
from signpost.digests.render import DigestRenderer, MailSettings, Recipient, load_content
from signpost.digests.webhooks import payload
from signpost.store.communities import get_community, save_community
from signpost.store.digests import approve_digest, load_items, mark_digest_sent, section_notes
from signpost.store.records import ExtractedArticle
from signpost.store.schema import article_groups, stories, topic_scores
from signpost.store.users import save_user, set_curator
from signpost.web import security

pytest_plugins = ["test_web_support"]

WEEK = datetime(2026, 3, 2, tzinfo=UTC)
END = WEEK + timedelta(days=7)
BODY = (
    "Charities across the region reported new ways of working with {what}. The change came after a year of "
    "trials with {what} in small and large organisations alike. Managers said {what} was easier to plan."
)


def articles(site: str, whats: list[str], day: int = 1, start: datetime = WEEK) -> list[ExtractedArticle]:
    return [
        ExtractedArticle(
            canonical_url=f"https://{site}/{n}-{what.replace(' ', '-')}",
            title=f"New thinking on {what}",
            text=BODY.format(what=what),
            published_at=start + timedelta(days=day, hours=n),
        )
        for n, what in enumerate(whats)
    ]


def score(engine, rows: list[tuple[int, int, float]]) -> None:
    with engine.begin() as connection:
        connection.execute(
            topic_scores.insert(),
            [
                {
                    "article_id": a,
                    "topic_id": t,
                    "score": s,
                    "similarity": s,
                    "reasons": [f"fits {s}"],
                    "scored_at": WEEK,
                }
                for a, t, s in rows
            ],
        )


def community(engine, slug: str, topics: list[str], per_topic: int, rules: dict | None = None):
    save_community(
        engine,
        slug=slug,
        name=slug.title(),
        items_per_topic=per_topic,
        topic_list=[{"slug": topic, "name": topic.title()} for topic in topics],
        draft_rules=rules,
    )
    return get_community(engine, slug)


def test_a_publisher_with_60_percent_of_the_week_gets_no_more_than_the_caps(engine):
    desk = community(engine, "desk", ["fundraising", "volunteering"], per_topic=5)
    fundraising, volunteering = (topic.id for topic in desk.topics)
    big = store_articles(
        engine, "Third Sector", "https://big.example", articles("big.example", [f"b{n}" for n in range(12)])
    )
    small = []
    for n, site in enumerate(["one", "two", "three", "four"]):
        small += store_articles(
            engine, f"Small {site}", f"https://{site}.example", articles(f"{site}.example", [f"s{n}a", f"s{n}b"])
        )
    assert len(big) / (len(big) + len(small)) == 0.6
    # The publisher's articles score best in both topics: uncapped, they would fill both sections.
    score(engine, [(a, fundraising if n % 2 else volunteering, 0.99 - n * 0.001) for n, a in enumerate(big)])
    score(engine, [(a, fundraising if n % 2 else volunteering, 0.9 - n * 0.01) for n, a in enumerate(small)])

    digest_id = draft_digest(engine, desk, WEEK, END)
    items = load_items(engine, digest_id)
    per_section = Counter((item.topic_id, item.source_name) for item in items)
    per_digest = Counter(item.source_name for item in items)
    assert max(count for (_, source), count in per_section.items() if source == "Third Sector") == 2
    assert per_digest["Third Sector"] == 4
    assert len(items) == 10  # the small sources fill the rest
    notes = section_notes(engine, digest_id)
    capped = [line for note in notes.values() for line in note["capped"]]
    assert any("3rd item from Third Sector in this section: capped" in line for line in capped)
    second = next(item for item in items if item.source_name == "Third Sector" and item.position == 1)
    assert "2nd item from Third Sector in this section (at most 2)." in second.reasons
    assert all(any("before the period ended" in reason for reason in item.reasons) for item in items)

    # A community may allow more, from its file or its admin page.
    rules = {"per_source_section": 5, "per_source_digest": 10, "rare_source_boost": 0.0}
    loose = community(engine, "desk", ["fundraising", "volunteering"], 5, rules)
    again = load_items(engine, draft_digest(engine, loose, WEEK, END))
    assert Counter(item.source_name for item in again)["Third Sector"] == 10


def test_a_rare_source_is_boosted_and_says_so(engine):
    desk = community(engine, "desk", ["fundraising"], per_topic=1, rules={"per_source_section": 5})
    topic = desk.topics[0].id
    busy = store_articles(
        engine, "Big Publisher", "https://big.example", articles("big.example", [f"b{n}" for n in range(12)])
    )
    rare = store_articles(engine, "Tiny Charity", "https://tiny.example", articles("tiny.example", ["our one post"]))
    score(engine, [(busy[0], topic, 0.97), (rare[0], topic, 0.95), *((a, topic, 0.6) for a in busy[1:])])
    items = load_items(engine, draft_digest(engine, desk, WEEK, END))
    assert [item.source_name for item in items] == ["Tiny Charity"]
    assert any(reason.startswith("From a source that posts rarely") for reason in items[0].reasons)


def test_a_topic_with_two_fitting_articles_drafts_two_items_and_links_the_borderline_ones(engine, settings):
    desk = community(engine, "desk", ["safeguarding", "governance"], per_topic=4)
    safeguarding, governance = (topic.id for topic in desk.topics)
    # One source an article, so no cap interferes.
    ids = [
        store_articles(engine, f"Source {n}", f"https://s{n}.example", articles(f"s{n}.example", [f"g{n}"]))[0]
        for n in range(5)
    ]
    more = [
        store_articles(engine, f"Other {n}", f"https://o{n}.example", articles(f"o{n}.example", [f"o{n}"]))[0]
        for n in range(2)
    ]
    # Two articles belong to safeguarding; three lean towards it but belong to governance (scores are shares).
    score(
        engine,
        [
            (more[0], safeguarding, 0.95),
            (more[1], safeguarding, 0.9),
            *((a, safeguarding, s) for a, s in zip(ids[:3], (0.4, 0.3, 0.2), strict=True)),
            *((a, governance, 1 - s) for a, s in zip(ids[:3], (0.4, 0.3, 0.2), strict=True)),
            (ids[3], governance, 0.8),
        ],
    )
    digest_id = draft_digest(engine, desk, WEEK, END)
    items = load_items(engine, digest_id)
    assert [item.article_id for item in items if item.topic_id == safeguarding] == more[:2]
    assert all(item.score >= 0.5 for item in items)
    note = section_notes(engine, digest_id)[safeguarding]
    # ids[0..2] went to governance, where they belong: none of them is borderline for safeguarding.
    assert note["items"] == 2 and note["borderline"] == []

    # With governance full, the three are left over and become safeguarding's borderline candidates.
    small = community(engine, "desk", ["safeguarding", "governance"], per_topic=2)
    digest_id = draft_digest(engine, small, WEEK, END)
    note = section_notes(engine, digest_id)[safeguarding]
    governance_items = {item.article_id for item in load_items(engine, digest_id) if item.topic_id == governance}
    borderline = [a for a in ids[:3] if a not in governance_items]
    assert note["items"] == 2 and note["borderline"] == borderline and borderline

    password = security.hash_password("correct horse battery")
    set_curator(engine, save_user(engine, "sam@example.org", "Sam", password_hash=password), desk.id)
    with make_client(web_settings(settings)) as client:
        sign_in(client, "sam@example.org")
        page = client.get(f"/review/digests/{digest_id}").text
        plural = "s" if len(borderline) > 1 else ""
        assert "2 items this week;" in page and f"{len(borderline)} borderline candidate{plural}</a>" in page
        link = f"/review/digests/{digest_id}/topics/{safeguarding}/candidates"
        assert f'href="{link}#candidate-{borderline[0]}"' in page
        candidates = client.get(link).text
        for article_id in borderline:
            entry = candidates.split(f'id="candidate-{article_id}"', 1)[1].split("</li>", 1)[0]
            assert "Borderline" in entry


def test_what_an_earlier_digest_sent_is_not_proposed_again_and_a_new_article_on_its_story_is_a_follow_up(engine):
    desk = community(engine, "desk", ["volunteering"], per_topic=3)
    topic = desk.topics[0].id
    first = store_articles(engine, "News", "https://news.example", articles("news.example", ["rotas", "buddies"]))
    later = store_articles(
        engine, "Blog", "https://blog.example", articles("blog.example", ["rotas again", "rest"], start=END)
    )
    with engine.begin() as connection:
        story = connection.execute(
            stories.insert().values(representative_id=first[0], first_published_at=WEEK, updated_at=WEEK)
        ).inserted_primary_key[0]
        connection.execute(
            article_groups.insert(),
            [{"article_id": a, "story_id": story, "grouped_at": WEEK} for a in (first[0], later[0])],
        )
    score(engine, [(first[0], topic, 0.9), (first[1], topic, 0.8), (later[0], topic, 0.95), (later[1], topic, 0.7)])
    week_one = draft_digest(engine, desk, WEEK, END)
    approve_digest(engine, week_one, "sam@example.org")
    mark_digest_sent(engine, week_one)

    # The second week's window also holds the first week's articles (a period twice as long).
    items = load_items(engine, draft_digest(engine, desk, END, END + timedelta(days=7), pool_per_topic=30))
    assert {item.article_id for item in items} == {later[0], later[1]}
    assert {item.article_id for item in items}.isdisjoint(first)
    follow_up = next(item for item in items if item.article_id == later[0])
    assert follow_up.reasons[0].startswith("Follow-up: the story was sent on")
    assert "New thinking on rotas" in follow_up.reasons[0]
    other = next(item for item in items if item.article_id == later[1])
    assert not other.reasons[0].startswith("Follow-up")


def test_an_empty_section_is_left_out_of_emails_and_chat_posts(engine):
    desk = community(engine, "desk", ["volunteering", "safeguarding"], per_topic=3)
    volunteering, safeguarding = (topic.id for topic in desk.topics)
    ids = store_articles(engine, "News", "https://news.example", articles("news.example", ["rotas", "rest"]))
    # Nothing belongs to safeguarding this week: its section stays empty.
    score(engine, [(ids[0], volunteering, 0.9), (ids[1], volunteering, 0.8), (ids[1], safeguarding, 0.2)])
    digest_id = draft_digest(engine, desk, WEEK, END)
    approve_digest(engine, digest_id, "sam@example.org")
    content = load_content(engine, digest_id)
    assert [section.slug for section in content.sections] == ["volunteering"]
    mail = MailSettings("https://signpost.example.org", "Desk <desk@signpost.example.org>", "s3cret")
    member = Recipient(5, "m@example.net", "Mo", frozenset({volunteering, safeguarding}), "<d-1.m-5@x>", END)
    message = message_from_bytes(DigestRenderer(content, mail).render_bytes(member), policy=default)
    text = message.get_body(("plain",)).get_content()
    assert "picked this week in Volunteering." in text and "Safeguarding" not in text
    only_safeguarding = Recipient(6, "n@example.net", "No", frozenset({safeguarding}), "<d-1.m-6@x>", END)
    assert DigestRenderer(content, mail).render_bytes(only_safeguarding) is None
    for format_name in ("slack", "teams", "mattermost", "json"):
        body = json.dumps(payload(format_name, content, "https://signpost.example.org/c/desk/digests/1"))
        assert "Safeguarding" not in body and "Volunteering" in body


def test_the_floor_rises_to_what_curators_reject_once_there_are_enough_decisions():
    approved = [(True, s) for s in (0.99, 0.98, 0.97, 0.95, 0.93, 0.92, 0.91, 0.9)]
    rejected = [(False, s) for s in (0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.52, 0.51)]
    assert learnt_floor(approved + rejected, 0.5) == 0.9
    assert learnt_floor(approved + rejected[:3], 0.5) == 0.5  # too few rejections to learn from
    assert learnt_floor([(True, 0.6)] * 8 + [(False, 0.2)] * 8, 0.5) == 0.5  # never below the setting


def test_draft_rules_come_from_the_community_file_and_the_admin_page(engine, settings, tmp_path):
    from signpost.spiders.registry import sync_file

    path = tmp_path / "signpost.yaml"
    path.write_text(
        "communities:\n  - slug: desk\n    name: Desk\n    topics: [{slug: news, name: News}]\n"
        "    draft: {per_source_section: 1, relevance_floor: 0.7}\n",
        encoding="utf-8",
    )
    sync_file(engine, settings, path)
    desk = get_community(engine, "desk")
    assert desk.draft_rules == {"per_source_section": 1, "relevance_floor": 0.7}
    rules = draft_rules(desk, settings)
    assert (rules.per_source_section, rules.relevance_floor, rules.per_source_digest) == (1, 0.7, 4)

    password = security.hash_password("correct horse battery")
    save_user(engine, "ada@example.org", "Ada", password_hash=password, is_admin=True)
    with make_client(web_settings(settings)) as client:
        sign_in(client, "ada@example.org")
        page = client.get("/admin/communities/desk").text
        assert 'name="per_source_section"' in page and 'value="1"' in page
        post(client, "/admin/communities/desk/draft", {"per_source_digest": "3", "relevance_floor": ""})
        assert get_community(engine, "desk").draft_rules == {"per_source_digest": 3}
        bad = post(client, "/admin/communities/desk/draft", {"freshness": "7"})
        assert "freshness: 0.0 to 1.0" in client.get(bad.headers["location"]).text
        assert get_community(engine, "desk").draft_rules == {"per_source_digest": 3}
    # A file without draft rules leaves what the admin page set.
    path.write_text("communities:\n  - slug: desk\n    name: Desk\n    topics: [{slug: news, name: News}]\n")
    sync_file(engine, settings, path)
    assert get_community(engine, "desk").draft_rules == {"per_source_digest": 3}
