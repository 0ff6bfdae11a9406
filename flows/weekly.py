"""The weekly flow of one community: crawl, extract, classify, draft the digest, and tell its curators."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from signpost.config.settings import load_settings
from signpost.digests.drafting import draft_digest
from signpost.digests.notices import tell_admins_of_failing_sources, tell_curators
from signpost.digests.periods import digest_period
from signpost.flows.classification import classify_flow
from signpost.flows.ingest import crawl_flow, extract_flow
from signpost.flows.runtime import named_after
from signpost.store.communities import get_community
from signpost.store.db import connect
from signpost.store.digests import load_items

# Articles dated this long before the period still count: feeds date some items late, and a story that broke
# just before the period should not vanish from it.
SCORING_LEAD = timedelta(days=3)


@task(task_run_name="draft {community}", retries=1, retry_delay_seconds=10)
def draft_task(community: str, period_start: datetime, period_end: datetime) -> dict:
    """Draft (or redraft in place) the community's digest for the period; returns its id and section sizes.

    Sizes count the items in the draft (proposed or approved), not the candidates ranked for it nor the items
    curators rejected; every topic in use is listed, an empty section as 0.
    """
    settings = load_settings()
    with connect(settings) as engine:
        found = get_community(engine, community)
        digest_id = draft_digest(engine, found, period_start, period_end, actor="weekly flow")
        items = load_items(engine, digest_id, ("proposed", "approved"))
    per_topic = {topic.slug: sum(1 for item in items if item.topic_id == topic.id) for topic in found.topics}
    return {"digest_id": digest_id, "items": len(items), "per_topic": per_topic}


@task(task_run_name="tell the curators of {community}")
def notify_task(community: str, digest_id: int, items: int) -> list[str]:
    """Email each curator of the community a link to the draft; a mail failure is logged, not fatal."""
    settings = load_settings()
    with connect(settings) as engine:
        told = tell_curators(engine, settings, get_community(engine, community), digest_id, items)
    return told


@task(task_run_name="tell the admins about failing sources")
def alert_admins_task(community: str) -> list[str]:
    """Email the admins about the community's sources that have just reached the failing threshold."""
    settings = load_settings()
    with connect(settings) as engine:
        told = tell_admins_of_failing_sources(engine, settings, community)
    return told


@flow(name="weekly", flow_run_name=named_after("weekly"), log_prints=True)
def weekly_flow(community: str, now: datetime | None = None) -> dict:
    """One community's week, each stage doing only what is new since the last run."""
    logger = get_run_logger()
    settings = load_settings()
    with connect(settings) as engine:
        found = get_community(engine, community)
    period_start, period_end = digest_period(found.schedule, found.timezone, now)
    logger.info("drafting %s for %s to %s", community, period_start, period_end)

    seconds: dict[str, float] = {}
    started = time.monotonic()

    def lap(stage: str) -> None:
        nonlocal started
        seconds[stage] = round(time.monotonic() - started, 1)
        started = time.monotonic()

    crawled = crawl_flow(community=community)
    crawled["admins_told"] = alert_admins_task(community)
    lap("crawl")
    extracted = extract_flow()
    lap("extract")
    classified = classify_flow(community=community, since=period_start - SCORING_LEAD)
    lap("classify")
    drafted = draft_task(community, period_start, period_end)
    drafted["curators_told"] = notify_task(community, drafted["digest_id"], drafted["items"])
    lap("draft")
    report = {
        "seconds": seconds,
        "community": community,
        "period": [period_start.isoformat(), period_end.isoformat()],
        "crawl": crawled,
        "extract": extracted,
        "classify": classified,
        "draft": drafted,
    }
    create_markdown_artifact(key=f"weekly-{community}", markdown=run_report_markdown(report))
    return report


def run_report_markdown(report: dict) -> str:
    """The run report an admin reads in Prefect's UI: sources, articles, drafted items and time per stage."""
    crawl, extract, classify, draft = report["crawl"], report["extract"], report["classify"], report["draft"]
    seconds = report["seconds"]
    lines = [
        f"# Weekly run of {report['community']}",
        f"Period {report['period'][0]} to {report['period'][1]}.",
        "",
        f"Time per stage: crawl {seconds['crawl']} s, extract {seconds['extract']} s, classify "
        f"{seconds['classify']} s, draft {seconds['draft']} s.",
        "",
        "| stage | result |",
        "| --- | --- |",
        f"| crawl | {crawl['sources']} sources: {crawl['sources_ok']} ok, {crawl['not_modified']} unchanged, "
        f"{crawl['sources_failed']} failing; {crawl['pages_fetched']} pages |",
        f"| extract | {extract['new_articles']} new articles, {extract['duplicates']} duplicates, "
        f"{extract['skipped']} skipped, {extract['failed']} failed ({extract['seconds']} s) |",
        f"| embed | {classify['embed']['articles']} articles ({classify['embed']['seconds']} s) |",
        f"| group | {classify['group']['duplicates']} copies, {classify['group']['stories_started']} new stories "
        f"({classify['group']['seconds']} s) |",
    ]
    for slug, scored in classify["score"].items():
        lines.append(
            f"| score {slug} | {scored['articles']} articles, {scored['decisions']} decisions ({scored['seconds']} s) |"
        )
    lines.append(f"| draft | digest {draft['digest_id']}: {draft['items']} items |")
    lines += ["", "Drafted items per topic: " + (", ".join(f"{t} {n}" for t, n in draft["per_topic"].items()) or "-")]
    if crawl["failures"]:
        lines += ["", "## Failing sources", *[f"- {source}: {error}" for source, error in crawl["failures"].items()]]
    return "\n".join(lines)
