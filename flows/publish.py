"""The publish flows: an approved digest to its members' inboxes and its community's webhooks, when it is due."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task

from signpost.config.settings import load_settings
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.webhooks import post_digest
from signpost.spiders.fetch import FetchRules, json_poster
from signpost.store.db import connect
from signpost.store.digests import digests_to_publish
from signpost.store.outbox import delivery_summary


@task(task_run_name="queue digest {digest_id}", retries=2, retry_delay_seconds=10)
def queue_task(digest_id: int) -> int:
    """One outbox row per member who follows a topic with items; rows already there are kept."""
    settings = load_settings()
    with connect(settings) as engine:
        rows = queue_digest(engine, settings, digest_id)
    return rows


# Retried only when the sender itself crashed; SMTP trouble is not an error of the run: rows it left waiting are
# tried again by a later publish-due run once their wait is over, never sent twice.
@task(task_run_name="email digest {digest_id}", retries=2, retry_delay_seconds=[30, 120], timeout_seconds=7200)
def send_task(digest_id: int) -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        logger = get_run_logger()
        logged = {"at": 0}

        def log_progress(done: int, total: int) -> None:
            # Every thousand, not every message: 80,000 log lines would drown the run's page.
            if done - logged["at"] >= 1000 or done == total:
                logged["at"] = done
                logger.info("emailed %d/%d members", done, total)

        report = send_digest(engine, settings, digest_id, progress=log_progress)
        summary = delivery_summary(engine, digest_id, listed=0)
    if not report.finished:
        logger.warning(
            "%d emails waiting (%s); tried again from %s",
            report.retry_later,
            summary.last_error or "; ".join(report.errors[:3]),
            f"{summary.next_attempt_at:%Y-%m-%d %H:%M} UTC" if summary.next_attempt_at else "the next run",
        )
    return {
        "total": report.total,
        "sent": report.sent,
        "failed": report.failed,
        "waiting": report.retry_later,
        "last_error": summary.last_error,
        "next_attempt_at": summary.next_attempt_at.isoformat() if summary.next_attempt_at else None,
        "seconds": round(report.seconds, 1),
    }


@task(task_run_name="post digest {digest_id}", retries=2, retry_delay_seconds=60)
def post_task(digest_id: int) -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        # A chat app answers in well under the page deadline; a small answer cap is plenty.
        rules = FetchRules.from_settings(settings, deadline=min(settings.download_timeout, 10.0), max_bytes=65536)
        report = post_digest(engine, digest_id, settings.public_url, post=json_poster(rules))
    if report.failed:
        get_run_logger().warning("webhooks failing: %s", "; ".join(report.errors))
    return {"sent": report.sent, "failed": report.failed, "already": report.already}


@flow(name="publish", flow_run_name="publish-digest-{digest_id}")
def publish_flow(digest_id: int) -> dict:
    """Email the digest to its members and post it to its webhooks; safe to run again at any point."""
    queued = queue_task(digest_id)
    emailed = send_task(digest_id)
    posted = post_task(digest_id)
    return {"digest_id": digest_id, "queued": queued, "email": emailed, "webhooks": posted}


@flow(name="publish-due", flow_run_name="publish-due")
def publish_due_flow(now: datetime | None = None) -> list[dict]:
    """Publish every approved digest whose scheduled time has come (and finish any webhook posts left over)."""
    settings = load_settings()
    with connect(settings) as engine:
        due = digests_to_publish(engine, now or datetime.now(UTC))
    get_run_logger().info("%d digests to publish", len(due))
    return [publish_flow(digest_id) for digest_id in due]
