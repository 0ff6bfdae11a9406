"""What every command needs: settings, an up-to-date store, and a console."""

from __future__ import annotations

from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from config.settings import Settings, load_settings
from flows.runtime import prepare_environment
from store.db import open_store

console = Console()
errors = Console(stderr=True)


def settings_and_store() -> tuple[Settings, Engine]:
    settings = load_settings()
    prepare_environment(settings.var_dir)
    return settings, open_store(settings.store_url)


@contextmanager
def progress_bar(description: str):
    """A rich progress bar; yields ``update(done, total)``."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task_id = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task_id, completed=done, total=total)

        yield update
