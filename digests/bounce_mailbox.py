"""Polling a mailbox of bounces over IMAP (TLS from the start): for a bounce domain whose mail lands in a mailbox.

Each message is read, recorded, then deleted; one that cannot be recorded stays for the next poll, so a store
outage loses nothing. Everything in the folder is taken for a bounce or a complaint: give Signpost a folder of
its own (the bounce domain's catch-all, or a feedback loop's address).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from dataclasses import dataclass

from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.digests.bounces import take_message

log = logging.getLogger(__name__)
MAX_MESSAGES_PER_POLL = 500


@dataclass
class MailboxReport:
    messages: int = 0
    reports: int = 0
    suppressed: int = 0
    kept: int = 0  # could not be recorded: left for the next poll


def _tls_context(settings: Settings) -> ssl.SSLContext:
    # A private CA (a self-hosted mail server) replaces the system's; the name is checked either way.
    return ssl.create_default_context(cafile=settings.bounce_imap_ca_file or None)


def poll_mailbox(engine: Engine, settings: Settings) -> MailboxReport:
    """Read every message in the bounce folder once, record what it reports, and delete what was recorded."""
    if not settings.bounce_imap_host:
        raise ValueError("no bounce mailbox: set SIGNPOST_BOUNCE_IMAP_HOST (and its username and password)")
    password = settings.bounce_imap_password.get_secret_value() if settings.bounce_imap_password else ""
    report = MailboxReport()
    with imaplib.IMAP4_SSL(
        settings.bounce_imap_host, settings.bounce_imap_port, ssl_context=_tls_context(settings), timeout=60
    ) as imap:
        imap.login(settings.bounce_imap_username, password)
        status, _ = imap.select(_quoted(settings.bounce_imap_folder))
        if status != "OK":
            raise ValueError(f"the bounce mailbox has no folder {settings.bounce_imap_folder!r}")
        _, found = imap.uid("SEARCH", None, "ALL")
        uids = (found[0] or b"").split()[:MAX_MESSAGES_PER_POLL]
        for uid in uids:
            status, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in fetched if isinstance(part, tuple)), None)
            if status != "OK" or raw is None:
                continue
            report.messages += 1
            try:
                recorded = take_message(engine, settings, raw, [], "imap")
            except Exception:
                log.exception("could not record bounce message %s; it stays in the mailbox", uid.decode())
                report.kept += 1
                continue
            report.reports += len(recorded)
            report.suppressed += sum(outcome.suppressed for outcome in recorded)
            imap.uid("STORE", uid, "+FLAGS", "(\\Deleted)")
        imap.expunge()
        imap.close()
    return report


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
