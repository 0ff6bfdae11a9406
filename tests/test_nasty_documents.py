"""Every parser over hostile and mangled documents: nothing but the project's own errors may come out."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable

import pytest

from signpost.spiders.dates import parse_date
from signpost.spiders.discovery import feed_links_in_head
from signpost.spiders.feeds import FeedError, parse_feed
from signpost.spiders.listing import listing_links, section_links
from signpost.spiders.opml import OpmlError, read_opml
from signpost.spiders.sitemaps import SitemapError, parse_sitemap, sitemap_urls_from_robots_txt
from signpost.spiders.urls import canonicalize_url, http_url

BASE = "https://news.example.org/feed.xml"

SEEDS = [
    b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T &amp; co</title>
<link>https://news.example.org/</link><item><title>Caf&eacute; &lt;b&gt;x&lt;/b&gt;</title>
<link>https://news.example.org/?id=5&amp;page=2</link><guid>https://news.example.org/g</guid>
<pubDate>Thu, 01 Jan 2004 10:00:00 EST</pubDate><description><![CDATA[<p>Hi</p>]]></description></item>
</channel></rss>""",
    b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example.org/"><title type="xhtml">
<div xmlns="http://www.w3.org/1999/xhtml">X</div></title><entry><id>https://news.example.org/1</id>
<title mode="base64">SGk=</title><link href="a"/><updated>2024-05-01T00:00:00Z</updated>
<content type="html">&lt;p&gt;C&lt;/p&gt;</content></entry></feed>""",
    b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel><title>R</title><link>https://news.example.org/</link></channel>
<item rdf:about="https://news.example.org/r"><title>R1</title></item></rdf:RDF>""",
    json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [{"url": "/j", "title": "J", "date_published": "2003"}],
        }
    ).encode(),
    b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://news.example.org/s?a=1&b=2</loc>
<lastmod>2024-05</lastmod></url></urlset>""",
    b"""<sitemapindex><sitemap><loc>/child.xml</loc></sitemap></sitemapindex>""",
    b"https://news.example.org/one\nhttps://news.example.org/two\n",
    b"""<?xml version="1.0"?><!DOCTYPE opml><opml version="2.0"><head><title>O</title></head><body>
<outline text="F"><outline text="A &amp; B" xmlUrl="https://a.example.org/feed?x=1&y=2" htmlUrl="https://a.example.org"/>
</outline></body></opml>""",
    b"""<html><head><base href="/b/"><link rel="alternate" type="application/rss+xml" href="f.xml"></head>
<body><nav><a href="/news">News</a></nav><main><a href="/2024/05/a-long-story-slug">S</a>
<a href="/page/2" rel="next">Next</a></main></body></html>""",
]

NASTY = [
    b"",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff\x00<",
    b"<?xml",
    b"<?xml version='1.0' encoding='no-such-codec'?><rss><channel><item><link>http://a.b/c</link></item></channel></rss>",
    b"<?xml version='1.0' encoding='utf-16'?><rss/>",
    "<rss><channel><item><title>\u00e9</title><link>http://a.b/c</link></item></channel></rss>".encode("utf-16"),
    b"<" * 10000,
    b"<a>" * 5000 + b"</a>" * 5000,
    b"<rss>" + b"<channel>" * 3000,
    b"[" * 100000,
    b'{"version": "https://jsonfeed.org/version/1", "items": [' + b"{}," * 1000 + b"1e999999, null]}",
    b'{"version": "https://jsonfeed.org/version/1", "items": [{"url": 5, "title": {"a": 1}, "authors": "x"}]}',
    b'{"version": "https://jsonfeed.org/version/1", "items": "nope", "title": ["x"]}',
    b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>
<rss><channel><title>&d;&d;</title><item><link>http://a.b/&d;</link></item></channel></rss>""",
    b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml><body>
<outline text="&x;" xmlUrl="http://a.b/"/></body></opml>""",
    b"""<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd"><rss><channel><item><link>http://a.b/c</link></item>
</channel></rss>""",
    b"<rss><channel><item><link>http://[::1/</link><link>http://a.b:0/</link><pubDate>Thu, 99 Foo 20040</pubDate>"
    b"<title>&#0;&#x110000;&#99999999999;&#xD800;</title></item></channel></rss>",
    b"<feed><entry><link href='http://a.b/' xml:base='http://[/'/><title mode='base64'>!!!%%%</title></entry></feed>",
    b"<urlset><url><loc>http://a.b/" + b"x" * 100000 + b"</loc></url></urlset>",
    gzip.compress(b"<urlset>" + b" " * (60 * 1024 * 1024) + b"</urlset>"),
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage",
    b"<opml><body>" + b"<outline text='x'>" * 2000 + b"</body></opml>",
    b"<html><head><base href='http://[bad/'></head><body><a href='http://a.b:99999/x-y-z'>x</a></body></html>",
    b"<?xml version='1.0' encoding='utf-8'?>\x00\x00\x00",
    b"\x00" * 100,
    # Thousands of unclosed CDATA sections, comments, PIs and DOCTYPEs: the repairs must stay linear.
    b"<rss>&" + b"<![CDATA[" * 20000,
    b"<rss>&" + b"<!--" * 20000 + b"<?" * 20000 + b"<!DOCTYPE [" * 20000,
    b"<rss><channel><item><pubDate>" + b"1 " * 100000 + b"</pubDate></item></channel></rss>",
]

DATES = ["", " ", "Thu,", "32 Jan 2004", "2004-00-00", "Mon, 13 Feb, 2012 25:61:61 GMT", "99999-01-01", "-1",
         "Thu, 01 Jan 2004 10:00:00 +9999", "Thu, 01 Jan 2004 10:00:00 GMT+99:99", "1 Jan 0", "0000", "T", "\x00",
         "2004-02-29T24:00:00Z", "Sat, 31 Dec 9999 23:59:59 -2359", "Jan 1", "12 Smarch 2004"]  # fmt: skip
OWN_ERRORS = (FeedError, SitemapError, OpmlError)
PARSERS: list[tuple[str, Callable[[bytes], object]]] = [
    ("feed", lambda body: parse_feed(body, BASE)),
    ("feed with a charset", lambda body: parse_feed(body, "http://bad[base/", charset="no-such-charset")),
    ("sitemap", lambda body: parse_sitemap(body, BASE)),
    ("opml", lambda body: read_opml(body, "x.opml")),
    ("head links", lambda body: feed_links_in_head(body, BASE)),
    ("listing", lambda body: listing_links(body, BASE, allow=[], deny=[])),
    ("sections", lambda body: section_links(body, BASE)),
    ("robots", lambda body: sitemap_urls_from_robots_txt(body.decode("utf-8", "replace"), BASE)),
]


def run_every_parser(body: bytes) -> None:
    for name, parse in PARSERS:
        try:
            parse(body)
        except OWN_ERRORS:
            pass
        except Exception as error:
            pytest.fail(f"{name} raised {type(error).__name__}: {error} on {body[:200]!r}")


@pytest.mark.parametrize("body", SEEDS + NASTY, ids=range(len(SEEDS + NASTY)))
def test_nasty_documents_raise_only_our_errors(body: bytes) -> None:
    run_every_parser(body)


def mutations(seed: bytes, rng: random.Random, count: int) -> list[bytes]:
    pieces = [b"&", b"<", b">", b"]]>", b"<![CDATA[", b"\x00", b"\xff", b"\xc3", b"&eacute;", b"&#0;", b"</item>",
              b"<item>", b'"', b"'", b"&lol;", b"http://[", b":99999", b"\x1b[31m", b"<!--", b"?>"]  # fmt: skip
    out = []
    for _ in range(count):
        body = bytearray(seed)
        for _ in range(rng.randint(1, 4)):
            where = rng.randrange(len(body) + 1)
            action = rng.randrange(4)
            if action == 0:
                body[where:where] = rng.choice(pieces)
            elif action == 1 and body:
                del body[where : where + rng.randint(1, 20)]
            elif action == 2 and where < len(body):
                body[where] = rng.randrange(256)
            else:
                body = body[:where]
        out.append(bytes(body))
    return out


def test_mutated_documents_raise_only_our_errors() -> None:
    rng = random.Random(20041)
    for seed in SEEDS:
        for body in mutations(seed, rng, 150):
            run_every_parser(body)


def test_dates_and_urls_never_raise() -> None:
    rng = random.Random(7)
    texts = DATES + [
        "".join(rng.choice("0123456789-:+TZ ,JanMonGMTEST") for _ in range(rng.randint(1, 30))) for _ in range(2000)
    ]
    for text in texts:
        parse_date(text)
        canonicalize_url(text)
        http_url(text, "http://[bad/")
        http_url(text, BASE)
