"""What every command needs: settings, an up-to-date store, and a console."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from signpost.config.settings import Settings, load_settings, local_secret_key
from signpost.flows.runtime import prepare_environment
from signpost.store.db import SchemaOutOfDateError, open_current_store, open_migrated_store

T = TypeVar("T")
# Piped into a file or grep, rich would wrap tables at 80 columns and split URLs across lines; a terminal's own
# width (or COLUMNS) still wins when there is one.
PIPED_WIDTH = None if os.environ.get("COLUMNS") or sys.stdout.isatty() else 200
console = Console(width=PIPED_WIDTH)
errors = Console(stderr=True, width=PIPED_WIDTH)


def settings_and_store(*, migrate: bool = False) -> tuple[Settings, Engine]:
    """Settings and the store; ``migrate`` brings its schema up to date (serve, deploy, demo, migrate), and
    otherwise only an empty store is migrated and an outdated one is refused with what to run."""
    settings = load_settings()
    if settings.secret_key is None:
        # Set in the environment, so flows run from here (and their subprocesses) sign with the same key.
        os.environ["SIGNPOST_SECRET_KEY"] = local_secret_key(settings.var_dir)
        settings = load_settings()
    prepare_environment(settings.var_dir)
    if migrate:
        return settings, open_migrated_store(settings.store_url)
    try:
        return settings, open_current_store(settings.store_url)
    except SchemaOutOfDateError as error:
        errors.print(f"signpost: {error}", markup=False)
        raise SystemExit(1) from None


@contextmanager
def progress_bar(description: str, *, on_stderr: bool = False):
    """A rich progress bar; yields ``update(done, total)``. ``on_stderr`` keeps stdout for a command's --json."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors if on_stderr else console,
        transient=False,
    ) as progress:
        task_id = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task_id, completed=done, total=total)

        yield update


def run_with_progress(description: str, work: Callable[[], T], poll: Callable[[], tuple[int, int]]) -> T:
    """Run ``work()`` in a thread while a progress bar follows ``poll() -> (done, total)`` from the store."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # handed back to the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    with progress_bar(description) as update:
        thread.start()
        while thread.is_alive():
            update(*poll())
            thread.join(0.5)
        update(*poll())
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
