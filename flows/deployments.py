"""The deployments `signpost serve` runs: each community's weekly flow on its schedule, and publishing when due."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron
from sqlalchemy import Engine

from signpost.config.settings import load_settings
from signpost.flows.bounces import bounce_mailbox_flow
from signpost.flows.publish import publish_due_flow
from signpost.flows.runtime import STAGE_LIMITS
from signpost.flows.weekly import weekly_flow
from signpost.store.communities import list_communities

# Approved digests are picked up within this many seconds of their scheduled time.
PUBLISH_EVERY_SECONDS = 300
# Flows are found as modules of the installed package, not as files: a worker on another machine has no
# checkout, and a file's folder put first on sys.path would let flows/ shadow the rooms.
ENTRYPOINT = EntrypointType.MODULE_PATH


def deployments(engine: Engine) -> list[RunnerDeployment]:
    """A weekly deployment per community, with its cron in its own time zone, the publishing round, and the bounce
    mailbox's poll when there is one."""
    found = [
        weekly_flow.to_deployment(
            name=f"weekly-{community.slug}",
            schedules=[Cron(community.schedule, timezone=community.timezone)],
            parameters={"community": community.slug},
            # A week that is still running when the next is due finishes first; runs never overlap.
            concurrency_limit=1,
            description=f"Crawl, classify and draft the digest of {community.name}.",
            entrypoint_type=ENTRYPOINT,
        )
        for community in list_communities(engine)
    ]
    found.append(
        publish_due_flow.to_deployment(
            name="publish-due",
            interval=PUBLISH_EVERY_SECONDS,
            concurrency_limit=1,
            description="Email and post every approved digest whose time has come.",
            entrypoint_type=ENTRYPOINT,
        )
    )
    settings = load_settings()
    if settings.bounce_imap_host:
        found.append(
            bounce_mailbox_flow.to_deployment(
                name="bounce-mailbox",
                interval=max(1, settings.bounce_imap_minutes) * 60,
                concurrency_limit=1,
                description="Record the bounces and complaints waiting in the bounce mailbox.",
                entrypoint_type=ENTRYPOINT,
            )
        )
    return found


def ensure_stage_limits() -> None:
    """Create the tag concurrency limits of `STAGE_LIMITS` that the server lacks; an admin's own value stays."""
    with get_client(sync_client=True) as client:
        for tag, limit in STAGE_LIMITS.items():
            try:
                client.read_concurrency_limit_by_tag(tag)
            except ObjectNotFound:
                client.create_concurrency_limit(tag=tag, concurrency_limit=limit)


def deploy_to_pool(engine: Engine, pool: str, pool_type: str = "process") -> list[str]:
    """Register the deployments with a work pool (made if missing), for its workers on any machine to run;
    returns their names."""
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=pool, type=pool_type))
    ensure_stage_limits()
    names = []
    for deployment in deployments(engine):
        deployment.apply(work_pool_name=pool)
        names.append(f"{deployment.flow_name}/{deployment.name}")
    return names
