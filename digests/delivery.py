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
"""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.digests.render import (
    DigestRenderer,
    MailSettings,
    Recipient,
    load_content,
    message_id_for,
)
from signpost.digests.verp import ReturnPath
from signpost.store.db import utcnow
from signpost.store.digests import get_digest, mark_digest_sent
from signpost.store.outbox import OutboxRow, claim_rows, fill_outbox, outbox_counts, outbox_marks, release_stale

Progress = Callable[[int, int], None]
# Consecutive connection failures after which a run stops: the server is down, the next run carries on.
MAX_CONNECTION_FAILURES = 3


@dataclass
class DeliveryReport:
    digest_id: int
    total: int = 0
    sent: int = 0
    failed: int = 0
    retry_later: int = 0
    released: int = 0
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


def open_smtp(settings: Settings) -> smtplib.SMTP:
    """A logged-in SMTP connection as the settings describe it."""
    context = ssl.create_default_context()
    if settings.smtp_security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
    if settings.smtp_username:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        smtp.login(settings.smtp_username, password)
    return smtp


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


class _Run:
    """One run of the sender over a digest's outbox, shared by its connection threads."""

    def __init__(self, engine: Engine, settings: Settings, digest_id: int, progress: Progress | None) -> None:
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
        self.done = 0
        self.crashed: BaseException | None = None
        self.started = utcnow()

    def count(self, outcome: str, error: str | None = None) -> None:
        with self.lock:
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            if error and len(self.report.errors) < 20:
                self.report.errors.append(error)
            self.done += 1
            if self.progress:
                self.progress(self.done, self.report.total)

    def work(self, batch_size: int, max_attempts: int) -> None:
        smtp: smtplib.SMTP | None = None
        connection_failures = 0
        with outbox_marks(self.engine) as marks:
            try:
                while not self.stop.is_set():
                    rows = claim_rows(self.engine, self.digest_id, batch_size, tried_before=self.started)
                    if not rows:
                        return
                    for index, row in enumerate(rows):
                        if self.stop.is_set():
                            for left in rows[index:]:
                                marks.retry(left.id, "run stopped before this row")
                                self.count("retry_later")
                            return
                        smtp, outcome, error, broken = self.send_one(smtp, row, max_attempts)
                        if outcome == "sent":
                            marks.sent(row.id)
                        elif outcome == "failed":
                            marks.failed(row.id, error or "")
                        else:
                            marks.retry(row.id, error or "")
                        self.count(outcome, error)
                        connection_failures = connection_failures + 1 if broken else 0
                        if connection_failures >= MAX_CONNECTION_FAILURES:
                            self.stop.set()
            except BaseException as error:
                # Handed to the caller's thread; this run's claimed rows wait for the lease.
                self.crashed = error
                self.stop.set()
            finally:
                if smtp is not None:
                    try:
                        smtp.quit()
                    except (smtplib.SMTPException, OSError):
                        smtp.close()

    def send_one(
        self, smtp: smtplib.SMTP | None, row: OutboxRow, max_attempts: int
    ) -> tuple[smtplib.SMTP | None, str, str | None, bool]:
        """Send one row's message: the connection to reuse, the outcome, the error and whether the connection broke."""
        recipient = Recipient(row.member_id, row.email, row.name, row.topic_ids, row.message_id, row.created_at)
        try:
            message = self.renderer.render_bytes(recipient)
        except ValueError as error:
            return smtp, "failed", f"cannot render: {error}", False
        if message is None:
            return smtp, "failed", "none of the member's topics has items", False
        give_up = row.attempts >= max_attempts
        self.rate.wait()
        try:
            if smtp is None:
                smtp = open_smtp(self.settings)
            smtp.sendmail(self.sender(row.id), [row.email], message)
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            return smtp, _refusal(code, give_up), f"{code} {reason!r}", False
        except smtplib.SMTPResponseException as error:
            return smtp, _refusal(error.smtp_code, give_up), f"{error.smtp_code} {error.smtp_error!r}", False
        except (smtplib.SMTPException, OSError) as error:
            if smtp is not None:
                smtp.close()
            return None, "failed" if give_up else "retry_later", f"connection: {error!r}", True
        return smtp, "sent", None, False


def _refusal(code: int, give_up: bool) -> str:
    """5xx is permanent; 4xx may pass, so the row waits for the next run unless it has had its attempts."""
    return "failed" if code >= 500 or give_up else "retry_later"


def send_digest(
    engine: Engine,
    settings: Settings,
    digest_id: int,
    *,
    progress: Progress | None = None,
    connections: int | None = None,
    stale_after: timedelta | None = None,
    batch_size: int = 100,
    max_attempts: int = 5,
) -> DeliveryReport:
    """Send every pending row of the digest's outbox; safe to run again after a crash or a failure.

    ``stale_after`` overrides the lease after which rows left in ``sending`` are sent again (0 when the caller
    knows no other sender is running, as after a crash of the only one).
    """
    started = time.perf_counter()
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
    threads = [
        threading.Thread(target=run.work, args=(batch_size, max_attempts), name=f"smtp-{index}")
        for index in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if run.crashed is not None:
        raise run.crashed
    counts = outbox_counts(engine, digest_id)
    run.report.retry_later = counts["pending"] + counts["sending"]
    if run.report.retry_later == 0 and get_digest(engine, digest_id).status == "approved":
        mark_digest_sent(engine, digest_id, sent=counts["sent"], failed=counts["failed"])
    run.report.seconds = time.perf_counter() - started
    return run.report
