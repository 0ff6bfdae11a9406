"""Marking outbox rows after their send, in group commits: each sender waits for its row's mark to be committed
before it sends anything else, and one commit carries the marks of every connection that finished meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine, bindparam, func, text, update

from signpost.store.db import utcnow
from signpost.store.schema import outbox

_in_flight = (outbox.c.id == bindparam("row_id")) & (outbox.c.state == "sending")
# Built once: composing a statement per row costs more than committing it. The rows sent meanwhile are marked in
# one statement a commit, stamped with the time of the last acceptance among them.
_SENT = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("row_ids", expanding=True)), outbox.c.state == "sending")
    .values(
        state="sent", sent_at=bindparam("at"), claim=None, last_error=None, next_attempt_at=None, waiting_since=None
    )
)
_FAILED = (
    update(outbox)
    .where(_in_flight)
    .values(state="failed", claim=None, last_error=bindparam("error"), next_attempt_at=None)
)
# claimed_at stays: it says when the row was last tried.
_RETRY = (
    update(outbox)
    .where(_in_flight)
    .values(
        state="pending",
        claim=None,
        last_error=bindparam("error"),
        next_attempt_at=bindparam("next_at"),
        waiting_since=func.coalesce(outbox.c.waiting_since, bindparam("at")),
    )
)


class OutboxMarks:
    """Marks rows after their send; ``sent``, ``failed`` and ``retry`` return once the mark is committed.

    A writer thread commits whatever marks are waiting in one transaction, so N connections cost one commit,
    not N, and no sender moves on before its last message is recorded: after a crash at most one message per
    connection can go out twice, as with a commit per row.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.condition = threading.Condition()
        self.waiting: list[tuple[int, object, dict]] = []
        self.submitted = 0
        self.committed = 0
        self.error: BaseException | None = None
        self.closing = False
        self.writer = threading.Thread(target=self._write, name="outbox-marks", daemon=True)
        self.writer.start()

    def _mark(self, statement, **values: object) -> None:
        with self.condition:
            if self.error is not None:
                raise RuntimeError("the outbox marks could not be written") from self.error
            self.submitted += 1
            ticket = self.submitted
            self.waiting.append((ticket, statement, values))
            self.condition.notify_all()
            while self.committed < ticket and self.error is None:
                self.condition.wait()
            if self.committed < ticket:
                raise RuntimeError("the outbox marks could not be written") from self.error

    def _write(self) -> None:
        with self.engine.connect() as connection:
            while True:
                with self.condition:
                    while not self.waiting and not self.closing:
                        self.condition.wait()
                    if not self.waiting:
                        return
                    batch, self.waiting = self.waiting, []
                try:
                    with connection.begin():
                        if connection.dialect.name == "postgresql":
                            # Committed before the next send without waiting for the disk: a database crash could
                            # lose the last marks (those rows would be sent again, same Message-ID), a sender's not.
                            connection.execute(text("SET LOCAL synchronous_commit = off"))
                        sent = [values for _, chosen, values in batch if chosen is _SENT]
                        if sent:
                            ids = [values["row_id"] for values in sent]
                            connection.execute(_SENT, {"row_ids": ids, "at": sent[-1]["at"]})
                        for statement in (_FAILED, _RETRY):
                            rows = [values for _, chosen, values in batch if chosen is statement]
                            if rows:
                                connection.execute(statement, rows)
                except BaseException as error:
                    with self.condition:
                        self.error = error
                        self.condition.notify_all()
                    return
                with self.condition:
                    self.committed = batch[-1][0]
                    self.condition.notify_all()

    def sent(self, row_id: int) -> None:
        self._mark(_SENT, row_id=row_id, at=utcnow())

    def failed(self, row_id: int, error: str) -> None:
        """Given up on: the server refused this recipient for good (a 5xx)."""
        self._mark(_FAILED, row_id=row_id, error=error[:2000])

    def retry(self, row_id: int, error: str, next_attempt_at: datetime | None = None) -> None:
        """Not sent, for a reason that may pass: back to pending, not tried again before ``next_attempt_at``."""
        self._mark(_RETRY, row_id=row_id, error=error[:2000], next_at=next_attempt_at, at=utcnow())

    def close(self) -> None:
        with self.condition:
            self.closing = True
            self.condition.notify_all()
        self.writer.join()


@contextmanager
def outbox_marks(engine: Engine) -> Iterator[OutboxMarks]:
    marks = OutboxMarks(engine)
    try:
        yield marks
    finally:
        marks.close()
