"""OPML import and export: round trip, folders, and errors that point at the file and line."""

from __future__ import annotations

import pytest

from signpost.spiders.opml import OpmlError, OpmlSource, parse_opml, read_opml, write_opml

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Top level feed" type="rss" xmlUrl="https://top.example.org/feed" htmlUrl="https://top.example.org/"/>
    <outline text="Sector">
      <outline title="Charity news" type="rss" xmlUrl="https://news.example.org/rss.xml"/>
      <outline text="Funding">
        <outline text="Grants digest" xmlUrl="https://grants.example.org/atom.xml" htmlUrl="https://grants.example.org"/>
      </outline>
    </outline>
    <outline text="A bare bookmark" type="link" url="https://example.org/"/>
    <outline text="Tagged" xmlUrl="https://tagged.example.org/feed" category="/Learning/Reading,/Other"/>
    <outline text="Not web" xmlUrl="ftp://example.org/feed"/>
  </body>
</opml>
"""


def test_nested_categories() -> None:
    document = read_opml(NESTED, "feeds.opml")
    assert document.title == "My feeds"
    assert document.sources == [
        OpmlSource("https://top.example.org/feed", "https://top.example.org/", "Top level feed", None),
        OpmlSource("https://news.example.org/rss.xml", None, "Charity news", "Sector"),
        OpmlSource(
            "https://grants.example.org/atom.xml", "https://grants.example.org", "Grants digest", "Sector/Funding"
        ),
        OpmlSource("https://tagged.example.org/feed", None, "Tagged", "Learning/Reading"),
    ]
    # The bookmark (no xmlUrl, no children) and the ftp feed are skipped, each with a warning naming its line.
    assert document.warnings == [
        "feeds.opml:12: outline 'A bare bookmark' has no xmlUrl and no child outlines; skipped",
        "feeds.opml:14: outline 'Not web' has xmlUrl 'ftp://example.org/feed', not an http(s) URL",
    ]
    assert parse_opml(NESTED) == document.sources


def test_round_trip() -> None:
    sources = [
        OpmlSource("https://a.example.org/feed", "https://a.example.org/", "A & B's <feed>", "Sector/Funding"),
        OpmlSource("https://b.example.org/rss?x=1&y=2", None, None, None),
        OpmlSource("https://c.example.org/atom.xml", None, "C", "Sector"),
        OpmlSource("https://d.example.org/feed.json", None, "Dé", "Sector/Funding"),
    ]
    written = write_opml(sources, title="Signpost sources")
    assert written.startswith(b"<?xml")
    document = read_opml(written, "export.opml")
    assert document.title == "Signpost sources"
    assert document.warnings == []
    expected = [source if source.title else OpmlSource(source.url, None, source.url, None) for source in sources]
    assert sorted(document.sources, key=lambda s: s.url) == sorted(expected, key=lambda s: s.url)
    assert write_opml(document.sources, "Signpost sources") == write_opml(expected, "Signpost sources")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not xml at all", "feeds.opml:1: syntax error"),
        (b"", "feeds.opml:1: no element found"),
        (b'<?xml version="1.0"?>\n<rss>\n</rss>', "feeds.opml:2: the root element is <rss>, not <opml>"),
        (b"<opml>\n<head><title>t</title></head>\n</opml>", "feeds.opml:1: <opml> has no <body>"),
    ],
)
def test_malformed_opml_names_file_and_line(body: bytes, message: str) -> None:
    with pytest.raises(OpmlError) as caught:
        parse_opml(body, origin="feeds.opml")
    assert str(caught.value).startswith(message)


def test_entity_expansion_is_refused(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<opml version="2.0"><body><outline text="&lol2;" xmlUrl="https://e.org/feed"/></body></opml>"""
    with pytest.raises(OpmlError, match=r"^bomb\.opml:3: refused"):
        parse_opml(bomb, origin="bomb.opml")
    external = f"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file://{secret}">]>
<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://e.org/feed"/></body></opml>""".encode()
    with pytest.raises(OpmlError, match="refused") as caught:
        parse_opml(external, origin="xxe.opml")
    assert "TOP-SECRET" not in str(caught.value)


def test_opml_as_people_export_it() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE opml>
<opml version="1.0">
  <head><title>Caf&eacute; feeds</title></head>
  <body>
    <outline text="Query feed" xmlUrl="https://q.example.org/rss?id=5&page=2"/>
    <outline text="Caf&eacute; &amp; co" xmlUrl="https://cafe.example.org/feed"/>
    <outline text="Again" xmlUrl="https://cafe.example.org/feed"/>
  </body>
</opml>"""
    document = read_opml(body, "export.opml")
    assert document.title == "Café feeds"
    assert [(source.url, source.title) for source in document.sources] == [
        ("https://q.example.org/rss?id=5&page=2", "Query feed"),
        ("https://cafe.example.org/feed", "Café & co"),
    ]
    assert document.warnings[0] == (
        "export.opml:4: undefined entity; read it after mending: escaped 1 bare '&', read 2 HTML entities"
    )
    assert document.warnings[1] == "export.opml:8: outline 'Again' repeats the feed of line 7; skipped"


def test_opml_with_a_mismatched_tag_is_recovered() -> None:
    body = b"""<opml version="2.0"><body>
<outline text="Folder">
  <outline text="One" xmlUrl="https://one.example.org/feed"/>
  <outline text="Two" xmlUrl="https://two.example.org/feed">
</outline>
<outline text="Three" xmlUrl="https://three.example.org/feed"/>
</body></opml>"""
    document = read_opml(body, "broken.opml")
    urls = [source.url for source in document.sources]
    assert urls[:2] == ["https://one.example.org/feed", "https://two.example.org/feed"]
    assert "https://three.example.org/feed" in urls
    assert "mismatched tag; read by a recovering parser" in document.warnings[0]
