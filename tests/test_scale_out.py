"""Signpost on many machines, played on one: PostgreSQL as the store, a Prefect server backed by PostgreSQL, two
workers in one work pool, and extraction and embedding fanned out over a local Dask cluster give exactly the
articles, vectors, groups, scores and draft of a single-process run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.sorting import TaskRunSort
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import aliased

from conftest import POSTGRES_URL, news_desk_store, postgres_problem, shared_data
from signpost.cli.running import start_prefect_server
from signpost.config.settings import Settings
from signpost.digests.mail_sink import free_port
from signpost.fixtureweb import REFERENCE_NOW, FixtureServer, build_fixture_web
from signpost.flows.runtime import STORE_WIDE
from signpost.flows.weekly import weekly_flow
from signpost.store.db import open_migrated_store
from signpost.store.schema import (
    article_groups,
    article_vectors,
    articles,
    digest_items,
    pages,
    topic_scores,
    topics,
)

pytestmark = pytest.mark.slow
NOW = REFERENCE_NOW + timedelta(minutes=5)
POOL = "signpost-scale-out"
# Small chunks, so that a small web still makes many tasks for the Dask workers to share.
CHUNK = 8


@pytest.fixture(scope="module")
def postgres():
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    return POSTGRES_URL


@pytest.fixture(scope="module")
def prefect_on_postgres(postgres, tmp_path_factory):
    """A Prefect server in its own process, keeping its state in a PostgreSQL database of its own."""
    database = f"prefect_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'create database "{database}"'))
    server_url = create_engine(postgres).url.set(drivername="postgresql+asyncpg", database=database)
    port = free_port()
    saved = {name: os.environ.get(name) for name in ("PREFECT_HOME", "PREFECT_API_DATABASE_CONNECTION_URL")}
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = server_url.render_as_string(hide_password=False)
    server = start_prefect_server(port)
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        # Prefect's log and event workers are per process and outlive this server: drained now, while it still
        # answers, they will not hang a later test that drains them against a server that is gone.
        APILogWorker.drain_all(timeout=30)
        EventsWorker.drain_all(timeout=30)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        with admin.connect() as connection:
            connection.execute(text(f'drop database "{database}" with (force)'))
        admin.dispose()


@pytest.fixture
def store_schemas(postgres):
    """Two empty stores in PostgreSQL: one for the single-process run, one for the scaled-out run."""
    names = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = create_engine(postgres)
    with admin.begin() as connection:
        for name in names:
            connection.execute(text(f'create schema "{name}"'))
    yield [f"{postgres}?options=-csearch_path%3D{name}" for name in names]
    with admin.begin() as connection:
        for name in names:
            connection.execute(text(f'drop schema "{name}" cascade'))
    admin.dispose()


def snapshot(url: str) -> dict:
    """Everything a run decides, keyed by URL rather than by id: articles, vectors, groups, scores, the draft."""
    engine = open_migrated_store(url)
    original = aliased(articles)
    with engine.connect() as connection:
        found = {
            "articles": connection.execute(
                select(articles.c.id, articles.c.canonical_url, articles.c.title, articles.c.fingerprint).order_by(
                    articles.c.canonical_url
                )
            ).all(),
            "pages": connection.execute(
                select(pages.c.url, pages.c.extract_state, pages.c.extract_reason, articles.c.canonical_url)
                .outerjoin(articles, articles.c.id == pages.c.article_id)
                .order_by(pages.c.url)
            ).all(),
            "vectors": {
                row.canonical_url: np.frombuffer(row.vector, dtype=np.float32)
                for row in connection.execute(
                    select(articles.c.canonical_url, article_vectors.c.vector).join(
                        articles, articles.c.id == article_vectors.c.article_id
                    )
                )
            },
            "groups": connection.execute(
                select(articles.c.canonical_url, article_groups.c.story_id, original.c.canonical_url)
                .join(articles, articles.c.id == article_groups.c.article_id)
                .outerjoin(original, original.c.id == article_groups.c.duplicate_of)
                .order_by(articles.c.canonical_url)
            ).all(),
            "scores": connection.execute(
                select(articles.c.canonical_url, topics.c.slug, topic_scores.c.score, topic_scores.c.reasons)
                .join(articles, articles.c.id == topic_scores.c.article_id)
                .join(topics, topics.c.id == topic_scores.c.topic_id)
                .order_by(articles.c.canonical_url, topics.c.slug)
            ).all(),
            "draft": connection.execute(
                select(topics.c.slug, digest_items.c.position, articles.c.canonical_url, digest_items.c.blurb)
                .join(topics, topics.c.id == digest_items.c.topic_id)
                .join(articles, articles.c.id == digest_items.c.article_id)
                .order_by(topics.c.slug, digest_items.c.position)
            ).all(),
        }
    engine.dispose()
    return found


def start_worker(name: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--name", name, "--limit", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def deploy_to_the_pool(env: dict) -> str:
    """`signpost deploy`, as an admin would run it once the store and the Prefect server are set up."""
    command = [str(Path(sys.executable).parent / "signpost"), "deploy", "--pool", POOL]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def run_on_the_pool() -> dict:
    """Ask for a run of the deployed weekly flow, as its schedule would, and wait for a worker to finish it."""
    async with get_client() as client:
        deployment = await client.read_deployment_by_name("weekly/weekly-desk")
        assert deployment.work_pool_name == POOL
        assert (await client.read_concurrency_limit_by_tag(STORE_WIDE)).concurrency_limit == 1
    async with get_client() as client:
        flow_run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"community": "desk", "now": NOW.isoformat()}
        )
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            flow_run = await client.read_flow_run(flow_run.id)
            if flow_run.state.is_final():
                break
            await asyncio.sleep(2)
        task_runs = await client.read_task_runs(sort=TaskRunSort.EXPECTED_START_TIME_DESC, limit=200)
    return {
        "state": flow_run.state.type.value,
        "message": flow_run.state.message,
        "work_pool": flow_run.work_pool_name,
        "task_names": [task_run.name for task_run in task_runs],
    }


def test_scaled_out_run_matches_a_single_process_run(prefect_on_postgres, store_schemas, tmp_path, monkeypatch):
    single, scaled = store_schemas
    for name, value in {
        "ALLOW_PRIVATE_ADDRESSES": "true",
        "AUTOTHROTTLE": "false",
        "DOWNLOAD_TIMEOUT": "5",
        "VAR_DIR": str(tmp_path / "var"),
    }.items():
        monkeypatch.setenv(f"SIGNPOST_{name}", value)
    # The workers' flow runs are told the server by their environment; this process by its settings.
    monkeypatch.setenv("PREFECT_API_URL", prefect_on_postgres)
    monkeypatch.delenv("SIGNPOST_DASK_ADDRESS", raising=False)
    web = build_fixture_web([shared_data("bbc")], sites=4, articles_per_site=10, faults=False)
    workers = []
    with FixtureServer(web, port=0):
        settings = Settings(var_dir=tmp_path / "var", allow_private_addresses=True)
        news_desk_store(single, settings, web)
        news_desk_store(scaled, settings, web)

        monkeypatch.setenv("SIGNPOST_DATABASE_URL", single)
        with temporary_settings(updates={PREFECT_API_URL: prefect_on_postgres}):
            weekly_flow("desk", now=NOW)

        worker_env = {
            **os.environ,
            "SIGNPOST_DATABASE_URL": scaled,
            "SIGNPOST_DASK_ADDRESS": "local",
            "SIGNPOST_DASK_WORKERS": "2",
            "SIGNPOST_DASK_CHUNK_SIZE": str(CHUNK),
        }
        try:
            deployed = deploy_to_the_pool(worker_env)
            assert "weekly/weekly-desk -> work pool" in deployed and "publish-due/publish-due" in deployed
            workers = [start_worker(f"worker-{index}", worker_env) for index in (1, 2)]
            with temporary_settings(updates={PREFECT_API_URL: prefect_on_postgres}):
                outcome = asyncio.run(run_on_the_pool())
        finally:
            for worker in workers:
                os.killpg(worker.pid, signal.SIGTERM)
            for worker in workers:
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
    assert outcome["state"] == "COMPLETED", outcome["message"]
    assert outcome["work_pool"] == POOL
    extract_chunks = [name for name in outcome["task_names"] if name.startswith("extract chunk")]
    embed_chunks = [name for name in outcome["task_names"] if name.startswith("embed chunk")]
    assert len(extract_chunks) > 2 and len(embed_chunks) > 2, outcome["task_names"]

    expected, found = snapshot(single), snapshot(scaled)
    assert len(expected["articles"]) > 30
    assert expected["draft"], "the single-process run drafted nothing"
    for part in ("articles", "pages", "groups", "scores", "draft"):
        assert found[part] == expected[part], part
    assert expected["vectors"].keys() == found["vectors"].keys()
    for url, vector in expected["vectors"].items():
        assert np.array_equal(found["vectors"][url], vector), url
