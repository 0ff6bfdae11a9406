"""Feeds, sitemaps, robots.txt sitemap lines and listing pages, parsed from hand-written samples."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from signpost.spiders.feeds import FeedError, looks_like_feed, parse_feed
from signpost.spiders.listing import listing_links
from signpost.spiders.sitemaps import SitemapError, parse_sitemap, sitemap_urls_from_robots_txt

BASE = "https://example.org/blog/feed.xml"

RSS_091 = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91">
  <channel>
    <title>Old Style</title>
    <link>http://old.example.org/</link>
    <description>An RSS 0.91 feed</description>
    <language>en</language>
    <item>
      <title>First &amp; foremost</title>
      <link>http://old.example.org/2001/first-post.html</link>
      <description>Caf\xe9 &lt;b&gt;news&lt;/b&gt;</description>
    </item>
  </channel>
</rss>"""

RSS_10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.org/">
    <title>RDF Site</title>
    <link>https://example.org/</link>
    <items><rdf:Seq><rdf:li rdf:resource="https://example.org/one"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://example.org/one">
    <title>One</title>
    <link>https://example.org/posts/one-thing-happened</link>
    <description>Plain text.</description>
    <dc:date>2024-03-05T10:00:00+01:00</dc:date>
    <dc:creator>Ada Lovelace</dc:creator>
  </item>
  <item rdf:about="https://example.org/two-things">
    <title>Two</title>
  </item>
</rdf:RDF>"""

RSS_20 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>Volunteer News</title>
    <link>/blog/</link>
    <atom:link href="https://example.org/blog/feed.xml" rel="self" type="application/rss+xml"/>
    <item>
      <title>Recruiting &lt;em&gt;volunteers&lt;/em&gt;</title>
      <link>/blog/2024/05/recruiting-volunteers/</link>
      <description><![CDATA[<p>How to <a href="/x">recruit</a> volunteers.</p><script>alert(1)</script>]]></description>
      <pubDate>Tue, 07 May 2024 09:30:00 +0200</pubDate>
      <author>editor@example.org (Grace Hopper)</author>
      <guid isPermaLink="false">abc-123</guid>
    </item>
    <item>
      <title>Guid only</title>
      <guid>https://example.org/blog/guid-only-post</guid>
      <pubDate>Wed, 08 May 2024 12:00:00 GMT</pubDate>
    </item>
    <item>
      <title>No link at all</title>
      <guid isPermaLink="false">xyz</guid>
    </item>
    <item>
      <title>Long one</title>
      <link>https://example.org/blog/long-one</link>
      <content:encoded><![CDATA[<p>word </p>]]></content:encoded>
      <description>LONG</description>
      <pubDate>not a date</pubDate>
    </item>
  </channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://example.org/news/">
  <title type="html">Sector &lt;b&gt;Atom&lt;/b&gt;</title>
  <link rel="self" href="https://example.org/news/atom.xml"/>
  <link rel="alternate" href="https://example.org/news/"/>
  <author><name>Feed Author</name></author>
  <updated>2024-06-01T00:00:00Z</updated>
  <entry>
    <title>Entry one</title>
    <link rel="edit" href="/edit/1"/>
    <link rel="alternate" type="text/html" href="entry-one-is-here"/>
    <id>urn:uuid:1</id>
    <published>2024-06-01T08:00:00-04:00</published>
    <updated>2024-06-02T08:00:00Z</updated>
    <summary type="html">&lt;p&gt;Short &lt;i&gt;summary&lt;/i&gt;&lt;/p&gt;</summary>
    <author><name>Entry Author</name></author>
  </entry>
  <entry>
    <title>Entry two</title>
    <link href="https://other.example.net/entry-two"/>
    <updated>2024-06-03T10:00:00</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>XHTML <b>content</b></p></div></content>
  </entry>
</feed>"""

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON Site",
    "home_page_url": "https://example.org/",
    "authors": [{"name": "Feed Person"}],
    "items": [
        {
            "id": "1",
            "url": "/posts/json-entry-one",
            "title": "JSON one",
            "content_html": "<p>Hello <b>world</b></p>",
            "date_published": "2024-02-01T12:00:00Z",
            "authors": [{"name": "Item Person"}],
        },
        {"id": "2", "external_url": "https://elsewhere.example.com/story", "content_text": "Text only"},
        {"id": "3", "title": "No URL"},
        {"id": "4", "url": "https://example.org/v10", "summary": "S", "author": {"name": "Old Style Author"}},
    ],
}


def test_rss_091() -> None:
    feed = parse_feed(RSS_091, BASE)
    assert (feed.kind, feed.title, feed.site_url) == ("rss", "Old Style", "http://old.example.org/")
    [entry] = feed.entries
    assert entry.url == "http://old.example.org/2001/first-post.html"
    assert entry.title == "First & foremost"
    assert entry.summary == "Café news"


def test_rss_10_rdf() -> None:
    feed = parse_feed(RSS_10, BASE)
    assert (feed.kind, feed.title, feed.site_url) == ("rdf", "RDF Site", "https://example.org/")
    assert [entry.url for entry in feed.entries] == [
        "https://example.org/posts/one-thing-happened",
        "https://example.org/two-things",  # from rdf:about when there is no <link>
    ]
    first = feed.entries[0]
    assert first.published == datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
    assert first.author == "Ada Lovelace"


def test_rss_20() -> None:
    feed = parse_feed(RSS_20, BASE)
    assert (feed.kind, feed.title, feed.site_url) == ("rss", "Volunteer News", "https://example.org/blog/")
    urls = [entry.url for entry in feed.entries]
    # The item with neither a link nor a permalink guid is dropped.
    assert urls == [
        "https://example.org/blog/2024/05/recruiting-volunteers/",
        "https://example.org/blog/guid-only-post",
        "https://example.org/blog/long-one",
    ]
    first, second, third = feed.entries
    assert first.title == "Recruiting volunteers"
    assert first.summary == "How to recruit volunteers."
    assert first.published == datetime(2024, 5, 7, 7, 30, tzinfo=UTC)
    assert first.author == "Grace Hopper"
    assert second.published == datetime(2024, 5, 8, 12, 0, tzinfo=UTC)
    assert third.published is None


def test_summary_is_capped() -> None:
    body = RSS_20.replace(b"<description>LONG</description>", b"<description>" + b"word " * 1000 + b"</description>")
    entry = parse_feed(body, BASE).entries[-1]
    assert entry.summary is not None
    assert len(entry.summary) <= 1000
    assert entry.summary.endswith("…")


def test_atom() -> None:
    feed = parse_feed(ATOM, "https://example.org/news/atom.xml")
    assert (feed.kind, feed.title, feed.site_url) == ("atom", "Sector Atom", "https://example.org/news/")
    one, two = feed.entries
    # rel=edit is ignored; the relative alternate link is resolved against xml:base.
    assert one.url == "https://example.org/news/entry-one-is-here"
    assert one.published == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert one.summary == "Short summary"
    assert one.author == "Entry Author"
    assert two.url == "https://other.example.net/entry-two"
    assert two.published == datetime(2024, 6, 3, 10, 0, tzinfo=UTC)  # updated, no zone: read as UTC
    assert two.summary == "XHTML content"
    assert two.author == "Feed Author"


def test_json_feed() -> None:
    feed = parse_feed(json.dumps(JSON_FEED).encode(), "https://example.org/feed.json")
    assert (feed.kind, feed.title, feed.site_url) == ("json", "JSON Site", "https://example.org/")
    assert [entry.url for entry in feed.entries] == [
        "https://example.org/posts/json-entry-one",
        "https://elsewhere.example.com/story",
        "https://example.org/v10",
    ]
    one, two, four = feed.entries
    assert (one.title, one.summary, one.author) == ("JSON one", "Hello world", "Item Person")
    assert one.published == datetime(2024, 2, 1, 12, 0, tzinfo=UTC)
    assert (two.summary, two.author) == ("Text only", "Feed Person")
    assert four.author == "Old Style Author"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"<html><head><title>x</title></head><body><p>hello</p></body></html>", "HTML"),
        (RSS_20[: len(RSS_20) // 5], "XML syntax error at line"),
        (b'<?xml version="1.0"?>\n<rss><channel>\n<item><title>a</tit\x00\x01', "XML syntax error at line"),
        (b"<urlset><url><loc>https://example.org/</loc></url></urlset>", "root element is <urlset>"),
        (b'{"version": "1", "items": []}', "jsonfeed.org"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "JSON syntax error"),
    ],
)
def test_broken_feeds_raise_feed_error(body: bytes, reason: str) -> None:
    with pytest.raises(FeedError, match="not a feed") as caught:
        parse_feed(body, BASE)
    assert reason in str(caught.value)


def test_a_bare_ampersand_is_mended_not_recovered() -> None:
    body = RSS_20.replace(b"<title>Guid only</title>", b"<title>Guid & only</title>")
    feed = parse_feed(body, BASE)
    assert [entry.title for entry in feed.entries][1] == "Guid & only"
    assert feed.warnings == []
    assert feed.repairs == ["escaped 1 bare '&'"]


def test_slightly_broken_feed_is_recovered() -> None:
    body = RSS_20.replace(b"<title>Guid only</title>", b"<title>Guid only</titel>")
    feed = parse_feed(body, BASE)
    assert len(feed.entries) >= 2
    assert feed.warnings and "line" in feed.warnings[0]


def test_entities_are_not_expanded_and_files_not_read(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY xxe SYSTEM "file://{secret}">
]>
<rss version="2.0"><channel><title>Bomb &lol4;</title>
<item><title>Item &xxe;</title><link>https://example.org/a-b-c</link><description>&lol4;&xxe;</description></item>
</channel></rss>""".encode()
    feed = parse_feed(body, BASE)
    [entry] = feed.entries
    assert "lol" not in (feed.title or "")
    assert entry.title == "Item"
    assert "TOP-SECRET" not in repr(feed)
    assert entry.summary is None


def test_looks_like_feed() -> None:
    assert looks_like_feed(RSS_20, "text/xml")
    assert looks_like_feed(b"anything", "application/atom+xml; charset=utf-8")
    assert looks_like_feed(json.dumps(JSON_FEED).encode(), "application/json")
    assert not looks_like_feed(b"<!doctype html><html><body>hi</body></html>", "text/html")
    assert not looks_like_feed(b'{"hello": 1}', "application/json")


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://example.org/a-first-article</loc><lastmod>2024-05-01</lastmod></url>
  <url>
    <loc>https://example.org/news/big-story</loc>
    <news:news>
      <news:publication><news:name>Example</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2024-05-02T10:00:00+01:00</news:publication_date>
      <news:title>Big story</news:title>
    </news:news>
  </url>
  <url><loc>/relative-page</loc></url>
  <url><lastmod>2024-01-01</lastmod></url>
</urlset>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.org/sitemap-posts.xml</loc><lastmod>2024-05-03T00:00:00Z</lastmod></sitemap>
  <sitemap><loc>https://example.org/sitemap-pages.xml.gz</loc></sitemap>
</sitemapindex>"""


def test_sitemap_urlset_with_news() -> None:
    sitemap = parse_sitemap(URLSET, "https://example.org/sitemap.xml")
    assert sitemap.kind == "urlset"
    first, news, relative = sitemap.entries
    assert first.url == "https://example.org/a-first-article"
    assert first.lastmod == datetime(2024, 5, 1, tzinfo=UTC)
    assert (news.title, news.published) == ("Big story", datetime(2024, 5, 2, 9, 0, tzinfo=UTC))
    assert relative.url == "https://example.org/relative-page"


def test_sitemap_index_and_gzip() -> None:
    sitemap = parse_sitemap(gzip.compress(INDEX), "https://example.org/sitemap_index.xml.gz")
    assert sitemap.kind == "index"
    assert [entry.url for entry in sitemap.entries] == [
        "https://example.org/sitemap-posts.xml",
        "https://example.org/sitemap-pages.xml.gz",
    ]
    assert sitemap.entries[0].lastmod == datetime(2024, 5, 3, tzinfo=UTC)


def test_plain_text_sitemap() -> None:
    sitemap = parse_sitemap(b"https://example.org/one\nhttps://example.org/two\n", "https://example.org/s.txt")
    assert [entry.url for entry in sitemap.entries] == ["https://example.org/one", "https://example.org/two"]


@pytest.mark.parametrize(
    "body", [b"", b"<html><body>nope</body></html>", RSS_20, b"\x1f\x8b\x08garbage", b"just some words"]
)
def test_not_a_sitemap(body: bytes) -> None:
    with pytest.raises(SitemapError, match="not a sitemap"):
        parse_sitemap(body, "https://example.org/sitemap.xml")


def test_sitemap_urls_from_robots_txt() -> None:
    robots = (
        "User-agent: *\nDisallow: /admin/\n"
        "Sitemap: https://example.org/sitemap_index.xml\n"
        "sitemap: /news-sitemap.xml\n"
        "Sitemap: https://example.org/sitemap_index.xml\n"
        "# Sitemap: https://example.org/commented.xml\n"
    )
    assert sitemap_urls_from_robots_txt(robots, "https://example.org/robots.txt") == [
        "https://example.org/sitemap_index.xml",
        "https://example.org/news-sitemap.xml",
    ]


LISTING = """<!doctype html>
<html><head><title>Blog</title><link rel="next" href="/blog/page/2/"></head>
<body>
  <header><a href="/">Home</a><a href="/about-our-charity-and-team">About</a></header>
  <nav class="main-menu"><a href="/blog/">Blog</a><a href="/news/some-nav-article-link">Nav</a></nav>
  <main>
    <article><h2><a href="/blog/2024/05/how-to-recruit-volunteers/">How to recruit volunteers</a></h2>
      <a href="/blog/2024/05/how-to-recruit-volunteers/#comments">3 comments</a>
      <a href="/tag/volunteering-and-recruitment">volunteering</a>
      <a href="/author/grace-hopper-smith">Grace</a></article>
    <article><h2><a href="https://example.org/blog/funding-news-for-small-charities?utm_source=x">Funding</a></h2>
      <a href="https://twitter.com/intent/tweet?url=x">Share</a></article>
    <article><h2><a href="/blog/article-123456">By id</a></h2></article>
    <article><h2><a href="/blog/press/annual-report-summary-2023">Report</a></h2>
      <a href="/files/annual-report-2023-full.pdf">PDF</a>
      <img src="/images/photo-of-the-team.jpg"></article>
    <a href="https://elsewhere.example.com/a-long-external-slug-here">External</a>
    <a href="/login">Log in</a>
    <a href="/blog/">Blog home</a>
    <div class="pagination"><a href="/blog/page/2/">2</a><a href="/blog/page/3/">3</a>
      <a href="/blog/page/2/">Next &raquo;</a></div>
  </main>
  <aside><a href="/blog/popular-post-in-the-sidebar">Popular</a></aside>
  <footer><a href="/privacy-policy-for-the-site">Privacy</a></footer>
</body></html>"""


def test_listing_links() -> None:
    # www.example.org and example.org count as one site.
    links = listing_links(LISTING, "https://www.example.org/blog/", allow=[], deny=[])
    assert links.article_links == [
        "https://www.example.org/blog/2024/05/how-to-recruit-volunteers/",
        "https://example.org/blog/funding-news-for-small-charities",
        "https://www.example.org/blog/article-123456",
        "https://www.example.org/blog/press/annual-report-summary-2023",
    ]
    assert links.next_pages == ["https://www.example.org/blog/page/2/"]


def test_listing_links_allow_deny_and_other_sites() -> None:
    links = listing_links(LISTING, "https://example.org/blog/", allow=[r"/blog/"], deny=[r"/press/"])
    assert links.article_links == [
        "https://example.org/blog/2024/05/how-to-recruit-volunteers/",
        "https://example.org/blog/funding-news-for-small-charities",
        "https://example.org/blog/article-123456",
    ]
    wide = listing_links(LISTING, "https://example.org/blog/", allow=[], deny=[], same_site=False)
    assert "https://elsewhere.example.com/a-long-external-slug-here" in wide.article_links
    assert not any("twitter.com" in url for url in wide.article_links)


def test_listing_pagination_by_text_and_number() -> None:
    html = """<html><body><main>
      <a href="/news/one-long-article-slug">One</a><a href="/news/two-long-article-slug">Two</a>
      <a href="/news?page=1">1</a><a href="/news?page=3">3</a><a href="/news?page=2">2</a>
      <a href="/news/archive-older">Older posts</a>
    </main></body></html>"""
    links = listing_links(html, "https://example.org/news", allow=[], deny=[])
    assert links.article_links == [
        "https://example.org/news/one-long-article-slug",
        "https://example.org/news/two-long-article-slug",
    ]
    assert links.next_pages == ["https://example.org/news/archive-older", "https://example.org/news?page=2"]


def test_listing_links_from_a_str_with_an_xml_declaration() -> None:
    html = '<?xml version="1.0" encoding="utf-8"?>\n<html><body><a href="/x/a-long-article-slug">A</a></body></html>'
    links = listing_links(html, "https://example.org/x/", allow=[], deny=[])
    assert links.article_links == ["https://example.org/x/a-long-article-slug"]
