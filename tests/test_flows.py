"""The crawl and extract flows, run by Prefect (a local test server), do what the functions they wrap do."""

from __future__ import annotations

import pytest
from prefect.testing.utilities import prefect_test_harness

from conftest import shared_data
from signpost.fixtureweb import FixtureServer, build_fixture_web
from signpost.flows.classification import classify_flow
from signpost.flows.ingest import crawl_flow, extract_flow
from signpost.spiders.registry import add_source_from_url
from signpost.store.articles import count_articles
from signpost.store.communities import save_community
from signpost.store.sources import list_sources

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_crawl_and_extract_flows(prefect_server, engine, settings, monkeypatch):
    web = build_fixture_web([shared_data("sector-seeds")], sites=3, articles_per_site=5, faults=False)
    for name, value in {
        "DATABASE_URL": settings.store_url,
        "ALLOW_PRIVATE_ADDRESSES": "true",
        "AUTOTHROTTLE": "false",
        "DOWNLOAD_TIMEOUT": "5",
    }.items():
        monkeypatch.setenv(f"SIGNPOST_{name}", value)
    with FixtureServer(web, port=0):
        for site in web.sites:
            add_source_from_url(engine, settings, site.base_url, name=site.name)
        crawled = crawl_flow(all_sources=True)
        assert crawled["sources"] == 3
        assert crawled["sources_failed"] == 0
        assert crawled["pages_fetched"] == len(web.truth)
        extracted = extract_flow()
    assert extracted["new_articles"] == len(web.truth) == count_articles(engine)
    assert all(source.health.last_success_at for source in list_sources(engine))
    # Nothing is due again until the next check, so a scheduled run right after does nothing.
    assert crawl_flow()["sources"] == 0

    save_community(
        engine,
        slug="learning",
        name="Social learning",
        topic_list=[
            {"slug": "social", "name": "Social learning", "description": "Learning from peers and social media."},
            {"slug": "funding", "name": "Funding", "description": "Grants, donations and fundraising."},
        ],
    )
    classified = classify_flow()
    assert classified["embed"]["articles"] == len(web.truth)
    assert classified["group"]["articles"] == len(web.truth)
    scored = classified["score"]["learning"]
    # Syndicated copies are scored through their originals.
    assert scored["topics"] == 2 and len(web.truth) - classified["group"]["duplicates"] == scored["articles"]
    again = classify_flow()
    assert again["embed"]["articles"] == 0 and again["group"]["articles"] == 0
