"""The bounce mailbox flow: poll the IMAP mailbox of bounces and complaints, on an interval under `signpost serve`."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, task

from signpost.config.settings import load_settings
from signpost.digests.bounce_mailbox import poll_mailbox
from signpost.store.db import connect


# An unreachable mailbox is usually passing; what was not read stays there for the retry.
@task(task_run_name="poll bounce mailbox", retries=2, retry_delay_seconds=60)
def poll_task() -> dict:
    settings = load_settings()
    with connect(settings) as engine:
        return asdict(poll_mailbox(engine, settings))


@flow(name="bounce-mailbox", flow_run_name="bounce-mailbox")
def bounce_mailbox_flow() -> dict:
    """Record every bounce and complaint waiting in the mailbox, and delete what was recorded."""
    return poll_task()
