"""`signpost bench pipeline` on a tiny fixture web: every stage measured, the second run nearly free."""

from __future__ import annotations

import pytest

from conftest import shared_data
from signpost.bench.pipeline import format_pipeline_table, run_pipeline_bench

pytestmark = pytest.mark.slow


def test_pipeline_bench_reports_both_runs():
    seen: list[str] = []
    result = run_pipeline_bench(
        [shared_data("bbc")], sites=2, articles_per_site=3, progress=lambda stage, *_: seen.append(stage)
    )
    assert result["articles_stored"] == result["true_articles"] == 6
    first, second = result["first_run"], result["second_run"]
    assert first["stages"]["crawl"]["pages"] == 6 and first["stages"]["extract"]["pages"] == 6
    assert first["stages"]["embed"]["articles"] == first["stages"]["group"]["articles"] == 6
    assert first["stages"]["score"]["articles"] > 0
    assert second["stages"]["crawl"]["pages"] == 0 and second["http_requests"] < first["http_requests"]
    assert second["stages"]["embed"]["articles"] == second["stages"]["group"]["articles"] == 0
    assert {"crawl", "extract", "embed"} <= set(seen)
    assert result["peak_memory_mib"]["this_process"] > 0
    table = format_pipeline_table(result)
    assert "of the first run" in table and "extract" in table
