"""Publication dates from what a page prints by its headline, weighed against what it declares."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from signpost.config.settings import Settings
from signpost.spiders.extract import extract_page
from signpost.spiders.extraction_stage import extract_pending
from signpost.spiders.shown_dates import shown_readings
from signpost.store.pages import save_pages
from signpost.store.records import ExtractedArticle, FetchedPage
from signpost.store.schema import articles
from signpost.store.sources import save_source

pytest_plugins = ["test_web_support"]

SEEN = datetime(2026, 12, 3, 9, tzinfo=UTC)
BODY = " ".join(f"Paragraph {n} about how small charities train their volunteer coordinators." for n in range(40))


def page(byline: str = "", head: str = "", above: str = "", lang: str = "en", after_body: str = "") -> bytes:
    return (
        f"<html lang='{lang}'><head><title>Training coordinators well | Volunteer Hub</title>{head}</head>"
        f"<body><main><article>{above}<h1>Training coordinators well</h1>{byline}<p>{BODY}</p>{after_body}"
        "</article></main><footer><p>Copyright 2019 Volunteer Hub</p></footer></body></html>"
    ).encode()


def date_of(html: bytes, url: str = "https://hub.example/training-coordinators") -> tuple[datetime | None, str]:
    result = extract_page(html, url, first_seen=SEEN)
    assert isinstance(result, ExtractedArticle)
    return result.published_at, " ".join(result.date_reasons)


def parse_shown(text: str, day_first: bool = False) -> datetime | None:
    """The likelier reading of the first date in a text, as the extraction takes it."""
    readings = shown_readings(text, day_first)
    return readings[0] if readings else None


def test_printed_dates_read_in_the_forms_sites_use() -> None:
    day = datetime(2025, 8, 19, tzinfo=UTC)
    for text in (
        "August 19, 2025",
        "Aug. 19 2025",
        "19 August 2025",
        "19th of Aug, 2025",
        "2025-08-19",
        "Tue 19.08.2025",
    ):
        assert parse_shown(text) == day, text
    assert parse_shown("03/01/2017") == datetime(2017, 3, 1, tzinfo=UTC)  # a US page's month first
    assert parse_shown("03/01/2017", day_first=True) == datetime(2017, 1, 3, tzinfo=UTC)
    assert parse_shown("25/12/2024") == datetime(2024, 12, 25, tzinfo=UTC)  # no month 25: day first whatever the page
    assert parse_shown("Since 2019, in 40 countries") is None and parse_shown("February 30, 2025") is None


def test_the_date_printed_by_the_headline_dates_a_page_that_declares_none() -> None:
    moment, reasons = date_of(page("<p class='byline'>By Ann Lee · 4 March 2025</p>"))
    assert moment == datetime(2025, 3, 4, tzinfo=UTC)
    assert "printed by the headline ('By Ann Lee · 4 March 2025')" in reasons


def test_a_printed_date_corrects_a_declared_date_that_is_another_page_s() -> None:
    # the JSON-LD belongs to the page template (a WebPage dated when the site was built); the byline is the article's
    head = '<script type="application/ld+json">{"@type": "WebPage", "datePublished": "2021-06-01"}</script>'
    moment, _ = date_of(page("<div class='post-meta'><span>Published</span> <span>Oct 14, 2025</span></div>", head))
    assert moment == datetime(2025, 10, 14, tzinfo=UTC)


def test_the_update_printed_by_the_headline_is_not_the_publication() -> None:
    declared = (
        '<meta property="article:published_time" content="2022-05-10T08:00:00+00:00">'
        '<meta property="article:modified_time" content="2026-01-01T08:00:00+00:00">'
    )
    # printed without a label, but it is the declared modified date: the page was updated, not published, then
    moment, reasons = date_of(page("<p class='meta'>January 1, 2026</p>", declared))
    assert moment == datetime(2022, 5, 10, 8, tzinfo=UTC)
    assert "is the page's update" in reasons
    # labelled as an update, it gives way to the declared publication date as well
    moment, _ = date_of(page("<p>Last updated: Dec 17, 2025</p>", declared))
    assert moment == datetime(2022, 5, 10, 8, tzinfo=UTC)


def test_an_update_alone_dates_a_page_that_states_nothing_else() -> None:
    moment, reasons = date_of(page("<p>Updated on Jul 4, 2024</p>"))
    assert moment == datetime(2024, 7, 4, tzinfo=UTC)
    assert "an update" in reasons


def test_the_declared_time_and_zone_win_a_day_s_difference() -> None:
    head = '<meta property="article:published_time" content="2025-07-05T00:30:00+01:00">'
    moment, reasons = date_of(page("<p class='byline'>July 4, 2025</p>", head))
    assert moment == datetime(2025, 7, 5, 0, 30, tzinfo=UTC).replace(tzinfo=moment.tzinfo)
    assert moment.date().isoformat() == "2025-07-05" and "confirmed by meta article:published_time" in reasons


def test_dates_of_other_stories_around_the_headline_are_not_the_article_s() -> None:
    ticker = "<ul class='ticker'><li>[ November 26, 2025 ]</li><li>[ November 28, 2025 ]</li></ul>"
    head = '<meta property="article:published_time" content="2024-06-03T10:00:00+00:00">'
    # a ticker above the headline and a related item far below it: the declared date stands
    related = "<div class='related-posts'><p>Earlier: April 2, 2023</p></div>"
    moment, _ = date_of(page("<p>June 3, 2024</p>", head, above=ticker, after_body=related))
    assert moment == datetime(2024, 6, 3, 10, tzinfo=UTC)
    # a date far down the page is no date when the page declares another
    far = "".join(f"<p>Step {n}: ask a volunteer.</p>" for n in range(20)) + "<p>October 16, 2024</p>"
    moment, _ = date_of(page(head=head, after_body=far))
    assert moment == datetime(2024, 6, 3, 10, tzinfo=UTC)


def test_a_british_page_writes_the_day_first() -> None:
    moment, _ = date_of(page("<p class='byline'>Posted 03/01/2025</p>", lang="en-GB"))
    assert moment == datetime(2025, 1, 3, tzinfo=UTC)
    moment, _ = date_of(page("<p class='byline'>Posted 03/01/2025</p>", lang="en-US"))
    assert moment == datetime(2025, 3, 1, tzinfo=UTC)
    # a page that says only lang="en" may say its country in og:locale, as WordPress sites do
    locale = '<meta property="og:locale" content="en_GB">'
    moment, _ = date_of(page("<p class='byline'>Posted 03/01/2025</p>", head=locale, lang="en"))
    assert moment == datetime(2025, 1, 3, tzinfo=UTC)


def test_a_page_with_only_a_copyright_year_has_no_date() -> None:
    moment, _ = date_of(page())
    assert moment is None


def test_the_extract_stage_files_an_article_under_its_printed_date(engine, settings: Settings) -> None:
    source_id = save_source(
        engine, url="https://hub.example/feed", site_url="https://hub.example/", name="H", kind="feed"
    )
    url = "https://hub.example/training-coordinators"
    body = page("<p class='byline'>By Ann Lee | Published 28 November 2026</p>")
    save_pages(engine, [FetchedPage(url=url, source_id=source_id, status=200, fetched_at=SEEN, body=body)])
    extract_pending(engine, settings, workers=1)
    with engine.connect() as connection:
        row = connection.execute(select(articles).where(articles.c.canonical_url == url)).one()
    assert (row.published_at.replace(tzinfo=UTC), row.date_basis) == (datetime(2026, 11, 28, tzinfo=UTC), "page")
    assert any("printed by the headline" in reason for reason in row.date_reasons)


def test_json_ld_listing_other_stories_dates_the_page_by_its_own_object() -> None:
    url = "https://hub.example/training-coordinators"
    teasers = ",".join(
        f'{{"@type": "NewsArticle", "url": "https://hub.example/story-{n}", "datePublished": "2025-11-{n:02d}"}}'
        for n in range(1, 8)
    )
    own = f'{{"@type": "NewsArticle", "url": "{url}", "datePublished": "2025-12-19T10:00:00Z",'
    own += ' "dateModified": "2025-12-19T12:00:00Z"}'
    head = f'<script type="application/ld+json">{{"@graph": [{teasers}, {own}]}}</script>'
    moment, reasons = date_of(page(head=head), url)
    assert moment == datetime(2025, 12, 19, 10, tzinfo=UTC) and "NewsArticle datePublished" in reasons


def test_a_date_only_a_meta_tag_declares_dates_the_page() -> None:
    moment, reasons = date_of(page(head='<meta name="published" content="July 17, 2025">'))
    assert moment == datetime(2025, 7, 17, tzinfo=UTC) and reasons == "from meta published"


def test_a_date_the_article_talks_about_is_not_its_date() -> None:
    prose = (
        "<p>The trustees meet on <strong>12 March 2026</strong> to agree the new induction plan, which every"
        " volunteer coordinator in the network helped to write over the course of the last year.</p>"
    )
    moment, _ = date_of(page(byline=prose))
    assert moment is None
    # a dateline written straight into the article's block, beside its paragraphs, still counts
    dateline = page().replace(b"<h1>Training coordinators well</h1>", b"<h1>Training coordinators well</h1>20 May 2025")
    moment, _ = date_of(dateline)
    assert moment == datetime(2025, 5, 20, tzinfo=UTC)


def test_digits_either_way_round_are_read_as_the_weekday_or_the_feed_says() -> None:
    # 03/11/2026 on a page that says only lang="en": a Tuesday is 3 November, not 11 March
    moment, _ = date_of(page("<div class='node__meta'>Submitted on Tue, 03/11/2026 - 05:59</div>"))
    assert moment == datetime(2026, 11, 3, tzinfo=UTC)
    # without a weekday, the feed that listed the page settles it, and the feed's time of day is kept
    html = page("<p class='byline'>Posted 03/11/2026</p>")
    entry = {"published": "2026-11-03T05:59:00+00:00"}
    result = extract_page(html, "https://hub.example/training-coordinators", feed_entry=entry, first_seen=SEEN)
    assert result.published_at == datetime(2026, 11, 3, 5, 59, tzinfo=UTC) and result.date_basis == "feed"
    # and with nothing to settle it, the page's country's way: month first for a US page
    moment, _ = date_of(page("<p class='byline'>Posted 03/11/2026</p>", lang="en-US"))
    assert moment == datetime(2026, 3, 11, tzinfo=UTC)


def test_without_an_h1_the_date_by_the_h2_that_words_the_headline_dates_the_page() -> None:
    html = (
        "<html><head><title>Training Volunteer Coordinators in 2025 | Volunteer Hub</title></head><body><main>"
        "<h2>Training Your Volunteer Coordinators Well in 2025</h2><p class='byline'>By Ann Lee · 4 March 2025</p>"
        f"<p>{BODY}</p><h2>Where to start</h2></main></body></html>"
    ).encode()
    result = extract_page(html, "https://hub.example/training-coordinators", first_seen=SEEN)
    assert isinstance(result, ExtractedArticle)
    assert result.title == "Training Volunteer Coordinators in 2025"
    assert result.published_at == datetime(2025, 3, 4, tzinfo=UTC)
    assert "printed by the headline ('By Ann Lee · 4 March 2025')" in " ".join(result.date_reasons)
