"""The schema is migrated once, under a lock, and never by opening the store."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from sqlalchemy import inspect

from signpost.store.db import (
    SchemaOutOfDateError,
    current_revision,
    head_revision,
    migrate,
    open_current_store,
    open_store,
)


def test_opening_the_store_does_not_migrate(store_url):
    engine = open_store(store_url)
    assert current_revision(engine) is None
    assert "sources" not in inspect(engine).get_table_names()
    engine.dispose()


def test_an_empty_store_is_migrated_on_first_use_and_an_outdated_one_refused(store_url):
    engine = open_current_store(store_url)
    assert current_revision(engine) == head_revision()
    migrate_down_one(engine)
    engine.dispose()
    with pytest.raises(SchemaOutOfDateError, match="run `signpost migrate`"):
        open_current_store(store_url)
    engine = open_store(store_url)
    assert migrate(engine) == [head_revision()]
    assert migrate(engine) == []
    engine.dispose()


def migrate_down_one(engine) -> None:
    from alembic import command

    from signpost.store.db import alembic_config

    command.downgrade(alembic_config(engine), "-1")


def _migrate_in_a_process(url: str, results) -> None:
    engine = open_store(url)
    started = time.monotonic()
    applied = migrate(engine)
    results.put((applied, started, time.monotonic()))
    engine.dispose()


def test_migrations_started_together_run_once_and_the_others_wait(store_url):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_migrate_in_a_process, args=(store_url, results)) for _ in range(4)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    ran = [outcome for outcome in outcomes if outcome[0]]
    waited = [outcome for outcome in outcomes if not outcome[0]]
    assert len(ran) == 1 and len(waited) == 3
    assert ran[0][0][0] == head_revision()
    # Every other process came back only once the one that migrated had finished.
    assert all(finished >= ran[0][2] - 0.05 for _, _, finished in waited)
    engine = open_store(store_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_names_saved_before_0008_with_line_breaks_become_one_line(store_url):
    from alembic import command
    from sqlalchemy import select

    from signpost.store.db import alembic_config, utcnow
    from signpost.store.schema import communities, members, topics

    engine = open_store(store_url)
    command.upgrade(alembic_config(engine), "0007")
    with engine.begin() as connection:
        community = connection.execute(
            communities.insert().values(slug="vol", name="Volunteering\r\nBcc: all@example.org", created_at=utcnow())
        ).inserted_primary_key[0]
        connection.execute(topics.insert().values(community_id=community, slug="rest", name="Rest\tand\x85calm"))
        connection.execute(members.insert().values(email="a@example.org", name="\x07", created_at=utcnow()))
    assert "0008" in migrate(engine)
    with engine.connect() as connection:
        assert connection.scalar(select(communities.c.name)) == "Volunteering Bcc: all@example.org"
        assert connection.execute(select(topics.c.name, topics.c.archived_at)).one() == ("Rest and calm", None)
        assert connection.scalar(select(members.c.name)) == ""
    engine.dispose()
