"""The article's author on hand-written pages: declared names weighed against the printed byline."""

from __future__ import annotations

import json

from signpost.spiders.extract import extract_page

BODY = " ".join(
    [
        "Volunteer managers across the country have spent the past year rethinking how they welcome new people,",
        "and the results of the consortium's survey show that small changes made the biggest difference to them.",
        "The first change was to replace the formal induction evening with a series of short conversations, held",
        "wherever the volunteer already was, which halved the number of people who left within their first month.",
    ]
)


def author_of(head: str = "", byline: str = "", site: str = "Fundraising Network", extra: str = "") -> str | None:
    html = f"""<html><head><title>How induction changed | {site}</title>
<meta property="og:site_name" content="{site}">{head}</head>
<body><nav><ul><li><a href="/who">By Industry</a></li><li><a href="/role">By Role</a></li></ul></nav>
<article><h1>How induction changed</h1>{byline}<p>{BODY}</p><p>{BODY}</p></article>{extra}</body></html>"""
    result = extract_page(html.encode(), "https://fn.example/2026/how-induction-changed")
    return result.author


def json_ld(**article: object) -> str:
    declared = {"@context": "https://schema.org", "@type": "NewsArticle", **article}
    return f'<script type="application/ld+json">{json.dumps(declared)}</script>'


def test_a_single_token_meta_author_does_not_join_the_json_ld_author() -> None:
    head = '<meta name="author" content="FundNet">' + json_ld(author={"@type": "Person", "name": "Richard Garner"})
    assert author_of(head) == "Richard Garner"


def test_a_byline_naming_one_of_several_declared_authors_is_the_author() -> None:
    head = json_ld(
        author=[{"@type": "Person", "name": "Emily Henderson"}, {"@type": "Person", "name": "Arlyn Hernandez"}]
    )
    byline = '<div class="byline">By <a href="/a/arlyn">Arlyn Hernandez</a></div>'
    assert author_of(head, byline) == "Arlyn Hernandez"


def test_several_declared_authors_stand_without_a_byline() -> None:
    head = json_ld(author=[{"@type": "Person", "name": "Jared Newman"}, {"@type": "Person", "name": "Sam Singleton"}])
    assert author_of(head) == "Jared Newman and Sam Singleton"


def test_the_site_declared_as_author_gives_way_to_the_printed_byline() -> None:
    head = json_ld(author={"@type": "Person", "name": "Fundraising Network"})
    byline = '<p class="author-name"><a href="/a/tracy">Tracy Parker</a><span>Fundraising Network</span></p>'
    assert author_of(head, byline) == "Tracy Parker"


def test_the_site_declared_as_author_stands_when_nothing_else_names_anyone() -> None:
    head = json_ld(author={"@type": "Person", "name": "Fundraising Network"})
    assert author_of(head) == "Fundraising Network"


def test_a_byline_date_and_title_in_their_own_markup_are_not_part_of_the_name() -> None:
    byline = '<div class="author"><span>By</span><a>Mateusz Haberny</a><span>Founder</span> December 18, 2025</div>'
    assert author_of(byline=byline) == "Mateusz Haberny"
    glued = '<span class="byline">By Jordana Cepelewicz December 18, 2025</span>'
    assert author_of(byline=glued) == "Jordana Cepelewicz"


def test_byline_furniture_is_not_a_name() -> None:
    byline = (
        '<div class="article-author">Updated November 9, 2022</div>'
        '<div class="byline"><a rel="author" href="/a/april">April Fulton</a></div>'
    )
    assert author_of(byline=byline) == "April Fulton"


def test_a_printed_by_line_without_byline_markup_names_the_author() -> None:
    byline = '<p class="text-sm font-bold"><span>By</span> <a href="/people/amy">Amy Wilhelm</a> \u2022 March 12</p>'
    assert author_of(byline=byline) == "Amy Wilhelm"


def test_menus_forms_and_sentences_opening_with_by_are_not_bylines() -> None:
    extra = (
        "<form><p>By submitting, you agree to our Terms</p></form>"
        "<figure><figcaption>By Public Domain Mark</figcaption></figure>"
    )
    byline = "<p>By Contrast the survey shows something else entirely about the volunteers, as we explain below.</p>"
    assert author_of(byline=byline, extra=extra) is None
