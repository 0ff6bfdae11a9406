"""The classify flow: embed new articles, group them into copies and stories, score them for each community."""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger, task

from classify.embed_stage import embed_pending
from classify.embedding import Embedder
from classify.group_stage import group_pending
from classify.score_stage import score_community
from config.settings import load_settings
from store.communities import get_community, list_communities
from store.db import open_store


@task(task_run_name="embed new articles", timeout_seconds=3600)
def embed_task() -> dict:
    settings = load_settings()
    engine = open_store(settings.store_url)
    logger = get_run_logger()

    def log_progress(done: int, total: int) -> None:
        logger.info("embedded %d/%d articles", done, total)

    report = embed_pending(engine, settings, progress=log_progress)
    engine.dispose()
    return {"model": report.model, "articles": report.articles, "seconds": round(report.seconds, 2)}


@task(task_run_name="group new articles", timeout_seconds=3600)
def group_task(model: str) -> dict:
    settings = load_settings()
    engine = open_store(settings.store_url)
    report = group_pending(engine, model)
    engine.dispose()
    get_run_logger().info(
        "grouped %d articles: %d copies, %d joined stories, %d new stories",
        report.articles,
        report.duplicates,
        report.stories_joined,
        report.stories_started,
    )
    return {
        "articles": report.articles,
        "duplicates": report.duplicates,
        "stories_joined": report.stories_joined,
        "stories_started": report.stories_started,
        "seconds": round(report.seconds, 2),
    }


@task(task_run_name="score {community}", timeout_seconds=3600)
def score_task(community: str, since: datetime | None = None) -> dict:
    settings = load_settings()
    engine = open_store(settings.store_url)
    report = score_community(engine, get_community(engine, community), Embedder.from_settings(settings), since)
    engine.dispose()
    get_run_logger().info(
        "scored %d articles for %d topics of %s (%d decisions learned from)",
        report.articles,
        report.topics,
        community,
        report.decisions,
    )
    return {
        "articles": report.articles,
        "topics": report.topics,
        "decisions": report.decisions,
        "without_vector": report.without_vector,
        "seconds": round(report.seconds, 2),
    }


@flow(name="classify", log_prints=True)
def classify_flow(community: str | None = None, since: datetime | None = None) -> dict:
    """Embed, group, then score every community (or one); each stage only does what is new."""
    embedded = embed_task()
    grouped = group_task(embedded["model"])
    settings = load_settings()
    engine = open_store(settings.store_url)
    slugs = [community] if community else [found.slug for found in list_communities(engine)]
    engine.dispose()
    scored = {slug: score_task(slug, since) for slug in slugs}
    return {"embed": embedded, "group": grouped, "score": scored}
