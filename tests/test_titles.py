"""The headline chosen among a page's headings and the titles it declares."""

from __future__ import annotations

from lxml.html import HtmlElement, document_fromstring

from signpost.spiders.extract import extract_page
from signpost.spiders.titles import clean_title, headline, json_ld_blocks, json_ld_headlines

URL = "https://www.harbourgazette.org/stories/a-story"
SITE = ["Harbour Gazette"]


def page(body: str, title: str | None = None, og_title: str | None = None) -> tuple[HtmlElement, list[str]]:
    head = f"<title>{title}</title>" if title else ""
    head += f'<meta property="og:title" content="{og_title}">' if og_title else ""
    tree = document_fromstring(f"<html><head>{head}</head><body>{body}<p>Some text of the story.</p></body></html>")
    return tree, [declared for declared in (og_title, title) if declared]


def chosen(body: str, title: str | None = None, og_title: str | None = None) -> str | None:
    tree, declared = page(body, title, og_title)
    return headline(tree, declared, SITE, URL)


def test_the_heading_in_the_articles_own_header_is_the_headline() -> None:
    body = (
        '<div class="site-wrap content-sidebar-wrap"><div class="entry-header hero-header">'
        "<h1>Ferry timetable changes for the winter season</h1></div></div>"
    )
    title = "New winter ferry times explained | Harbour Gazette"
    assert chosen(body, title, title) == "Ferry timetable changes for the winter season"
    body = "<header><h1>Ferry timetable changes for the winter season</h1></header>"
    assert chosen(body, title) == "Ferry timetable changes for the winter season"


def test_a_heading_in_the_sites_header_or_menu_is_not() -> None:
    body = (
        "<header><nav><a href='/'>Home</a></nav><h1>Sign up for our newsletter today</h1></header>"
        "<aside><h1>Most read this week in the harbour</h1></aside>"
    )
    assert chosen(body, "New winter ferry times explained | Harbour Gazette") == "New winter ferry times explained"


def test_an_article_inside_a_menu_by_broken_markup_keeps_its_heading() -> None:
    body = "<nav><ul><li><main><h1>Ferry timetable changes for the winter season</h1></main></li></ul></nav>"
    assert chosen(body, "Winter ferries | Harbour Gazette") == "Ferry timetable changes for the winter season"


def test_a_headline_that_mentions_the_site_is_not_the_site_name() -> None:
    body = "<h1>Harbour Gazette Awards: the best fish restaurants of the year</h1>"
    title = "Harbour Gazette Awards: the best fish restaurants of the year | Harbour Gazette"
    assert chosen(body, title, "The best fish restaurants of the year") == (
        "Harbour Gazette Awards: the best fish restaurants of the year"
    )


def test_a_headings_short_last_part_is_its_own() -> None:
    body = "<h1>Moving to a plant-based diet \u2013 tips and tricks</h1>"
    title = "Moving to a plant-based diet \u2013 tips and tricks | Harbour Gazette"
    assert chosen(body, title, title) == "Moving to a plant-based diet \u2013 tips and tricks"


def test_a_short_heading_that_the_title_declares_is_the_headline() -> None:
    assert chosen("<h1>Book Reviews</h1>", "Book Reviews \u2013 The Writing Centre") == "Book Reviews"
    assert chosen("<h1>Tides</h1>", "TIDES Definition & Meaning | Harbour Words") == "Tides"
    # a short heading the titles do not declare is a section label, not the headline
    assert chosen("<h1>Local news</h1>", "Ferry fares rise again this spring | Harbour Gazette") == (
        "Ferry fares rise again this spring"
    )


def test_a_headline_repeated_for_mobile_and_desktop_counts_once() -> None:
    body = "<h1>Setting up a boat for winter</h1><h1>SETTING UP A BOAT FOR WINTER</h1>"
    assert chosen(body, "How do you winterise a boat? | Harbour Gazette") == "Setting up a boat for winter"


def test_without_declared_titles_a_score_or_label_heading_is_passed_over() -> None:
    body = "<h1>94</h1><h1>Scalable harbour dredging at last</h1><h1>48</h1>"
    assert chosen(body) == "Scalable harbour dredging at last"


def test_a_domain_named_as_the_site_is_cut() -> None:
    assert clean_title("Game changer | HarbourGazette.com", url="https://www.harbourgazette.com/x") == "Game changer"


def test_the_json_ld_headline_picks_the_headline_among_several_headings() -> None:
    ld = '{"@type": "NewsArticle", "headline": "Harbour 101: dredging the inner basin \\u2013 a guide &amp; history"}'
    body = (
        f'<script type="application/ld+json">{ld}</script><h1>The Blog</h1>'
        "<h1>Harbour 101: dredging the inner basin \u2013 a guide &amp; history</h1>"
    )
    tree, declared = page(body, "Dredging explained | Harbour Gazette")
    assert json_ld_headlines(json_ld_blocks(tree)) == ["Harbour 101: dredging the inner basin \u2013 a guide & history"]
    assert headline(tree, declared + json_ld_headlines(json_ld_blocks(tree)), SITE, URL) == (
        "Harbour 101: dredging the inner basin \u2013 a guide & history"
    )
    text = " ".join(["The inner basin is dredged every winter, and this is how it is done."] * 20)
    html = (
        f"<html><head><title>Dredging explained | Harbour Gazette</title></head><body>{body}<p>{text}</p></body></html>"
    )
    article = extract_page(html.encode(), URL)
    assert article.title == "Harbour 101: dredging the inner basin \u2013 a guide & history"


def test_a_heading_that_copies_the_title_loses_what_follows_its_pipes() -> None:
    body = "<h1>Ferry fares rise again this spring | Opinion | Harbour Gazette</h1>"
    title = "Ferry fares rise again this spring | Opinion | Harbour Gazette"
    assert chosen(body, title, title) == "Ferry fares rise again this spring"


def test_a_section_name_before_the_site_name_is_cut_from_a_title() -> None:
    title = "Ferry fares rise again this spring | Travel Desk | Coastal Press Group"
    assert clean_title(title, url="https://www.coastalpress.co.uk/a") == "Ferry fares rise again this spring"


def test_a_byline_or_date_glued_to_the_heading_is_cut() -> None:
    body = "<h1>Dredging the inner basin at last Posted on July 1, 2024 by harbourmaster</h1>"
    assert chosen(body, "Dredging the inner basin at last | Harbour Gazette") == "Dredging the inner basin at last"
    body = "<h1>Dec 18 2025 Dredging the inner basin at last</h1>"
    assert chosen(body, "Dredging the inner basin at last | Harbour Gazette") == "Dredging the inner basin at last"
    body = "<h1>Blog: Dredging the inner basin at last</h1>"
    assert chosen(body, "Dredging the inner basin at last | Harbour Gazette") == "Dredging the inner basin at last"
    # a year that opens the headline is its own
    body = "<h1>2025 harbour dues and mooring fees compared</h1>"
    assert chosen(body, "Harbour dues and mooring fees compared | Harbour Gazette") == (
        "2025 harbour dues and mooring fees compared"
    )


def test_the_comment_sections_heading_is_not_the_headline() -> None:
    body = (
        "<article><p>The story.</p></article><div id='comments' class='comments-area'>"
        "<h2>15 Replies to \u201cDredging the inner basin at last\u201d</h2></div>"
    )
    assert chosen(body, "Dredging the inner basin at last | Harbour Gazette") == "Dredging the inner basin at last"


def test_a_line_break_in_a_heading_is_a_space() -> None:
    body = "<h1> DREDGING<br>THE INNER<br> <span>BASIN</span> </h1>"
    assert chosen(body, "Dredging the inner basin | Harbour Gazette") == "DREDGING THE INNER BASIN"


def test_a_kicker_on_its_own_line_is_not_part_of_the_headline() -> None:
    body = "<h1><div>Read the harbour report</div><span>Dredging the inner basin</span></h1>"
    assert chosen(body, "Dredging the inner basin | Harbour Gazette") == "Dredging the inner basin"


def test_a_lone_json_ld_headline_comes_before_the_sharing_title() -> None:
    ld = '{"@type": "BlogPosting", "headline": "Six ways the harbour dues are spent"}'
    text = " ".join(["The dues pay for dredging, lights and the harbour master's launch."] * 20)
    html = (
        f'<html><head><meta property="og:title" content="Here is where your harbour dues go.">'
        f'<script type="application/ld+json">{ld}</script></head><body><p>{text}</p></body></html>'
    )
    assert extract_page(html.encode(), URL).title == "Six ways the harbour dues are spent"


def test_the_heading_with_its_label_does_not_stay_in_the_text() -> None:
    text = " ".join(["The inner basin is dredged every winter, and this is how it is done."] * 20)
    html = (
        "<html><head><title>Dredging the inner basin at last | Harbour Gazette</title></head><body><article>"
        f"<h1>Blog: Dredging the inner basin at last</h1><p>{text}</p></article></body></html>"
    )
    article = extract_page(html.encode(), URL)
    assert article.title == "Dredging the inner basin at last"
    assert article.text.startswith("The inner basin is dredged")


def test_what_one_declared_title_adds_to_another_is_the_site_name() -> None:
    body = "<h1>Quayside Notes</h1><h1>Small is the new large</h1><h1>How to get started</h1>"
    tree, declared = page(body, "Quayside Notes: Small boats on a small budget", "Small boats on a small budget")
    assert headline(tree, declared, [], "https://blog.example.net/2025/small-boats.html") == (
        "Small boats on a small budget"
    )


def test_a_heading_that_ends_in_a_colon_leads_into_something_else() -> None:
    body = "<h1>A message from the harbour master:</h1>"
    assert chosen(body, "Dredging the inner basin at last | Harbour Gazette") == "Dredging the inner basin at last"


def test_a_short_name_before_a_pipe_is_cut_from_a_title() -> None:
    assert (
        clean_title("The Quay | Sailing lessons for adults at the harbour")
        == "Sailing lessons for adults at the harbour"
    )


def test_a_double_encoded_headline_is_repaired() -> None:
    garbled = "The harbour master\u2019s winter".encode().decode("latin-1")
    assert chosen(f"<h1>{garbled} report</h1>") == "The harbour master\u2019s winter report"


def test_the_sites_name_heading_opening_the_title_is_cut() -> None:
    body = "<h1>quaysidenotes.net</h1><p>Small boats on a small budget.</p>"
    tree, declared = page(body, "quaysidenotes.net Small boats on a small budget")
    assert headline(tree, declared, [], "https://quaysidenotes.net/small-boats") == "Small boats on a small budget"


def test_a_headline_that_goes_on_with_on_or_by_keeps_its_words() -> None:
    body = "<h1>Notes on the harbour by night</h1>"
    assert chosen(body, "Notes | Harbour Gazette") == "Notes on the harbour by night"


def test_a_heading_in_capitals_gives_way_to_the_declared_title() -> None:
    body = "<h1>SUPPORTING SAFE MOORINGS</h1>"
    title = "Safe Moorings: What Every Boat Owner Should Check | Harbour Gazette"
    assert chosen(body, title, title) == "Safe Moorings: What Every Boat Owner Should Check"
    body = "<h1>SAFE MOORINGS IN 2026: WHAT EVERY OWNER CHECKS</h1>"
    assert chosen(body, "Safe Moorings 2026: What Every Owner Checks | Harbour Gazette") == (
        "Safe Moorings 2026: What Every Owner Checks"
    )
    # the title declaring the capitals word for word agrees with the heading: the heading stays
    assert chosen("<h1>SAFE MOORINGS</h1>", "Safe Moorings | Harbour Gazette") == "SAFE MOORINGS"


def test_a_heading_in_lines_the_titles_do_not_declare_gives_way_to_the_declared_title() -> None:
    body = "<h1>Winter Moorings of 2026 (Harbour)<br>Your Guide to the Best Berths</h1>"
    title = "Winter Moorings of 2026: Berth Prices & Guides | Harbour Gazette"
    assert chosen(body, title, title) == "Winter Moorings of 2026: Berth Prices & Guides"
    # a span a stylesheet sets on its own line, its words glued to the line before in the markup
    body = '<h1>The Best Harbour Walks<span class="block">Top Routes and Cafes near the Quay</span></h1>'
    assert chosen(body, "Best Harbour Walks: Top Routes in 2026 | Harbour Gazette") == (
        "Best Harbour Walks: Top Routes in 2026"
    )
    # words that run on into a span are one line
    body = "<h1>Harbour<span>side</span> walks and the cafes near the quay</h1>"
    assert chosen(body, "Harbourside walks and the cafes near the quay | Harbour Gazette") == (
        "Harbourside walks and the cafes near the quay"
    )


def test_without_an_h1_only_a_subheading_the_titles_declare_stands_for_the_headline() -> None:
    body = "<h2>Top 5 Harbour Walks for Families of 2026</h2><h2>Where to park</h2>"
    assert chosen(body, "Top 5 Harbour Walks in 2026 | Harbour Gazette") == "Top 5 Harbour Walks in 2026"
    body = "<h2>Top 5 harbour walks in 2026</h2><h2>Where to park</h2>"
    assert chosen(body, "Top 5 Harbour Walks in 2026 | Harbour Gazette") == "Top 5 harbour walks in 2026"


def test_a_heading_the_pages_slug_does_not_spell_gives_way_to_the_title_it_does() -> None:
    body = "<h1>But what they love is the sense of calm and the evening light</h1>"
    tree, declared = page(body, "What do sailors love about the harbour? | Harbour Gazette")
    url = "https://www.harbourgazette.org/2025/12/19/what-do-sailors-love-about-the-harbour"
    assert headline(tree, declared, SITE, url) == "What do sailors love about the harbour?"
    # toddlers in the title, toddler in the slug: one word
    tree, declared = page(
        "<h1>Sleep Training on Board</h1>", "How To Get Toddlers To Sleep On A Boat | Harbour Gazette"
    )
    url = "https://www.harbourgazette.org/tips/how-to-get-toddler-to-sleep-on-a-boat"
    assert headline(tree, declared, SITE, url) == "How To Get Toddlers To Sleep On A Boat"
    # a slug that spells the heading, or too few words to spell either, leaves the heading
    body = "<h1>Ferry timetable changes for the winter season</h1>"
    tree, declared = page(body, "New winter ferry times explained | Harbour Gazette")
    for url in (
        "https://www.harbourgazette.org/ferry-timetable-changes-winter",
        "https://www.harbourgazette.org/ferries",
    ):
        assert headline(tree, declared, SITE, url) == "Ferry timetable changes for the winter season"


def test_a_heading_with_characters_lost_to_question_marks_gives_way_to_the_title() -> None:
    body = "<h1>What Are The Basics Of Mooring? A Beginner? Guide</h1>"
    assert chosen(body, "What Are The Basics Of Mooring: A Beginner's Guide | Harbour Gazette") == (
        "What Are The Basics Of Mooring: A Beginner's Guide"
    )
    # a question the title asks too is the heading's own
    body = "<h1>Need a Mooring? Seven Tips for the Winter</h1>"
    assert chosen(body, "Need a Mooring? Seven Tips | Harbour Gazette") == "Need a Mooring? Seven Tips for the Winter"


def test_a_word_of_a_longer_site_name_is_not_the_site_name() -> None:
    tree, declared = page("<h1>mooring</h1>", "MOORING Definition & Meaning | Harbour Words")
    assert headline(tree, declared, ["Definition of mooring"], URL) == "mooring"
    # most of the site's name is its name
    assert clean_title("Ferry fares rise again | Harbour Gazette", ["The Harbour Gazette"]) == "Ferry fares rise again"
