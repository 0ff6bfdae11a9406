"""``signpost mail``: the DNS records mail needs, the bounce listener and mailbox, and the suppression list."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from signpost.cli.context import console, errors, settings_and_store

app = typer.Typer(
    help="Deliverability: DNS records, bounces, complaints and suppressed addresses.", no_args_is_help=True
)


@app.command("check")
def check(
    ip: Annotated[
        list[str] | None, typer.Option(help="Address of a server that sends the digests (repeatable).")
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option(help="SPF include of a relay that sends for you, e.g. amazonses.com.")
    ] = None,
    mx_host: Annotated[
        str, typer.Option(help="Host name where the bounce listener is reached.")
    ] = "signpost.example.org",
) -> None:
    """Print the SPF, DKIM and DMARC records (and the bounce domain's MX) your DNS needs for these settings."""
    from signpost.config.settings import load_settings
    from signpost.digests.dns_records import required_records

    settings = load_settings()
    try:
        records, warnings = required_records(
            settings, sending_ips=ip or [], spf_includes=include or [], mx_host=mx_host
        )
    except ValueError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    for record in records:
        console.print(f"; {record.why}", markup=False, highlight=False)
        console.print(f"{record.name}. IN {record.type} {record.value}", markup=False, highlight=False, soft_wrap=True)
    for warning in warnings:
        errors.print(f"[yellow]{warning}[/yellow]")


@app.command("dkim-key")
def dkim_key(path: Annotated[Path, typer.Argument(help="Where to write the new private key (PEM).")]) -> None:
    """Make a new 2048-bit RSA key for DKIM; point SIGNPOST_DKIM_KEY_FILE at it and publish `mail check`'s record."""
    from signpost.digests.dns_records import new_dkim_key

    try:
        new_dkim_key(path)
    except ValueError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    console.print(f"Wrote {path}; set SIGNPOST_DKIM_KEY_FILE={path} and a SIGNPOST_DKIM_SELECTOR.")


@app.command("listen")
def listen(
    address: Annotated[str | None, typer.Option(help="HOST:PORT (default: SIGNPOST_BOUNCE_LISTEN).")] = None,
) -> None:
    """Run the bounce listener alone (SMTP or LMTP, as SIGNPOST_BOUNCE_PROTOCOL says) until Ctrl-C."""
    from signpost.digests.bounce_listener import BounceListener, listen_address

    settings, engine = settings_and_store()
    try:
        host, port = listen_address(address or settings.bounce_listen or "")
        listener = BounceListener(engine, settings, host, port, settings.bounce_protocol).start()
    except (ValueError, OSError) as error:
        errors.print(f"[red]Cannot listen:[/red] {error}")
        raise typer.Exit(1) from error
    console.print(f"Taking bounces for {settings.bounce_domain} by {settings.bounce_protocol} on {host}:{port}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()


@app.command("poll")
def poll() -> None:
    """Read the bounce mailbox (SIGNPOST_BOUNCE_IMAP_*) once: record each bounce and complaint, delete what was read."""
    from signpost.flows.bounces import bounce_mailbox_flow

    settings, _ = settings_and_store()
    if not settings.bounce_imap_host:
        errors.print("[red]No bounce mailbox:[/red] set SIGNPOST_BOUNCE_IMAP_HOST, _USERNAME and _PASSWORD.")
        raise typer.Exit(1)
    report = bounce_mailbox_flow()
    console.print(
        f"{report['messages']} messages: {report['reports']} bounces or complaints recorded, "
        f"{report['suppressed']} addresses suppressed, {report['kept']} kept for the next poll."
    )


@app.command("suppressions")
def suppressions() -> None:
    """Addresses no community mails, with why and when."""
    from signpost.store.suppressions import list_suppressions

    _, engine = settings_and_store()
    found = list_suppressions(engine)
    table = Table(title=f"{len(found)} suppressed addresses")
    for column in ("email", "reason", "since", "via", "what the server said"):
        table.add_column(column, overflow="fold")
    for row in found:
        table.add_row(row.email, row.reason, row.created_at.strftime("%Y-%m-%d %H:%M"), row.source, row.detail)
    console.print(table)


@app.command("lift")
def lift(email: Annotated[str, typer.Argument(help="The suppressed address.")]) -> None:
    """Mail a suppressed address again (after the member fixed their mailbox, say)."""
    from signpost.store.members import normalise_email
    from signpost.store.suppressions import lift_suppression, list_suppressions

    _, engine = settings_and_store()
    found = next((row for row in list_suppressions(engine) if row.email == normalise_email(email)), None)
    if found is None or not lift_suppression(engine, found.member_id):
        errors.print(f"[red]{email} is not suppressed.[/red]")
        raise typer.Exit(1)
    console.print(f"Lifted the suppression of {found.email} ({found.reason}).")


@app.command("delivery")
def delivery(
    digest: Annotated[int, typer.Argument(help="The digest's id.")],
    everyone: Annotated[
        bool, typer.Option("--all", help="List every row, not only those that did not arrive.")
    ] = False,
) -> None:
    """Each outbox row of a digest with its delivery state, through to soft-bounced, bounced or complained."""
    from signpost.store.outbox import outbox_rows
    from signpost.store.suppressions import delivery_state

    _, engine = settings_and_store()
    rows = [(row, delivery_state(row)) for row in outbox_rows(engine, digest)]
    counts: dict[str, int] = {}
    for _, state in rows:
        counts[state] = counts.get(state, 0) + 1
    console.print(
        f"Digest {digest}: " + (", ".join(f"{state} {count}" for state, count in sorted(counts.items())) or "no rows")
    )
    table = Table()
    for column in ("email", "state", "sent", "answered", "last error"):
        table.add_column(column, overflow="fold")
    for row, state in rows:
        if everyone or state not in ("sent", "pending", "sending"):
            sent = f"{row['sent_at']:%Y-%m-%d %H:%M}" if row["sent_at"] else "-"
            answered = f"{row['delivery_at']:%Y-%m-%d %H:%M}" if row["delivery_at"] else "-"
            table.add_row(row["email"], state, sent, answered, row["last_error"] or "")
    if table.row_count:
        console.print(table)
