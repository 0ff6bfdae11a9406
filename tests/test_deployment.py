"""A weekly run started through Prefect (a deployment, picked up by a runner in its own process) drafts exactly
what a direct run of the flow drafts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.runner import Runner
from prefect.testing.utilities import prefect_test_harness
from sqlalchemy import select

from conftest import news_desk_store, shared_data
from signpost.config.settings import Settings
from signpost.fixtureweb import REFERENCE_NOW, FixtureServer, build_fixture_web
from signpost.flows.deployments import ENTRYPOINT
from signpost.flows.weekly import weekly_flow
from signpost.store.db import open_migrated_store
from signpost.store.schema import articles, digest_items, topics

pytestmark = pytest.mark.slow
NOW = REFERENCE_NOW + timedelta(minutes=5)


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def drafted(url: str) -> list[tuple[str, str, int, str]]:
    engine = open_migrated_store(url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(topics.c.slug, articles.c.canonical_url, digest_items.c.position, digest_items.c.blurb)
            .join(topics, topics.c.id == digest_items.c.topic_id)
            .join(articles, articles.c.id == digest_items.c.article_id)
            .order_by(topics.c.slug, digest_items.c.position)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


async def run_through_prefect(runner: Runner) -> str:
    """Ask Prefect for a run of the deployment, as its schedule would, and let the runner pick it up once."""
    flow_run = await run_deployment("weekly/weekly-desk", timeout=0, as_subflow=False)
    await runner.start(run_once=True)
    async with get_client() as client:
        return (await client.read_flow_run(flow_run.id)).state.type.value


def test_deployment_run_drafts_what_a_direct_run_drafts(prefect_server, tmp_path, monkeypatch):
    # Two SQLite stores are enough here: both databases run the flows themselves in test_weekly.py.
    direct, scheduled = f"sqlite:///{tmp_path / 'direct.db'}", f"sqlite:///{tmp_path / 'scheduled.db'}"
    settings = Settings(var_dir=tmp_path / "var", allow_private_addresses=True, download_timeout=5)
    for name, value in {"ALLOW_PRIVATE_ADDRESSES": "true", "AUTOTHROTTLE": "false", "DOWNLOAD_TIMEOUT": "5"}.items():
        monkeypatch.setenv(f"SIGNPOST_{name}", value)
    web = build_fixture_web([shared_data("bbc")], sites=3, articles_per_site=10, faults=False)
    with FixtureServer(web, port=0):
        news_desk_store(direct, settings, web)
        news_desk_store(scheduled, settings, web)
        monkeypatch.setenv("SIGNPOST_DATABASE_URL", direct)
        weekly_flow("desk", now=NOW)
        monkeypatch.setenv("SIGNPOST_DATABASE_URL", scheduled)
        runner = Runner(name="signpost-test", query_seconds=1)
        runner.add_deployment(
            weekly_flow.to_deployment(
                name="weekly-desk", parameters={"community": "desk", "now": NOW}, entrypoint_type=ENTRYPOINT
            )
        )
        assert asyncio.run(run_through_prefect(runner)) == "COMPLETED"
    expected = drafted(direct)
    assert expected, "the direct run drafted nothing"
    assert drafted(scheduled) == expected
