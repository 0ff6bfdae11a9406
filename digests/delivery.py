"""Delivering an approved digest by email through the outbox, so a crash never sends twice and never skips anyone.

Every outbox row is marked ``sending`` (in a batch claimed by one sender) before its message goes to the SMTP
server and ``sent`` in its own commit right after the server accepts it. The message is rendered from the row
alone (the digest, which no longer changes once approved, the member's topics saved in the row, and a
Message-ID and Date derived from the row), so every attempt at a row sends the same message.

After a crash, rows left in ``sending`` are put back to pending once they are older than the lease
(``SIGNPOST_DELIVERY_LEASE_SECONDS``) and sent again. The only way a member can get two copies is a crash in
the moment between the server accepting a message and the ``sent`` mark being committed (one message per SMTP
connection at most); both copies then carry the same Message-ID, which mail clients and large providers use to
show them once. The other way round, skipping a member after a crash, cannot happen: a row leaves
``sending`` only as ``sent`` (after acceptance), ``failed`` (a permanent refusal) or back to ``pending``.

Only a permanent refusal of the recipient (5xx) ends a row as failed. A server that cannot be reached, times out
or answers 4xx leaves the row pending with its last error, not tried again before a wait that doubles with each
try (``SIGNPOST_DELIVERY_RETRY_SECONDS`` up to ``SIGNPOST_DELIVERY_RETRY_MAX_SECONDS``), for as long as the
outage lasts; a digest is marked sent only once no row is pending.
"""

from __future__ import annotations

import multiprocessing
import queue
import smtplib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.digests.render import (
    PREVIEW_MEMBER_ID,
    DigestRenderer,
    MailSettings,
    Recipient,
    envelope_sender,
    load_content,
    message_id_for,
)
from signpost.digests.smtp import classify_send_error, close_smtp, describe_smtp_error, open_smtp
from signpost.digests.verp import ReturnPath
from signpost.store.db import open_store, utcnow
from signpost.store.digests import get_digest, mark_digest_sent
from signpost.store.marks import OutboxMarks, outbox_marks
from signpost.store.outbox import (
    OutboxRow,
    claim_rows,
    defer_waiting,
    fill_outbox,
    outbox_counts,
    release_stale,
)

Progress = Callable[[int, int], None]
# Consecutive server-wide failures (down, timing out, refusing our sender) after which a run stops: every row
# left waits, and the next run, once their wait is over, carries on.
MAX_CONNECTION_FAILURES = 3


@dataclass
class DeliveryReport:
    digest_id: int
    total: int = 0
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    released: int = 0
    deferred: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.retry_later == 0


def queue_digest(engine: Engine, settings: Settings, digest_id: int) -> int:
    """Fill the outbox of an approved digest: one row per confirmed member following a topic with items."""
    digest = get_digest(engine, digest_id)
    if digest.status not in ("approved", "sent"):
        raise ValueError(f"digest {digest_id} is {digest.status}; only an approved digest is delivered")
    content = load_content(engine, digest_id)
    topic_ids = {section.topic_id for section in content.sections}
    message_id = partial(message_id_for, mail_from=settings.mail_from)
    return fill_outbox(
        engine, digest_id, content.community_id, topic_ids, message_id, soft_bounce_limit=settings.soft_bounce_limit
    )


class RateLimit:
    """Spaces sends evenly across all connections of a run; a rate of 0 means no limit."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.next_slot = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            slot = max(self.next_slot, time.monotonic())
            self.next_slot = slot + self.interval
        time.sleep(max(0.0, slot - time.monotonic()))


def retry_delay(attempts: int, settings: Settings) -> timedelta:
    """The wait before try ``attempts + 1`` of a row: doubling from the base, up to the longest wait."""
    base = max(0, settings.delivery_retry_seconds)
    longest = max(base, settings.delivery_retry_max_seconds)
    return timedelta(seconds=min(longest, base * 2 ** min(max(attempts - 1, 0), 30)))


class _Run:
    """One run of the sender over a digest's outbox, shared by its connection threads."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        digest_id: int,
        progress: Progress | None,
        started: datetime | None = None,
        shared_done=None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.digest_id = digest_id
        self.progress = progress
        self.renderer = DigestRenderer(load_content(engine, digest_id), MailSettings.from_settings(settings))
        self.sender = ReturnPath(settings)  # the envelope MAIL FROM of a row: its signed VERP address
        self.rate = RateLimit(settings.smtp_rate_limit)
        self.report = DeliveryReport(digest_id)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.server_trouble: str | None = None
        self.done = 0
        self.crashed: BaseException | None = None
        self.started = started or utcnow()
        # Sends of every process of this run, when there are several (a multiprocessing.Value).
        self.shared_done = shared_done
        self.initial_done = 0

    def next_attempt(self, attempts: int) -> datetime:
        return utcnow() + retry_delay(attempts, self.settings)

    def count(self, outcome: str, error: str | None = None) -> None:
        with self.lock:
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            if error and len(self.report.errors) < 20:
                self.report.errors.append(error)
            self.done += 1
            if self.shared_done is not None:
                with self.shared_done.get_lock():
                    self.shared_done.value += 1
            if self.progress:
                done = self.done if self.shared_done is None else self.initial_done + self.shared_done.value
                self.progress(done, self.report.total)

    def run_threads(self, connections: int, batch_size: int) -> None:
        with outbox_marks(self.engine) as marks:
            threads = [
                threading.Thread(target=self.work, args=(marks, batch_size), name=f"smtp-{index}")
                for index in range(connections)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    def work(self, marks: OutboxMarks, batch_size: int) -> None:
        smtp: smtplib.SMTP | None = None
        server_failures = 0
        try:
            while not self.stop.is_set():
                rows = claim_rows(self.engine, self.digest_id, batch_size, tried_before=self.started)
                if not rows:
                    return
                for index, row in enumerate(rows):
                    if self.stop.is_set():
                        # The server is down for every connection: the rest of the batch waits with its error.
                        for left in rows[index:]:
                            marks.retry(left.id, self.server_trouble or "", self.next_attempt(left.attempts))
                            self.count("retry_later")
                        return
                    smtp, outcome, error, server_wide = self.send_one(smtp, row)
                    if outcome == "sent":
                        marks.sent(row.id)
                    elif outcome == "failed":
                        marks.failed(row.id, error or "")
                    else:
                        marks.retry(row.id, error or "", self.next_attempt(row.attempts))
                    self.count(outcome, error)
                    server_failures = server_failures + 1 if server_wide else 0
                    if server_failures >= MAX_CONNECTION_FAILURES:
                        self.server_trouble = error
                        self.stop.set()
        except BaseException as error:
            # Handed to the caller's thread; this run's claimed rows wait for the lease.
            self.crashed = error
            self.stop.set()
        finally:
            close_smtp(smtp)

    def send_one(self, smtp: smtplib.SMTP | None, row: OutboxRow) -> tuple[smtplib.SMTP | None, str, str | None, bool]:
        """Send one row's message: the connection to reuse, the outcome, the error and whether it was server-wide."""
        recipient = Recipient(row.member_id, row.email, row.name, row.topic_ids, row.message_id, row.created_at)
        try:
            message = self.renderer.render_bytes(recipient)
        except ValueError as error:
            return smtp, "failed", f"cannot render: {error}", False
        if message is None:
            return smtp, "failed", "none of the member's topics has items", False
        self.rate.wait()
        try:
            if smtp is None:
                smtp = open_smtp(self.settings)
            smtp.sendmail(self.sender(row.id), [row.email], message)
        except (smtplib.SMTPException, OSError) as error:
            trouble = classify_send_error(error, self.settings)
            if trouble.server_wide and smtp is not None:
                smtp.close()
                smtp = None
            return smtp, "failed" if trouble.permanent else "retry_later", trouble.error, trouble.server_wide
        return smtp, "sent", None, False


def send_digest(
    engine: Engine,
    settings: Settings,
    digest_id: int,
    *,
    progress: Progress | None = None,
    connections: int | None = None,
    stale_after: timedelta | None = None,
    batch_size: int = 100,
    processes: int | None = None,
) -> DeliveryReport:
    """Send every pending row of the digest's outbox; safe to run again after a crash or a failure.

    ``stale_after`` overrides the lease after which rows left in ``sending`` are sent again (0 when the caller
    knows no other sender is running, as after a crash of the only one).
    """
    started = time.perf_counter()
    processes = max(1, processes or settings.smtp_processes)
    if processes > 1 and settings.smtp_rate_limit > 0:
        # Each process spaces its own sends: together they keep to the rate.
        settings = settings.model_copy(update={"smtp_rate_limit": settings.smtp_rate_limit / processes})
    lease = stale_after if stale_after is not None else timedelta(seconds=settings.delivery_lease_seconds)
    released = release_stale(engine, digest_id, lease)
    run = _Run(engine, settings, digest_id, progress)
    counts = outbox_counts(engine, digest_id)
    run.report.total = sum(counts.values())
    run.report.released = released
    run.done = counts["sent"] + counts["failed"]
    workers = max(1, connections or settings.smtp_connections)
    if settings.smtp_rate_limit > 0:
        # A claimed row must be sent well within the lease, whatever the rate.
        batch_size = max(1, min(batch_size, int(settings.smtp_rate_limit * 10)))
    run.initial_done = run.done
    helpers = _start_helpers(run, processes, workers, batch_size)
    run.run_threads(workers, batch_size)
    _join_helpers(run, helpers)
    if run.crashed is not None:
        raise run.crashed
    if run.server_trouble is not None:
        # The rows this run never reached wait too, with the server's trouble, so the pages say why.
        run.report.deferred = defer_waiting(engine, digest_id, run.server_trouble, run.next_attempt)
    counts = outbox_counts(engine, digest_id)
    if progress and helpers:
        progress(counts["sent"] + counts["failed"], run.report.total)
    run.report.retry_later = counts["pending"] + counts["sending"]
    if run.report.retry_later == 0 and get_digest(engine, digest_id).status == "approved":
        mark_digest_sent(engine, digest_id, sent=counts["sent"], failed=counts["failed"])
    run.report.seconds = time.perf_counter() - started
    return run.report


def _helper_process(settings: Settings, digest_id: int, started: datetime, shared_done, connections, batch_size, out):
    """A further sender process of one run: its own store connections, SMTP connections and marks."""
    engine = open_store(settings.store_url)
    try:
        run = _Run(engine, settings, digest_id, None, started=started, shared_done=shared_done)
        run.run_threads(connections, batch_size)
        report = run.report
        out.put(
            {
                "sent": report.sent,
                "failed": report.failed,
                "errors": report.errors,
                "server_trouble": run.server_trouble,
                "crashed": repr(run.crashed) if run.crashed is not None else None,
            }
        )
    finally:
        engine.dispose()


def _start_helpers(run: _Run, processes: int, connections: int, batch_size: int) -> list:
    """Processes beyond this one, each claiming its own batches: rendering is CPU-bound, so a process per core."""
    if processes <= 1:
        return []
    context = multiprocessing.get_context("spawn")
    run.shared_done = context.Value("i", 0)
    out = context.Queue()
    helpers = []
    for _ in range(processes - 1):
        process = context.Process(
            target=_helper_process,
            args=(run.settings, run.digest_id, run.started, run.shared_done, connections, batch_size, out),
            daemon=True,
        )
        process.start()
        helpers.append(process)
    return [out, *helpers]


def _join_helpers(run: _Run, helpers: list) -> None:
    """Wait for the helper processes and add what they did to this run's report."""
    if not helpers:
        return
    out, processes = helpers[0], helpers[1:]
    results = []
    for process in processes:
        while process.is_alive() or not out.empty():
            try:
                results.append(out.get(timeout=1))
            except queue.Empty:
                continue
        process.join()
    for result in results:
        run.report.sent += result["sent"]
        run.report.failed += result["failed"]
        run.report.errors = (run.report.errors + result["errors"])[:20]
        run.server_trouble = run.server_trouble or result["server_trouble"]
        if result["crashed"] and run.crashed is None:
            run.crashed = RuntimeError(f"a sender process crashed: {result['crashed']}")
    if len(results) < len(processes) and run.crashed is None:
        run.crashed = RuntimeError("a sender process died; its claimed rows are sent again after the lease")


def send_test_email(
    engine: Engine,
    settings: Settings,
    digest_id: int,
    email: str,
    name: str,
    topic_ids: frozenset[int],
    states: tuple[str, ...] = ("approved",),
) -> str | None:
    """Email ``email`` the digest exactly as a member following ``topic_ids`` would get it (links are not
    tracked and unsubscribe nobody); None once the server took it, otherwise why not."""
    renderer = DigestRenderer(load_content(engine, digest_id, states), MailSettings.from_settings(settings))
    domain = envelope_sender(settings.mail_from).rpartition("@")[2] or "signpost.invalid"
    message_id = f"<test-{digest_id}.{uuid.uuid4().hex}@{domain}>"
    message = renderer.render_bytes(Recipient(PREVIEW_MEMBER_ID, email, name, topic_ids, message_id, utcnow()))
    if message is None:
        return "none of the chosen topics has items"
    try:
        smtp = open_smtp(settings)
        try:
            smtp.sendmail(envelope_sender(settings.mail_from), [email], message)
        finally:
            close_smtp(smtp)
    except (smtplib.SMTPException, OSError) as error:
        return describe_smtp_error(error, settings)
    return None
