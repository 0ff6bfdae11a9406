"""Opening the store (SQLite with WAL, or PostgreSQL) and migrating its schema, once, under a lock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from signpost.config.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_lock takes a 64-bit key; this one is "signpost" in ASCII, so it is ours and always the same.
MIGRATION_LOCK_KEY = 0x7369676E706F7374


class SchemaOutOfDateError(RuntimeError):
    """The store's schema is older (or newer) than this version of Signpost expects."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the crawl child write while the parent and the web app read.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for the store at ``url``; SQLite files get their folder created and WAL switched on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is what we install; plain postgresql:// would ask for psycopg2.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the store's schema is at, or None for an empty store."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Held by one migrating process at a time: an advisory lock on PostgreSQL, a lock file beside a SQLite file."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("select pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("select pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with FileLock(f"{database}.migrate.lock"):
            yield
        return
    yield


def migrate(engine: Engine) -> list[str]:
    """Bring the schema to the newest migration under the migration lock; returns the revisions it applied.

    A process that finds another migrating waits for it, then finds nothing left to do.
    """
    script = ScriptDirectory.from_config(alembic_config())
    with migration_lock(engine):
        before = current_revision(engine)
        if before == script.get_current_head():
            return []
        command.upgrade(alembic_config(engine), "head")
        return [revision.revision for revision in script.iterate_revisions("head", before or "base") if revision]


def open_store(url: str) -> Engine:
    """An engine on the store at ``url``. It never migrates: `signpost migrate`, serve, deploy and demo do."""
    return make_engine(url)


def open_current_store(url: str) -> Engine:
    """An engine on a store whose schema is current: an empty store is migrated, an outdated one refused."""
    engine = make_engine(url)
    revision = current_revision(engine)
    if revision is None:
        migrate(engine)
    elif revision != head_revision():
        engine.dispose()
        raise SchemaOutOfDateError(
            f"the store at {make_url(url).render_as_string(hide_password=True)} is at schema revision {revision}, "
            f"this Signpost needs {head_revision()}: run `signpost migrate`"
        )
    return engine


def open_migrated_store(url: str) -> Engine:
    """An engine on the store at ``url`` with its schema migrated to the newest revision."""
    engine = make_engine(url)
    migrate(engine)
    return engine


@contextmanager
def connect(settings: Settings) -> Iterator[Engine]:
    """The store of ``settings`` for one task: the engine is disposed however the task ends."""
    engine = make_engine(settings.store_url)
    try:
        yield engine
    finally:
        engine.dispose()


def dialect_insert(connection: Connection, table: Table):
    """An INSERT that knows ON CONFLICT, for whichever database the connection is on."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def utcnow() -> datetime:
    return datetime.now(UTC)
