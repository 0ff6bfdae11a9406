"""Feeds, sitemaps and dates as real sites publish them: each breakage of the issue as a small document of its own."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from signpost.spiders.dates import parse_date
from signpost.spiders.discovery import feed_links_in_head
from signpost.spiders.feeds import parse_feed
from signpost.spiders.sitemaps import parse_sitemap
from signpost.spiders.urls import canonicalize_url

BASE = "https://news.example.org/feed.xml"
ATOM_NS = 'xmlns="http://www.w3.org/2005/Atom"'


def rss(items: str, head: str = "", declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (
        f"{declaration}\n<rss version='2.0' xmlns:media='http://search.yahoo.com/mrss/' "
        "xmlns:itunes='http://www.itunes.com/dtds/podcast-1.0.dtd' "
        "xmlns:content='http://purl.org/rss/1.0/modules/content/' xmlns:dcterms='http://purl.org/dc/terms/'>"
        f"<channel><title>News</title><link>https://news.example.org/</link>{head}{items}</channel></rss>"
    ).encode()


def item(title: str = "A title", link: str = "https://news.example.org/a-story", extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link>{extra}</item>"


# -- a bad URL is a missing URL ------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["http://example.c[o.test/", "http://example.com:99999/", "javascript:alert(1)"])
def test_a_bad_link_is_skipped_and_the_other_entries_kept(bad: str) -> None:
    feed = parse_feed(rss(item("Bad", bad) + item("Good")), BASE)
    assert [(entry.title, entry.url) for entry in feed.entries] == [("Good", "https://news.example.org/a-story")]
    assert feed.skipped == ["entry 1 ('Bad'): no usable http(s) link"]
    atom = f"<feed {ATOM_NS}><entry><title>Bad</title><link href='{bad}'/></entry>"
    atom += "<entry><title>Good</title><link href='/good-story'/></entry></feed>"
    assert [entry.url for entry in parse_feed(atom.encode(), BASE).entries] == ["https://news.example.org/good-story"]
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "home_page_url": bad,
        "items": [{"url": bad}, {"url": "/j"}],
    }
    json_feed = parse_feed(json.dumps(document).encode(), BASE)
    assert [entry.url for entry in json_feed.entries] == ["https://news.example.org/j"]
    assert json_feed.site_url is None
    sitemap = f"<urlset><url><loc>{bad}</loc></url><url><loc>https://news.example.org/s</loc></url></urlset>"
    assert [entry.url for entry in parse_sitemap(sitemap.encode(), BASE).entries] == ["https://news.example.org/s"]
    assert canonicalize_url(bad)  # never raises


def test_a_bad_base_keeps_absolute_links() -> None:
    body = b"<rss><channel><item><link>/relative</link></item><item><link>https://news.example.org/abs</link></item>"
    feed = parse_feed(body + b"</channel></rss>", "http://x.org:99999/")
    assert [entry.url for entry in feed.entries] == ["https://news.example.org/abs"]
    atom = (
        f"<feed {ATOM_NS} xml:base='http://bad[base/'><entry><link href='https://news.example.org/ok'/></entry></feed>"
    )
    assert [entry.url for entry in parse_feed(atom.encode(), BASE).entries] == ["https://news.example.org/ok"]


def test_feed_links_in_head_never_raises_and_skips_bad_links() -> None:
    page = b"""<html><head><base href="https://cdn.example.org/site/">
      <link rel="alternate" type="application/rss+xml" href="feed.xml">
      <link rel="alternate" type="application/atom+xml" href="http://example.c[o.test/atom">
      <link rel="alternate" type="application/json" href="https://cdn.example.org/wp-json/wp/v2/pages/12">
      <link rel="alternate" type="application/json" href="https://cdn.example.org/?rest_route=/wp/v2/posts/3">
      <link rel="alternate" type="application/json+oembed" href="https://cdn.example.org/wp-json/oembed/1.0/embed">
      <link rel="alternate" type="application/feed+json" href="/feed.json">
    </head><body></body></html>"""
    assert feed_links_in_head(page, "https://www.example.org/news/") == [
        "https://cdn.example.org/site/feed.xml",
        "https://cdn.example.org/feed.json",
    ]
    for garbage in (
        b"",
        b"\x00\x01",
        b"<?xml version='1.0' encoding='nope'?><html/>",
        "\ud800".encode("utf-8", "surrogatepass"),
    ):
        assert feed_links_in_head(garbage, "https://www.example.org/") == []


# -- the commonest breakage reads right, without a warning -------------------------------------------------


def test_bare_ampersands_in_links_and_titles() -> None:
    feed = parse_feed(rss(item("Fish & chips", "https://news.example.org/?id=5&page=2")), BASE)
    [entry] = feed.entries
    assert (entry.title, entry.url) == ("Fish & chips", "https://news.example.org/?id=5&page=2")
    assert feed.warnings == []
    sitemap = parse_sitemap(b"<urlset><url><loc>https://news.example.org/?id=5&page=2</loc></url></urlset>", BASE)
    assert [entry.url for entry in sitemap.entries] == ["https://news.example.org/?id=5&page=2"]
    assert sitemap.warnings == []


def test_html_entities_in_xml() -> None:
    feed = parse_feed(rss(item("Caf&eacute;&nbsp;au lait &mdash; &hellip;&#233;&#x41;")), BASE)
    assert feed.entries[0].title == "Café au lait — …éA"
    assert (feed.warnings, feed.repairs) == ([], ["read 4 HTML entities"])


def test_cdata_is_left_alone_by_the_repairs() -> None:
    feed = parse_feed(rss(item(extra="<description><![CDATA[<p>AT&amp;T &eacute; & more</p>]]></description>")), BASE)
    assert feed.entries[0].summary == "AT&T é & more"


@pytest.mark.parametrize(
    "body",
    [
        b"\n\n   " + rss(item("Café")),
        rss(item("Café")).replace(b"<channel>", b"<channel>\x0c"),
        rss(item("Caf\xe9")).replace("Caf\xe9".encode(), b"Caf\xe9"),  # one stray Latin-1 byte in UTF-8
    ],
    ids=["blank lines before <?xml", "a form feed", "a stray Latin-1 byte"],
)
def test_small_breakage_reads_right(body: bytes) -> None:
    feed = parse_feed(body, BASE)
    assert feed.entries[0].title == "Café"
    assert feed.warnings == []


def test_unknown_entities_stay_as_text() -> None:
    assert parse_feed(rss(item("Tom &madeup; Jerry")), BASE).entries[0].title == "Tom &madeup; Jerry"


# -- text is text ---------------------------------------------------------------------------------------------


def test_rss_titles_are_text_unless_they_are_html() -> None:
    feed = parse_feed(
        rss(
            item("History of the &lt;blink&gt; tag", "https://news.example.org/1")
            + item("&lt;/example&gt;", "https://news.example.org/2")
            + item("Recruiting &lt;em&gt;volunteers&lt;/em&gt;", "https://news.example.org/3")
            + item("AT&amp;amp;T", "https://news.example.org/4")
        ),
        BASE,
    )
    assert [entry.title for entry in feed.entries] == [
        "History of the <blink> tag",
        "</example>",
        "Recruiting volunteers",
        "AT&T",
    ]


def test_atom_text_constructs() -> None:
    encoded = base64.b64encode("Base64 <title> é".encode()).decode()
    body = f"""<feed {ATOM_NS}><title type="text">Less &lt;b&gt;than&lt;/b&gt;</title>
      <entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">An <b>XHTML</b> title</div></title>
        <link href="/1"/></entry>
      <entry><title type="xhtml">No div: <em xmlns="http://www.w3.org/1999/xhtml">&lt;</em></title>
        <link href="/2"/></entry>
      <entry><title type="html">&lt;b&gt;Bold&lt;/b&gt; news</title><link href="/3"/></entry>
      <entry><title mode="base64">{encoded}</title><link href="/4"/></entry>
      <entry><title type="text/html" mode="escaped">&lt;i&gt;Atom 0.3&lt;/i&gt;</title><link href="/5"/></entry>
    </feed>""".encode()
    feed = parse_feed(body, BASE)
    assert feed.title == "Less <b>than</b>"
    assert [entry.title for entry in feed.entries] == [
        "An XHTML title",
        "No div: <",
        "Bold news",
        "Base64 <title> é",
        "Atom 0.3",
    ]


def test_titles_lose_control_characters_and_escape_sequences() -> None:
    body = rss(item("Sector&#x85; news \x1b[31mred\x1b[0m\x07 [/]"))
    assert parse_feed(body, BASE).entries[0].title == "Sector news red [/]"
    document = {"version": "https://jsonfeed.org/version/1", "title": "\x1b]0;owned\x07Feed\u009b", "items": []}
    assert parse_feed(json.dumps(document).encode(), BASE).title == "Feed"


# -- the fallbacks readers use ----------------------------------------------------------------------------


def test_atom_id_as_the_link_when_it_is_a_web_url() -> None:
    body = f"""<feed {ATOM_NS}>
      <entry><id>https://news.example.org/posts/by-id</id><title>By id</title></entry>
      <entry><id>urn:uuid:1234</id><title>Not a URL</title></entry>
      <entry><id>tag:news.example.org,2024:5</id><title>Nor this</title></entry>
    </feed>""".encode()
    assert [entry.url for entry in parse_feed(body, BASE).entries] == ["https://news.example.org/posts/by-id"]


def test_dates_from_atom_03_and_dcterms() -> None:
    atom03 = b"""<feed version="0.3" xmlns="http://purl.org/atom/ns#">
      <entry><link rel="alternate" href="https://news.example.org/1"/><issued>2004-01-02T03:04:05-05:00</issued></entry>
      <entry><link rel="alternate" href="https://news.example.org/2"/><modified>2004-01-03T00:00:00Z</modified></entry>
      <entry><link rel="alternate" href="https://news.example.org/3"/><created>2004-01-04T00:00:00Z</created></entry>
    </feed>"""
    assert [entry.published for entry in parse_feed(atom03, BASE).entries] == [
        datetime(2004, 1, 2, 8, 4, 5, tzinfo=UTC),
        datetime(2004, 1, 3, tzinfo=UTC),
        datetime(2004, 1, 4, tzinfo=UTC),
    ]
    feed = parse_feed(
        rss(
            item(link="https://news.example.org/1", extra="<dcterms:issued>2024-05-01</dcterms:issued>")
            + item(link="https://news.example.org/2", extra="<dcterms:modified>2024-05-02T10:00Z</dcterms:modified>")
        ),
        BASE,
    )
    assert [entry.published for entry in feed.entries] == [
        datetime(2024, 5, 1, tzinfo=UTC),
        datetime(2024, 5, 2, 10, tzinfo=UTC),
    ]


def test_summaries_from_media_itunes_and_content_encoded() -> None:
    feed = parse_feed(
        rss(
            item(
                link="https://news.example.org/1",
                extra="<description></description><itunes:summary>Pod</itunes:summary>",
            )
            + item(
                link="https://news.example.org/2",
                extra="<media:group><media:description>Video words</media:description></media:group>",
            )
            + item(
                link="https://news.example.org/3", extra="<content:encoded><![CDATA[<p>Full</p>]]></content:encoded>"
            )
        ),
        BASE,
    )
    assert [entry.summary for entry in feed.entries] == ["Pod", "Video words", "Full"]
    youtube = f"""<feed {ATOM_NS} xmlns:media="http://search.yahoo.com/mrss/"><entry><link href="/v"/>
      <media:group><media:description>Watch this</media:description></media:group></entry></feed>""".encode()
    assert parse_feed(youtube, BASE).entries[0].summary == "Watch this"


# -- encodings ------------------------------------------------------------------------------------------------


def test_the_http_charset_reaches_the_parser() -> None:
    body = rss(item("Tr\xe8s bien"), declaration="").replace("Tr\xe8s".encode(), b"Tr\xe8s")
    assert parse_feed(body, BASE, charset="iso-8859-1").entries[0].title == "Très bien"
    koi8 = rss(item("Привет"), declaration="").replace("Привет".encode(), "Привет".encode("koi8-r"))
    assert parse_feed(koi8, BASE, charset="koi8-r").entries[0].title == "Привет"


def test_undeclared_invalid_utf8_falls_back_to_cp1252() -> None:
    body = rss(item("Tr\xe8s \u2019quoted\u2019"), declaration="")
    body = body.replace("Tr\xe8s \u2019quoted\u2019".encode(), "Tr\xe8s \u2019quoted\u2019".encode("cp1252"))
    feed = parse_feed(body, BASE)
    assert feed.entries[0].title == "Très \u2019quoted\u2019"
    assert feed.warnings == []
    assert feed.repairs[0].startswith("not valid utf-8")


def test_a_declared_latin1_feed() -> None:
    body = rss(item("Caf\xe9 & co"), declaration='<?xml version="1.0" encoding="ISO-8859-1"?>')
    body = body.replace("Caf\xe9".encode(), b"Caf\xe9")
    assert parse_feed(body, BASE, charset="utf-8").entries[0].title == "Café & co"


# -- dates, never silently wrong ------------------------------------------------------------------------------


def at(hours: float = 0) -> timezone:
    return timezone(timedelta(hours=hours))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thu, 01 Jan 2004 10:00:00 EST", datetime(2004, 1, 1, 10, tzinfo=at(-5))),
        ("Thu, 01 Jan 2004 10:00:00 EDT", datetime(2004, 1, 1, 10, tzinfo=at(-4))),
        ("Thu, 01 Jan 2004 10:00:00 CET", datetime(2004, 1, 1, 10, tzinfo=at(1))),
        ("Thu, 01 Jan 2004 10:00:00 MET", datetime(2004, 1, 1, 10, tzinfo=at(1))),
        ("Thu, 01 Jan 2004 10:00:00 MEST", datetime(2004, 1, 1, 10, tzinfo=at(2))),
        ("Thu, 01 Jan 2004 10:00:00 BST", datetime(2004, 1, 1, 10, tzinfo=at(1))),
        ("Thu, 01 Jan 2004 10:00:00 ET", datetime(2004, 1, 1, 10, tzinfo=at(-5))),
        ("Thu, 01 Jan 2004 10:00:00 CT", datetime(2004, 1, 1, 10, tzinfo=at(-6))),
        ("Thu, 01 Jan 2004 10:00:00 PT", datetime(2004, 1, 1, 10, tzinfo=at(-8))),
        ("Thu, 01 Jan 2004 10:00:00 GMT-07:00", datetime(2004, 1, 1, 10, tzinfo=at(-7))),
        ("Thu, 01 Jan 2004 10:00:00 -01:01", datetime(2004, 1, 1, 10, tzinfo=timezone(-timedelta(hours=1, minutes=1)))),
        ("Thu, 01 Jan 2004 10:00:00 +0530 (IST)", datetime(2004, 1, 1, 10, tzinfo=at(5.5))),
        ("Thu, 01 Jan 2004", datetime(2004, 1, 1, tzinfo=UTC)),
        ("Mon, 13 Feb, 2012 14:30:00 GMT", datetime(2012, 2, 13, 14, 30, tzinfo=UTC)),
        ("2003-12", datetime(2003, 12, 1, tzinfo=UTC)),
        ("2003-12-31T10:14Z", datetime(2003, 12, 31, 10, 14, tzinfo=UTC)),
        ("2024-05-07 09:30:00 +0200", datetime(2024, 5, 7, 9, 30, tzinfo=at(2))),
        ("Tue May  7 09:30:00 2024", datetime(2024, 5, 7, 9, 30, tzinfo=UTC)),
        ("May 7, 2024 9:30 PDT", datetime(2024, 5, 7, 9, 30, tzinfo=at(-7))),
        ("Sun, 02 Feb 2020 10:00:00 +0000 GMT", datetime(2020, 2, 2, 10, tzinfo=UTC)),
        ("2024/05/07 09:30:00", datetime(2024, 5, 7, 9, 30, tzinfo=UTC)),
        ("9999-12-31T23:59:59-05:00", None),
        ("Fri, 31 Dec 9999 23:59:59 -0500", None),
        ("Thu, 01 Jan 2004 10:00:00 XYZ", None),
        ("2024-02-30", None),
        ("soon", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


def test_an_out_of_range_date_is_a_missing_date_not_a_lost_feed() -> None:
    feed = parse_feed(rss(item(extra="<pubDate>9999-12-31T23:59:59-05:00</pubDate>")), BASE)
    [entry] = feed.entries
    assert entry.published is None and entry.title == "A title"


# -- sitemaps ------------------------------------------------------------------------------------------------


def test_a_text_sitemap_with_a_non_url_line_keeps_its_other_urls() -> None:
    sitemap = parse_sitemap(b"https://news.example.org/one\n<html>oops</html>\nhttps://news.example.org/two\n", BASE)
    assert [entry.url for entry in sitemap.entries] == ["https://news.example.org/one", "https://news.example.org/two"]
    assert sitemap.warnings == ["skipped 1 line(s) that are not http(s) URLs"]


def test_utf16_declared_on_utf8_bytes_and_real_utf16() -> None:
    wrong = rss(item("Caf\xe9 &eacute;"), declaration='<?xml version="1.0" encoding="UTF-16"?>')
    assert parse_feed(wrong, BASE).entries[0].title == "Café é"
    real = (
        rss(item("Caf\xe9 &eacute;"), declaration='<?xml version="1.0" encoding="utf-16"?>').decode().encode("utf-16")
    )
    assert parse_feed(real, BASE).entries[0].title == "Café é"


def test_a_json_feed_item_whose_id_is_its_url() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [{"id": "https://news.example.org/by-id", "title": "By id"}, {"id": "42", "title": "Not a URL"}],
    }
    assert [entry.url for entry in parse_feed(json.dumps(document).encode(), BASE).entries] == [
        "https://news.example.org/by-id"
    ]
