"""``signpost bench feeds``: real-size feeds from the fixture web, parsed by the pipeline's parser beside feedparser."""

from __future__ import annotations

from signpost.bench.feeds import format_feeds_table, make_bench_feeds, run_feeds_bench


def test_bench_feeds_on_generated_feeds(tmp_path) -> None:
    written = make_bench_feeds(tmp_path / "feeds", sites=4, articles_per_site=5)
    assert len(written) == 8  # sites 0-3 all carry a feed: each kind's, and a full-content RSS beside it
    (tmp_path / "feeds" / "not-a-feed.html").write_bytes(b"<html><body>hello</body></html>")
    result = run_feeds_bench(tmp_path / "feeds", repeat=1)
    assert (result["documents"], result["signpost_refused"], result["crashes"]) == (9, 1, [])
    assert result["signpost_entries"] == 8 * 5
    assert result["feedparser"] and result["speedup"] > 0
    assert result["link_agreement"] == 1.0 and result["count_agreement"] == 1.0
    table = format_feeds_table(result)
    assert "speed ratio (feedparser time / signpost time)" in table and "crashes: 0" in table
