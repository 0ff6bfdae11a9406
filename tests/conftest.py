"""Shared fixtures: a fresh store on SQLite and on PostgreSQL, the shared data sets, settings for tests."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from signpost.config.settings import Settings
from signpost.digests.mail_sink import free_port
from signpost.store.communities import save_community
from signpost.store.db import open_migrated_store

# A worktree sits deeper than the main checkout: SIGNPOST_SHARED_DATA points at the data sets from there.
SHARED_DATA = Path(os.environ.get("SIGNPOST_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
POSTGRES_URL = os.environ.get("SIGNPOST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def shared_data(name: str) -> Path:
    """A data set from ../shared/data, or a skip that says where it was looked for."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data set {name!r} not found at {path} (it lives beside the repo, in ../shared/data)")
    return path


_postgres_problem: str | None = None


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    global _postgres_problem
    if _postgres_problem is None:
        try:
            engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            engine.dispose()
            _postgres_problem = ""
        except Exception as error:
            _postgres_problem = f"no PostgreSQL at {POSTGRES_URL} ({type(error).__name__}); PostgreSQL tests skipped"
    return _postgres_problem or None


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A URL of an empty store: a SQLite file, or a schema of its own in PostgreSQL, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'signpost.db'}"
        return
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'drop schema "{schema}" cascade'))
    admin.dispose()


@pytest.fixture
def engine(store_url):
    engine = open_migrated_store(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(store_url, tmp_path) -> Settings:
    """Settings for a test: its own store and var dir, loopback allowed, short timeouts."""
    return Settings(
        var_dir=tmp_path / "var",
        database_url=store_url,
        allow_private_addresses=True,
        download_timeout=3.0,
        max_page_bytes=2 * 1024 * 1024,
        retry_times=1,
        autothrottle=False,
        concurrent_requests=64,
        concurrent_requests_per_domain=8,
        extract_workers=2,
    )


class Inbox:
    """An aiosmtpd handler that keeps what it accepts, and can fail or stall on cue."""

    def __init__(self) -> None:
        self.accepted: list[tuple[list[str], bytes]] = []
        self.attempts = 0
        self.refuse_after: int | None = None  # accept this many, then answer 451 to the rest
        self.stall_at: int | None = None  # hold this attempt until released, then refuse it
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.attempts += 1
        if self.stall_at == self.attempts:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
            return "451 4.3.0 sender went away"
        if self.refuse_after is not None and len(self.accepted) >= self.refuse_after:
            return "451 4.3.2 try again later"
        self.accepted.append((list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 accepted"

    def by_recipient(self) -> Counter[str]:
        return Counter(rcpt for rcpts, _ in self.accepted for rcpt in rcpts)


@pytest.fixture
def smtp():
    """A real SMTP server on loopback, and what it accepted: (Inbox, port)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    inbox.release.set()
    controller.stop()


def save_news_desk(engine) -> None:
    """The BBC topics as community "desk", drafting on Fridays at 09:00 UTC (the fixture web's reference moment)."""
    spec = yaml.safe_load((shared_data("bbc") / "topics.yaml").read_text())
    save_community(
        engine,
        slug="desk",
        name="News desk",
        timezone="UTC",
        schedule="0 9 * * FRI",
        items_per_topic=3,
        topic_list=[{"slug": t["id"], "name": t["name"], "description": t["description"]} for t in spec["topics"]],
    )


def news_desk_store(url: str, settings: Settings, web) -> None:
    """A store at ``url`` with the news desk and every site of the fixture web as a source."""
    from signpost.spiders.registry import add_source_from_url

    engine = open_migrated_store(url)
    save_news_desk(engine)
    for site in web.sites:
        add_source_from_url(engine, settings, site.base_url, name=site.name)
    engine.dispose()
