"""``signpost users``: the people who sign in to the web app (admins and curators)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from signpost.cli.context import console, errors, settings_and_store

app = typer.Typer(help="Admins and curators who sign in to the web app.", no_args_is_help=True)


@app.command("add")
def add(
    email: Annotated[str, typer.Argument(help="Their email address: where sign-in links go.")],
    name: Annotated[str, typer.Option(help="Their name, as the app shows it.")] = "",
    admin: Annotated[bool, typer.Option(help="May add sources, communities and users.")] = False,
    curates: Annotated[list[str] | None, typer.Option(help="Slug of a community they curate (repeatable).")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="Empty: sign in by link only.")
    ] = "",
) -> None:
    """Add a user (or update one): an admin, a curator of some communities, or both."""
    from signpost.config.models import plain_name
    from signpost.store.communities import get_community
    from signpost.store.users import save_user, set_curator
    from signpost.web.security import hash_password

    _, engine = settings_and_store()
    if password and len(password) < 10:
        errors.print("[red]Use a password of at least 10 characters.[/red]")
        raise typer.Exit(1)
    try:
        plain_name(name)
        communities = [get_community(engine, slug) for slug in curates or []]
    except (ValueError, LookupError) as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    user_id = save_user(
        engine, email, name, password_hash=hash_password(password) if password else None, is_admin=admin or None
    )
    for community in communities:
        set_curator(engine, user_id, community.id)
    roles = (["admin"] if admin else []) + [f"curator of {c.slug}" for c in communities]
    console.print(f"User {user_id} {email}: {', '.join(roles) or 'no role yet'}.")


@app.command("list")
def list_() -> None:
    """Every user with their roles."""
    from signpost.store.users import community_names, list_users

    _, engine = settings_and_store()
    names = community_names(engine)
    table = Table()
    for column in ("id", "email", "name", "admin", "curates"):
        table.add_column(column)
    for user in list_users(engine):
        curated = ", ".join(sorted(names.get(community_id, "?") for community_id in user.community_ids))
        table.add_row(str(user.id), user.email, user.name, "yes" if user.is_admin else "", curated)
    console.print(table)
