"""Headlines, bylines and publication dates: cleaned and reconciled in the extract stage, shown on the draft."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from test_web_support import sign_in

from signpost.config.settings import Settings
from signpost.spiders.extraction_stage import extract_pending
from signpost.spiders.published import reconcile_dates
from signpost.spiders.titles import clean_author, clean_title
from signpost.store.digests import load_items
from signpost.store.pages import save_pages
from signpost.store.records import FetchedPage
from signpost.store.schema import articles
from signpost.store.sources import save_source

pytest_plugins = ["test_web_support"]

BODY = " ".join(
    f"Sentence {n} of a long article about volunteer induction, written for the network's members." for n in range(40)
)


def page_html(head: str = "", heading: str = "How induction changed", url_title: str = "Latest news") -> bytes:
    body = BODY.replace("induction", heading.lower())
    return (
        f"<html lang='en'><head><title>{url_title} | Fundraising Network</title>"
        f"<meta property='og:site_name' content='Fundraising Network'>"
        f"<meta property='og:image' content='/img/lead.jpg'>{head}</head>"
        f"<body><nav><h1>Fundraising Network</h1></nav><main><article><h1>{heading}</h1>"
        f"<p class='byline'>By Jo Bloggs, Senior Editor</p><p>{body}</p></article></main></body></html>"
    ).encode()


def test_titles_lose_site_names_and_separators() -> None:
    assert clean_title("Latest news | Fundraising Network", ["Fundraising Network"]) == "Latest news"
    assert clean_title("Fundraising Network: Latest news", ["Fundraising Network"]) == "Latest news"
    assert clean_title("How we recruit - Acme Trust", url="https://acmetrust.org/a") == "How we recruit"
    assert clean_title("Covid-19 and volunteering in 2024") == "Covid-19 and volunteering in 2024"
    assert clean_author("By Jo Bloggs, Senior Editor") == "Jo Bloggs"
    assert clean_author("Dylan Bailey, MS, RD") == "Dylan Bailey, MS, RD"
    assert clean_author("Ann Lee; Bo Chan; Fundraising Network", ["Fundraising Network"]) == "Ann Lee and Bo Chan"


def test_dates_reconciled_never_after_first_seen() -> None:
    seen = datetime(2026, 12, 3, 9, tzinfo=UTC)
    page, feed = datetime(2018, 5, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
    relisted = reconcile_dates(page, "meta article:published_time", feed, "feed", seen)
    assert (relisted.published_at, relisted.basis) == (page, "page")  # an old page listed again is not news
    agreed = reconcile_dates(feed.replace(hour=0), "JSON-LD", feed.replace(hour=7), "sitemap", seen)
    assert (agreed.published_at, agreed.basis) == (feed.replace(hour=7), "sitemap")
    future = reconcile_dates(seen + timedelta(days=30), "meta", None, "feed", seen)
    assert future.published_at is None and future.basis == "first seen"
    assert "after the article was first seen" in future.reasons[0]


def test_extract_stage_stores_headline_image_and_date_basis(engine, settings: Settings) -> None:
    source_id = save_source(
        engine, url="https://fn.example/feed", site_url="https://fn.example/", name="FN", kind="feed"
    )
    fetched = datetime(2026, 12, 3, 8, tzinfo=UTC)
    dated = "<meta property='article:published_time' content='2026-12-01T10:00:00+00:00'>"
    save_pages(
        engine,
        [
            FetchedPage(
                url="https://fn.example/2026/12/01/dated",
                source_id=source_id,
                status=200,
                fetched_at=fetched,
                body=page_html(dated, url_title="How induction changed"),
                feed_entry={"url": "https://fn.example/2026/12/01/dated", "published": "2026-12-01T12:00:00+00:00"},
            ),
            FetchedPage(
                url="https://fn.example/undated",
                source_id=source_id,
                status=200,
                fetched_at=fetched,
                body=page_html(heading="Rotas that volunteers keep"),
            ),
        ],
    )
    extract_pending(engine, settings, workers=1)
    with engine.connect() as connection:
        rows = {row.canonical_url: row for row in connection.execute(select(articles))}
    dated_row = rows["https://fn.example/2026/12/01/dated"]
    assert dated_row.title == "How induction changed"
    assert dated_row.author == "Jo Bloggs"
    assert dated_row.image_url == "https://fn.example/img/lead.jpg"
    assert (dated_row.published_at, dated_row.date_basis) == (datetime(2026, 12, 1, 12, tzinfo=UTC), "feed")
    assert any("page agrees" in reason for reason in dated_row.date_reasons)
    undated = rows["https://fn.example/undated"]
    assert undated.title == "Rotas that volunteers keep"  # the page's heading, not "Latest news"
    assert (undated.published_at, undated.date_basis) == (None, "first seen")


def test_the_draft_says_when_a_date_is_unknown_and_why_each_date_was_chosen(client, seeded) -> None:
    item, dated = load_items(seeded.engine, seeded.vol_digest)[:2]
    first_seen = datetime(2026, 12, 3, 9, tzinfo=UTC)
    with seeded.engine.begin() as connection:
        connection.execute(
            update(articles)
            .where(articles.c.id == item.article_id)
            .values(
                published_at=None,
                date_basis="first seen",
                first_seen_at=first_seen,
                image_url="https://i.example/a.jpg",
                date_reasons=["the page's date 2027-01-04 is after the article was first seen"],
            )
        )
        connection.execute(
            update(articles)
            .where(articles.c.id == dated.article_id)
            .values(date_basis="feed", date_reasons=["the page agrees (JSON-LD datePublished)"])
        )
    reloaded = next(i for i in load_items(seeded.engine, seeded.vol_digest) if i.id == item.id)
    assert reloaded.date_unknown and reloaded.image_url == "https://i.example/a.jpg"
    sign_in(seeded_client := client, "sam@example.org")
    page = seeded_client.get(f"/review/digests/{seeded.vol_digest}").text
    assert "date unknown, first seen 3 Dec" in page
    whys = re.findall(r'<li class="date-why">([^<]*)</li>', page)
    assert "No date trusted: the page&#39;s date 2027-01-04 is after the article was first seen." in whys
    assert "Dated by the feed: the page agrees (JSON-LD datePublished)." in whys


def test_a_line_on_most_of_a_sources_articles_is_its_template(engine, settings: Settings) -> None:
    source_id = save_source(engine, url="https://t.example/feed", site_url="https://t.example/", name="T", kind="feed")
    furniture = "Support our work: become a friend of the network for three pounds a month."
    topics = ["rotas", "buddies", "training", "expenses", "recognition"]
    save_pages(
        engine,
        [
            FetchedPage(
                url=f"https://t.example/news/{n}-{what}",
                source_id=source_id,
                status=200,
                fetched_at=datetime(2026, 12, 3, tzinfo=UTC),
                body=page_html(heading=f"Volunteer {what} this winter").replace(
                    b"</article>", f"<p>{furniture}</p></article>".encode()
                ),
            )
            for n, what in enumerate(topics)
        ],
    )
    extract_pending(engine, settings, workers=1)
    with engine.connect() as connection:
        texts = [row.text for row in connection.execute(select(articles).order_by(articles.c.canonical_url))]
    assert len(texts) == len(topics)
    # the first articles teach the template; from the third on, the line is known furniture and left out
    assert [furniture in text for text in texts] == [True, True, False, False, False]
    assert all("Sentence 39" in text for text in texts)


def test_a_copyright_year_or_a_year_in_the_headline_is_no_date() -> None:
    from signpost.spiders.extract import extract_page

    html = page_html(heading="What changed for volunteers in 2024").replace(
        b"</main>", b"</main><footer>Copyright 2024 Fundraising Network</footer>"
    )
    result = extract_page(html, "https://fn.example/what-changed", first_seen=datetime(2026, 12, 3, tzinfo=UTC))
    assert (result.published_at, result.date_basis) == (None, "first seen")
