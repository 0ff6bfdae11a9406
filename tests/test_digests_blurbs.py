"""Blurbs: the sentences that stand for an article, never cookie banners, share buttons or sign-up prompts."""

from __future__ import annotations

import json

import pytest

from conftest import shared_data
from signpost.digests.blurbs import FURNITURE, MAX_BLURB_CHARS, is_furniture, make_blurb, split_sentences

FURNISHED = """Accept all cookies
We use cookies to improve your experience on our site. By continuing you agree to our privacy policy.
Share this article on Facebook, Twitter or LinkedIn.
Volunteer retention rose sharply after charities introduced structured buddy schemes for new volunteers.
Sign up to our newsletter for weekly updates from the sector!
Read more: How to welcome new volunteers.
The buddy schemes paired each newcomer with an experienced volunteer for their first three months.
Charities that ran them kept nearly twice as many volunteers after a year as those that did not.
Click here to register for our free webinar.
Leave a Reply
You are commenting using your WordPress.com account.
Copyright © 2024 Sector News. All rights reserved.
"""

FURNITURE_WORDS = ("cookie", "share this", "read more", "sign up", "newsletter", "register", "reply", "copyright")


def test_furniture_never_reaches_the_blurb():
    blurb = make_blurb("Buddy schemes keep volunteers", FURNISHED)
    assert "buddy schemes" in blurb.lower()
    for words in FURNITURE_WORDS:
        assert words not in blurb.lower()
    assert len(blurb) <= MAX_BLURB_CHARS


def test_blurbs_of_raw_sector_pages_are_article_sentences():
    folder = shared_data("sector-seeds")
    titles = {}
    for line in (folder / "articles.jsonl").read_text().splitlines():
        record = json.loads(line)
        titles[record["id"].split("-")[1]] = record["title"]
    raw_pages = sorted((folder / "raw").glob("*.txt"))
    assert raw_pages
    for page in raw_pages:
        text = page.read_text()
        blurb = make_blurb(titles[page.name[:3]], text)
        assert blurb, page.name
        assert len(blurb) <= MAX_BLURB_CHARS
        assert not FURNITURE.search(blurb), (page.name, blurb)
        for sentence in split_sentences(blurb):
            assert sentence in " ".join(text.split()), (page.name, sentence)
            assert not is_furniture(sentence)


@pytest.mark.parametrize(
    "line",
    [
        "We use cookies to give you the best experience.",
        "Share this: Facebook, Twitter, Email.",
        "Read more from Martin Baker.",
        "Subscribe to our newsletter for the latest news.",
        "googletag.cmd.push(function() { googletag.display('div-gpt-ad'); });",
        "Author Profile Picture",
        "Are you interested in moving your training online?",
        "Visit https://example.org/join to find out how.",
    ],
)
def test_furniture_lines_are_recognised(line):
    assert is_furniture(line)


def test_a_long_single_sentence_is_cut_at_a_word():
    text = "Volunteers " + "and trustees " * 15 + "worked together on the new strategy for the network."
    blurb = make_blurb("Strategy", text, max_chars=120)
    assert len(blurb) <= 120
    assert blurb.endswith("…")


def test_no_fit_sentence_gives_an_empty_blurb():
    assert make_blurb("Title", "Accept all cookies\nShare this\nRead more") == ""
