"""``signpost digests``: list a community's digests, approve one, publish it (email and webhooks)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from signpost.cli.context import console, errors, settings_and_store

app = typer.Typer(help="Look at, approve and publish digests.", no_args_is_help=True)


@app.command("list")
def list_(community: Annotated[str, typer.Option(help="The community, by its slug.")]) -> None:
    """A community's digests, newest first, with their state and item counts."""
    from signpost.store.communities import get_community
    from signpost.store.digests import list_digests, load_items
    from signpost.store.outbox import delivery_summary

    _, engine = settings_and_store()
    try:
        found = get_community(engine, community)
    except LookupError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    table = Table(title=f"Digests of {found.name}")
    for column in ("id", "period", "status", "items", "approved by", "scheduled for", "emails"):
        table.add_column(column)
    for digest in list_digests(engine, found.id):
        delivery = delivery_summary(engine, digest.id, listed=0)
        states = [item.state for item in load_items(engine, digest.id)]
        table.add_row(
            str(digest.id),
            f"{digest.period_start:%Y-%m-%d} to {digest.period_end:%Y-%m-%d}",
            digest.status,
            f"{states.count('approved')} approved, {states.count('proposed')} proposed, "
            f"{states.count('rejected')} rejected",
            digest.approved_by or "-",
            f"{digest.scheduled_for:%Y-%m-%d %H:%M}" if digest.scheduled_for else "-",
            _emails(delivery),
        )
    console.print(table)


def _emails(delivery) -> str:
    if not delivery.total:
        return "-"
    text = f"{delivery.counts['sent']} of {delivery.total} sent"
    if delivery.waiting:
        text += (
            f", {delivery.waiting} waiting since {delivery.waiting_since:%Y-%m-%d %H:%M} UTC ({delivery.last_error})"
        )
    if delivery.counts["failed"]:
        text += f", {delivery.counts['failed']} refused"
    return text


@app.command("approve")
def approve(
    digest: Annotated[int, typer.Argument(help="The digest's id.")],
    by: Annotated[str, typer.Option(help="Who approves it (a curator's email).")],
    at: Annotated[str | None, typer.Option(help="Send from this time (ISO, UTC unless it says); default now.")] = None,
) -> None:
    """Approve a draft as it stands (proposed items are approved with it) and schedule its sending."""
    from signpost.store.digests import DigestLockedError, approve_digest

    _, engine = settings_and_store()
    when = datetime.fromisoformat(at) if at else datetime.now(UTC)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    try:
        approve_digest(engine, digest, by, scheduled_for=when)
    except (LookupError, DigestLockedError) as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"Digest {digest} approved; it goes out from {when:%Y-%m-%d %H:%M %Z} (`signpost digests publish`).")


@app.command("publish")
def publish(
    digest: Annotated[int | None, typer.Argument(help="One digest; default: every approved one that is due.")] = None,
) -> None:
    """Email an approved digest to its members and post it to its webhooks (Prefect flow); safe to run again."""
    from signpost.flows.publish import publish_due_flow, publish_flow

    settings_and_store()
    runs = [publish_flow(digest)] if digest is not None else publish_due_flow()
    if not runs:
        console.print("Nothing to publish.")
    for run in runs:
        email, hooks = run["email"], run["webhooks"]
        console.print(
            f"Digest {run['digest_id']}: {email['sent']} emails sent, {email['failed']} refused; "
            f"webhooks {hooks['sent']} posted, {hooks['failed']} failing."
        )
        if email.get("waiting"):
            console.print(
                f"  [yellow]{email['waiting']} emails waiting[/yellow] ({email['last_error']}); tried again from "
                f"{email['next_attempt_at'] or 'the next run'} by `signpost digests publish` or `signpost serve`."
            )


def start_publish_process(digest_id: int, var_dir: Path) -> subprocess.Popen:
    """`signpost digests publish ID` in a process of its own session, logging to var/logs/: the web app's
    "send now", which a restart of the web app does not stop."""
    logs = var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"publish-{digest_id}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "signpost.cli.main", "digests", "publish", str(digest_id)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # Reaped when it ends, so a long-running web app collects no zombies.
    threading.Thread(target=process.wait, name=f"publish-{digest_id}", daemon=True).start()
    return process
