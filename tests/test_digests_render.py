"""Rendering a member's email: their topics only, valid headers, one-click unsubscribe, no scraped markup, and
tracked links to the items when the community tracks clicks."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from html.parser import HTMLParser
from urllib.parse import unquote

from itsdangerous import URLSafeSerializer

from signpost.digests import tokens
from signpost.digests.render import (
    PREVIEW_MEMBER_ID,
    DigestContent,
    DigestRenderer,
    MailSettings,
    Recipient,
    Section,
    plain_text,
    safe_url,
)
from signpost.store.digests import CoveredBy, DigestItem

MAIL = MailSettings("https://signpost.example.org", "Volunteer network <digest@signpost.example.org>", "s3cret")
HOSTILE = [
    ("<script>alert('title')</script>Recruiting in 2026", "javascript:alert(1)"),
    ('<img src=x onerror="alert(1)">Welcoming volunteers', "JaVaScRiPt:alert(2)"),
    ("&lt;script&gt;alert(3)&lt;/script&gt;Keeping trustees", "https://example.org/ok?a=1&b=<2>"),
]


def item(topic_id: int, number: int, title: str, url: str, blurb: str = "", source: str = "Sector News") -> DigestItem:
    return DigestItem(
        id=1000 + topic_id * 100 + number,
        topic_id=topic_id,
        article_id=topic_id * 100 + number,
        story_id=None,
        position=number,
        title=title,
        blurb=blurb,
        url=url,
        source_name=source,
        score=1.0,
        also_covered_by=(
            CoveredBy("Other <b onmouseover=alert(4)>Source</b>", "https://other.example/x"),
            CoveredBy("Evil", "javascript:alert(5)"),
        ),
        state="approved",
    )


def content() -> DigestContent:
    recruitment = tuple(
        item(1, number, title, url, blurb='Blurb <a href="javascript:alert(6)" onclick="x()">click</a> about people.')
        for number, (title, url) in enumerate(HOSTILE)
    )
    wellbeing = (item(2, 0, "Rest and recovery for volunteer managers", "https://example.org/rest", "Take breaks."),)
    return DigestContent(
        digest_id=7,
        community_id=3,
        community_slug="volunteering",
        community_name="Volunteer managers network",
        period_start=datetime(2026, 3, 2, tzinfo=UTC),
        period_end=datetime(2026, 3, 9, tzinfo=UTC),
        sections=(
            Section(1, "recruitment", "Recruiting volunteers", recruitment),
            Section(2, "wellbeing", "Wellbeing", wellbeing),
        ),
    )


def recipient(member_id: int, topic_ids: set[int], name: str = "Sam Jones") -> Recipient:
    return Recipient(
        member_id=member_id,
        email=f"member{member_id}@example.net",
        name=name,
        topic_ids=frozenset(topic_ids),
        message_id=f"<digest-7.member-{member_id}.email@signpost.example.org>",
        date=datetime(2026, 3, 9, 7, 0, tzinfo=UTC),
    )


class Markup(HTMLParser):
    """Every tag, attribute and link of an HTML body."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.append((name, value or ""))
            if name in ("href", "src"):
                self.links.append(value or "")


def parse(raw: bytes):
    return message_from_bytes(raw, policy=default)


def test_each_member_gets_exactly_their_topics_with_valid_headers():
    renderer = DigestRenderer(content(), MAIL)
    for topic_ids, expected in (({1}, {"recruitment"}), ({2}, {"wellbeing"}), ({1, 2}, {"recruitment", "wellbeing"})):
        message = parse(renderer.render_bytes(recipient(11, topic_ids)))
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
        page = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        for slug, name in (("recruitment", "Recruiting volunteers"), ("wellbeing", "Wellbeing")):
            assert (f'id="topic-{slug}"' in page) == (slug in expected)
            assert (f"== {name} ==" in text) == (slug in expected)
        assert message["Message-ID"] == "<digest-7.member-11.email@signpost.example.org>"
        assert message["To"].addresses[0].addr_spec == "member11@example.net"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        links = [link.strip(" <>") for link in str(message["List-Unsubscribe"]).split(",")]
        https = next(link for link in links if link.startswith("https://signpost.example.org/unsubscribe/"))
        mailto = next(link for link in links if link.startswith("mailto:digest@signpost.example.org?subject="))
        token = https.rsplit("/", 1)[1]
        assert tokens.read_token(MAIL.secret_key, tokens.UNSUBSCRIBE, token) == (11, 3)
        assert unquote(mailto).endswith(token)
        # The visible links in both parts, as well as the header.
        assert https in page and https in text
        assert "https://signpost.example.org/preferences/" in page and "Hello Sam Jones," in text
        assert "style=" in page  # CSS inlined for clients that drop <style>


def test_no_email_when_none_of_the_members_topics_has_items():
    renderer = DigestRenderer(content(), MAIL)
    assert renderer.render_bytes(recipient(12, {99})) is None
    assert renderer.render_bytes(recipient(12, set())) is None


def test_scraped_markup_never_reaches_the_email():
    renderer = DigestRenderer(content(), MAIL)
    raw = renderer.render_bytes(recipient(13, {1, 2}, name='<script>alert("name")</script>Eve'))
    message = parse(raw)
    page = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    markup = Markup()
    markup.feed(page)
    assert "script" not in markup.tags
    assert not [name for name, _ in markup.attributes if name.startswith("on")]
    assert all(link.startswith(("https://", "http://")) for link in markup.links), markup.links
    for part in (page, text, raw.decode("ascii")):
        lowered = part.lower()
        assert "javascript:" not in lowered
        assert "<script" not in lowered
        assert "onerror" not in lowered and "onclick" not in lowered and "onmouseover" not in lowered
    # The text of hostile titles survives as text; the safe link is kept, escaped.
    assert "Recruiting in 2026" in page and "Welcoming volunteers" in text
    assert 'href="https://example.org/ok?a=1&amp;b=%3C2%3E"' in page


def test_a_retry_renders_the_same_bytes():
    first = DigestRenderer(content(), MAIL).render_bytes(recipient(14, {1}))
    again = DigestRenderer(content(), MAIL).render_bytes(recipient(14, {1}))
    assert first == again


def test_tokens_are_purpose_bound_and_tamper_evident():
    token = tokens.make_token("k", tokens.UNSUBSCRIBE, 5, 2)
    assert tokens.read_token("k", tokens.UNSUBSCRIBE, token) == (5, 2)
    assert tokens.read_token("k", tokens.PREFERENCES, token) is None
    assert tokens.read_token("other", tokens.UNSUBSCRIBE, token) is None
    assert tokens.read_token("k", tokens.UNSUBSCRIBE, token[:-2] + "xx") is None


def test_cleaning_helpers():
    assert plain_text("<p>Hello <b>world</b></p><script>x()</script>") == "Hello world"
    assert "<" not in plain_text("&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;")
    assert safe_url(" https://example.org/a?b=1&c=d ") == "https://example.org/a?b=1&c=d"
    assert safe_url('https://example.org/"><script>') == "https://example.org/%22%3E%3Cscript%3E"
    for url in ("javascript:alert(1)", "java\tscript:alert(1)", "data:text/html,x", "//evil.example", "mailto:x@y"):
        assert safe_url(url) is None


def bodies(raw: bytes) -> tuple[str, str]:
    """(HTML, text) of an email."""
    message = parse(raw)
    return message.get_body(("html",)).get_content(), message.get_body(("plain",)).get_content()


def item_links(raw: bytes) -> tuple[list[str], list[str]]:
    """The items' own links: the headings' links in the HTML part, the "source: link" lines in the text part."""
    page, text = bodies(raw)
    in_html = [html.unescape(link) for link in re.findall(r'<h3[^>]*><a href="([^"]+)"', page)]
    in_text = re.findall(r"^Sector News: (\S+)\r?$", text, flags=re.MULTILINE)
    return in_html, in_text


def linked_items(topic_ids: set[int]) -> list[DigestItem]:
    """The items of those topics that get a link at all: javascript: and the like never do."""
    return [
        entry
        for section in content().sections
        if section.topic_id in topic_ids
        for entry in section.items
        if safe_url(entry.url)
    ]


def test_with_click_tracking_every_item_link_is_the_members_own_tracked_link():
    renderer = DigestRenderer(replace(content(), click_tracking=True), MAIL)
    tokens_seen = set()
    for member_id, topic_ids in ((21, {1, 2}), (22, {1}), (23, {2})):
        raw = renderer.render_bytes(recipient(member_id, topic_ids))
        in_html, in_text = item_links(raw)
        expected = linked_items(topic_ids)
        assert len(in_html) == len(in_text) == len(expected) > 0
        for html_link, text_link, entry in zip(in_html, in_text, expected, strict=True):
            assert html_link == text_link and html_link.startswith("https://signpost.example.org/r/")
            token = html_link.rsplit("/", 1)[1]
            assert tokens.read_click_token(MAIL.secret_key, token) == (entry.id, member_id)
            tokens_seen.add(token)
        page, text = bodies(raw)
        for entry in expected:
            # No item is reachable around the tracker, in either part; "also covered by" links stay direct.
            assert safe_url(entry.url) not in text and html.escape(safe_url(entry.url)) not in page
        assert "https://other.example/x" in page and "https://other.example/x" in text
        assert renderer.render_bytes(recipient(member_id, topic_ids)) == raw  # a retry sends the same bytes
    assert len(tokens_seen) == len(linked_items({1, 2})) + len(linked_items({1})) + len(linked_items({2}))
    assert renderer.combinations == 3  # the templates still run once per combination of topics


def test_without_click_tracking_item_links_go_straight_to_the_articles():
    raw = DigestRenderer(content(), MAIL).render_bytes(recipient(24, {1, 2}))
    in_html, in_text = item_links(raw)
    expected = [safe_url(entry.url) for entry in linked_items({1, 2})]
    assert in_html == in_text == expected
    assert "/r/" not in raw.decode("ascii")


def test_a_preview_is_never_tracked():
    renderer = DigestRenderer(replace(content(), click_tracking=True), MAIL)
    raw = renderer.render_bytes(recipient(PREVIEW_MEMBER_ID, {1, 2}))
    in_html, in_text = item_links(raw)
    assert in_html == in_text == [safe_url(entry.url) for entry in linked_items({1, 2})]
    assert "/r/" not in raw.decode("ascii")
    # The member's email from the same renderer is tracked all the same.
    assert all("/r/" in link for link in item_links(renderer.render_bytes(recipient(25, {1, 2})))[0])


def test_click_tokens_are_itsdangerous_tokens_and_cannot_be_forged():
    reference = URLSafeSerializer("k", salt=tokens.CLICK)
    signer = tokens.ClickSigner("k")
    for item_id, member_id in ((1, None), (7, 0), (123456, 987654), (2**40, 3)):
        token = signer.token(item_id, member_id)
        assert token == reference.dumps([item_id, member_id]) == tokens.click_token("k", item_id, member_id)
        assert tokens.read_click_token("k", token) == (item_id, member_id)
    token = signer.token(5, 9)
    assert tokens.read_click_token("other", token) is None  # another key
    payload, signature = token.split(".")
    assert tokens.read_click_token("k", f"{payload}.{signature[::-1]}") is None  # tampered
    other_payload = signer.token(5, 10).split(".")[0]
    assert tokens.read_click_token("k", f"{other_payload}.{signature}") is None  # someone else's member id
    assert tokens.read_click_token("k", other_payload) is None and tokens.read_click_token("k", "") is None
    # Tokens of other purposes, and JSON that is not (item id, member id), are refused.
    assert tokens.read_click_token("k", tokens.make_token("k", tokens.UNSUBSCRIBE, 5, 9)) is None
    assert tokens.read_token("k", tokens.UNSUBSCRIBE, token) is None
    for payload in (["5", 9], [5, "9"], [True, 9], [5], [5, 9, 1], {"a": 1}):
        assert tokens.read_click_token("k", reference.dumps(payload)) is None
    assert tokens.click_url("https://signpost.example.org/", "k", 5, 9) == f"https://signpost.example.org/r/{token}"
