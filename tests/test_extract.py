"""Article extraction on hand-written pages, and the extraction benchmark's scorer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signpost.bench.extraction import (
    format_extraction_table,
    load_ground_truth,
    run_extraction_bench,
    score_predictions,
    shingle_counts,
    word_f1,
)
from signpost.spiders.extract import EXTRACTOR_VERSION, clean_text, decode_body, extract_page
from signpost.spiders.published import parse_moment
from signpost.store.records import ExtractedArticle, Skipped

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
EXTRACTION_DEV = SHARED_DATA / "extraction-dev"

PARAGRAPHS = [
    "Volunteer managers across the country have spent the past year rethinking how they welcome new people, "
    "and the results of the consortium's survey show that small changes made the biggest difference.",
    "The first change was to replace the formal induction evening with a series of short conversations, held "
    "wherever the volunteer already was, which halved the number of people who left within a month.",
    "The second was to pair every newcomer with a named buddy for their first three shifts, so that questions "
    "had somewhere to go and nobody had to stand at the edge of a room wondering what to do next.",
    "Several charities also reported that sharing their learning openly, through the network's monthly calls, "
    "helped them avoid repeating the mistakes that others had already made and written about.",
]


def article_html(
    paragraphs: list[str] = PARAGRAPHS,
    title: str = "How volunteer induction changed in 2024",
    head_extra: str = "",
    byline: str = "",
) -> str:
    body = "\n".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    nav = "".join(f'<li><a href="/section/{n}">Section {n}</a></li>' for n in range(8))
    return f"""<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{title} | Sector News</title>
<meta property="og:title" content="{title}"><meta property="og:site_name" content="Sector News">
<meta property="og:image" content="/images/lead.jpg">
<link rel="canonical" href="https://www.example.org/news/volunteer-induction?utm_source=feed">{head_extra}</head>
<body><header><nav><ul>{nav}</ul></nav></header>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience. Accept all cookies.</div>
<main><article><h1>{title}</h1>{byline}{body}</article>
<section id="comments" class="comments"><h2>Comments</h2>
<div class="comment"><p>Great post, I completely agree with every word of this, thanks for sharing!</p></div>
</section></main>
<footer><p>Copyright 2024 Sector News. All rights reserved.</p><a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def test_article_text_without_page_furniture() -> None:
    result = extract_page(article_html().encode(), "https://example.org/news/volunteer-induction")
    assert isinstance(result, ExtractedArticle)
    for paragraph in PARAGRAPHS:
        assert paragraph in result.text
    for furniture in ("Section 3", "cookies", "Great post", "Privacy policy", "All rights reserved"):
        assert furniture not in result.text
    assert result.title == "How volunteer induction changed in 2024"
    assert not result.text.startswith(result.title)  # the headline is a field, not part of the body
    assert result.site_name == "Sector News"
    assert result.language == "en"
    assert result.image_url == "https://example.org/images/lead.jpg"
    # same site apart from www, tracking parameter dropped
    assert result.canonical_url == "https://www.example.org/news/volunteer-induction"


def test_canonical_elsewhere_or_home_page_is_ignored() -> None:
    elsewhere = article_html().replace("https://www.example.org/news/", "https://syndicator.example.com/")
    result = extract_page(elsewhere.encode(), "https://example.org/news/volunteer-induction?utm_medium=x#top")
    assert isinstance(result, ExtractedArticle)
    assert result.canonical_url == "https://example.org/news/volunteer-induction"
    home = article_html().replace("https://www.example.org/news/volunteer-induction?utm_source=feed", "/")
    result = extract_page(home.encode(), "https://example.org/news/volunteer-induction")
    assert isinstance(result, ExtractedArticle)
    assert result.canonical_url == "https://example.org/news/volunteer-induction"


def test_windows_1252_bytes_decode() -> None:
    # en dash and curly apostrophe are the bytes 0x96 and 0x92 in windows-1252, undefined in latin-1
    special = "The café raised £2,500 for the appeal \u2013 a record for the town\u2019s volunteers."
    paragraphs = [*PARAGRAPHS, special]
    html = article_html(paragraphs).replace('<meta charset="utf-8">', "")
    body = html.encode("cp1252")
    for encoding in (None, "windows-1252", "iso-8859-1"):
        result = extract_page(body, "https://example.org/a", encoding=encoding)
        assert isinstance(result, ExtractedArticle), encoding
        assert special in result.text
    declared = html.replace("<head>", '<head><meta http-equiv="Content-Type" content="text/html; charset=cp1252">')
    assert "£2,500" in decode_body(declared.encode("cp1252"))
    # a wrong header charset that cannot decode the bytes falls back rather than failing
    assert "£2,500" in decode_body(body, "utf-8")


def test_listing_page_is_skipped() -> None:
    items = "\n".join(
        f'<article class="teaser"><h2><a href="/news/story-{n}">Story number {n} about volunteering</a></h2>'
        f"<p>A short teaser for story {n}, saying what the piece is about in a sentence or two.</p></article>"
        for n in range(12)
    )
    html = f"""<html lang="en"><head><title>Latest news | Sector News</title></head>
<body><main><h1>Latest news</h1>{items}</main></body></html>"""
    result = extract_page(html.encode(), "https://example.org/news/")
    assert result == Skipped("looks like a listing page")


def test_error_page_is_skipped() -> None:
    html = article_html(
        ["Sorry, the page you were looking for could not be found. " * 6, "Try the search box or the home page."],
        title="Page not found",
    )
    assert extract_page(html.encode(), "https://example.org/missing") == Skipped("error page")
    html = html.replace("Page not found", "404")
    assert extract_page(html.encode(), "https://example.org/missing") == Skipped("error page")


def test_short_page_and_non_html_are_skipped() -> None:
    html = article_html(["Just one short paragraph of news that is only a couple of sentences long."])
    result = extract_page(html.encode(), "https://example.org/short")
    assert isinstance(result, Skipped) and result.reason.startswith("too short (")
    assert isinstance(extract_page(html.encode(), "https://example.org/short", min_chars=0), ExtractedArticle)
    assert extract_page(b"%PDF-1.7 binary", "https://example.org/file.pdf") == Skipped("not html")
    assert extract_page(b"", "https://example.org/empty") == Skipped("not html")
    assert extract_page(b"<rss version='2.0'><channel/></rss>", "https://example.org/feed") == Skipped("not html")
    assert isinstance(extract_page(b"<html><body></body></html>", "https://example.org/"), Skipped)


def test_feed_entry_fills_gaps() -> None:
    html = article_html().replace("<title>How volunteer induction changed in 2024 | Sector News</title>", "")
    html = html.replace('<meta property="og:title" content="How volunteer induction changed in 2024">', "")
    html = html.replace("<h1>How volunteer induction changed in 2024</h1>", "")
    entry = {
        "url": "https://example.org/news/volunteer-induction",
        "title": "Induction, rethought",
        "summary": "What a year of small changes taught volunteer managers.",
        "published": "2024-03-05T09:30:00+01:00",
        "author": "Priya Shah",
    }
    result = extract_page(html.encode(), entry["url"], feed_entry=entry)
    assert isinstance(result, ExtractedArticle)
    assert result.title == "Induction, rethought"
    assert result.summary == "What a year of small changes taught volunteer managers."
    assert result.author == "Priya Shah"
    assert result.published_at == datetime(2024, 3, 5, 8, 30, tzinfo=UTC)


def test_page_metadata_wins_over_feed_entry() -> None:
    head = (
        '<meta property="article:published_time" content="2024-02-01T10:00:00Z">'
        '<meta name="author" content="Sam Okafor">'
    )
    entry = {"title": "Feed title", "author": "Someone Else", "published": "2024-03-05T09:30:00Z"}
    result = extract_page(article_html(head_extra=head).encode(), "https://example.org/a", feed_entry=entry)
    assert isinstance(result, ExtractedArticle)
    assert result.title == "How volunteer induction changed in 2024"
    assert result.author == "Sam Okafor"
    # the feed dates it a month later: an old page listed again keeps the page's date, and says why
    assert result.published_at == datetime(2024, 2, 1, 10, tzinfo=UTC)
    assert result.date_basis == "page"
    assert any("feed dates it 2024-03-05" in reason for reason in result.date_reasons)


def test_feed_time_of_day_kept_when_the_page_agrees_on_the_day() -> None:
    head = '<meta property="article:published_time" content="2024-03-05">'
    entry = {"published": "2024-03-05T09:30:00Z"}
    result = extract_page(article_html(head_extra=head).encode(), "https://example.org/a", feed_entry=entry)
    assert isinstance(result, ExtractedArticle)
    assert result.published_at == datetime(2024, 3, 5, 9, 30, tzinfo=UTC)


def test_leading_byline_and_dateline_are_metadata_not_text() -> None:
    body = "Franz Ferdinand's singer has called for more help for musicians."
    text = clean_text(f"By Hannah Young\nPosted: Thursday 5th November 2026\n{body}", None)
    assert text == body
    # A sentence that happens to start with "By" stays.
    sentence = "By 2030, half of charities will run digital services.\nMore follows."
    assert clean_text(sentence, None) == sentence


def test_parse_moment() -> None:
    assert parse_moment("2024-03-05") == datetime(2024, 3, 5, tzinfo=UTC)
    assert parse_moment("2024-03-05T23:30:00-02:00") == datetime(2024, 3, 6, 1, 30, tzinfo=UTC)
    assert parse_moment("2024-03-05T10:00:00Z") == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert parse_moment("last Tuesday") is None
    assert parse_moment(None) is None


def test_extract_page_never_raises_on_garbage() -> None:
    for body in (b"\x00\x01\x02" * 100, b"<<<>>>", "<html>\ud800</html>".encode("utf-8", "surrogatepass"), b"<" * 5000):
        assert isinstance(extract_page(body, "not a url"), Skipped | ExtractedArticle)
    assert EXTRACTOR_VERSION.startswith("trafilatura-")


def test_shingle_scores_on_tiny_texts() -> None:
    # truth "a b c d e": shingles abcd, bcde; prediction "a b c d x": abcd, bcdx -> 1 tp, 1 fp, 1 fn
    assert shingle_counts("a b c d e", "a b c d x") == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    scores = score_predictions({"1": "a b c d e"}, {"1": "a b c d x"})
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.5)
    # prediction holds the truth plus as much again: P 1/2... of 4 shingles 2 are true
    scores = score_predictions({"1": "a b c d e"}, {"1": "a b c d e f g"})
    assert (scores["precision"], scores["recall"]) == pytest.approx((2 / 4, 1.0))
    # shingles are multisets: a repeated passage counts twice
    scores = score_predictions({"1": "one two three four"}, {"1": "one two three four. one two three four"})
    assert scores["recall"] == 1.0 and scores["precision"] < 1.0
    # short texts are one shingle; case matters for shingles, not for word F1
    assert shingle_counts("Hello there", "hello there") == (0.0, 0.5, 0.5)
    assert word_f1("Hello there", "hello there") == 1.0


def test_scorer_edge_cases() -> None:
    # an empty prediction counts for recall (0) but not for precision; empty against empty is perfect
    scores = score_predictions({"1": "a b c d e", "2": "a b c d e"}, {"1": "a b c d e", "2": ""})
    assert scores["precision"] == 1.0 and scores["recall"] == 0.5
    assert scores["f1"] == pytest.approx(2 / 3)
    assert score_predictions({"1": ""}, {"1": ""})["f1"] == 1.0
    assert word_f1("", "") == 1.0 and word_f1("a", "") == 0.0


@pytest.fixture(scope="module")
def dev_set() -> Path:
    if not (EXTRACTION_DEV / "ground-truth.json").exists():
        pytest.skip(f"the extraction dev set is not at {EXTRACTION_DEV} (shared data lies beside the project)")
    return EXTRACTION_DEV


def test_bench_on_a_subset(dev_set: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    out = tmp_path / "predictions.json"
    result = run_extraction_bench(dev_set, out=out, progress=lambda done, total: seen.append((done, total)), limit=25)
    assert result["pages"] == 25 and seen[-1] == (25, 25)
    for name in ("signpost", "trafilatura", "tr. precision", "tr. recall"):
        figures = result[name]
        for key in ("f1", "precision", "recall", "word_f1"):
            assert 0.5 < figures[key] <= 1.0, (name, key)
        assert figures["ms_per_page_median"] > 0
    assert result["time_ratio"] > 0
    assert result["best_mode"] in ("trafilatura", "tr. precision", "tr. recall")
    best_median = result[result["best_mode"]]["ms_per_page_median"]
    assert result["time_ratio_best_mode"] == result["signpost"]["ms_per_page_median"] / best_median
    assert f"{result['time_ratio_best_mode']:.2f}x its median time" in format_extraction_table(result)
    assert "signpost" in format_extraction_table(result) and "best mode here" in format_extraction_table(result)
    predictions = json.loads(out.read_text(encoding="utf-8"))
    assert len(predictions) == 25
    for record in predictions.values():
        assert set(record) == {"articleBody", "title", "author", "date"}
        assert record["date"] is None or len(record["date"]) == 10


def test_truth_scored_against_itself_is_perfect(dev_set: Path) -> None:
    truths = {key: record["articleBody"] for key, record in load_ground_truth(dev_set, limit=25).items()}
    scores = score_predictions(truths, dict(truths))
    assert scores == {"f1": 1.0, "precision": 1.0, "recall": 1.0, "word_f1": 1.0}
