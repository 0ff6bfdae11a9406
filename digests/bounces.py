"""Reading what mail systems send back: DSNs (RFC 3464), complaint reports (ARF, RFC 5965) and plain bounces.

A message comes from the bounce listener or the bounce mailbox with the addresses it was delivered to; the VERP
one among them names the outbox row. Each recipient's status in a DSN decides its kind: 5.x.x is hard, 4.x.x
(or an Action of "delayed") soft. A bounce that is no DSN is believed only through its VERP address.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser, HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr

from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.digests.verp import read_verp
from signpost.store.suppressions import BounceReport, Recorded, record_bounce

log = logging.getLogger(__name__)
STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
COMPLAINT_TYPES = {"abuse", "fraud", "virus", "other"}
# Where a mailbox's copy of a bounce keeps the address it was sent to.
DELIVERY_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
BOUNCE_SENDER = re.compile(r"mailer-daemon|postmaster|mail delivery", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(r"undeliver|undelivered|delivery (status|failure)|returned mail|failure notice", re.I)
AUTO_REPLY = re.compile(r"out of (the )?office|automatic reply|auto.?reply|vacation", re.IGNORECASE)


def _text(value: object) -> str:
    return " ".join(str(value or "").split())


def _address(field: object) -> str | None:
    """The address of an RFC 3464 address field ("rfc822; someone@example.org") or a plain one."""
    value = _text(field)
    if ";" in value:
        value = value.split(";", 1)[1]
    address = parseaddr(value)[1].strip()
    return address.lower() or None


def _kind(status: str, action: str = "failed") -> str | None:
    if action in ("delivered", "relayed", "expanded"):
        return None
    if status.startswith("5"):
        return "hard"
    if status.startswith("4") or action == "delayed":
        return "soft"
    return "hard" if action == "failed" else None


def _original_headers(report: Message) -> Message | None:
    """The headers of the message a report is about (message/rfc822 or text/rfc822-headers part)."""
    for part in report.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global") and part.is_multipart():
            return part.get_payload(0)
        if content_type in ("text/rfc822-headers", "text/global-headers"):
            payload = part.get_payload(decode=True) or b""
            return BytesHeaderParser(policy=compat32).parsebytes(payload)
    return None


def _fields_of(part: Message) -> list[Message]:
    """The field blocks of a message/delivery-status or message/feedback-report part."""
    if part.is_multipart():
        return [block for block in part.get_payload() if isinstance(block, Message)]
    text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    return [HeaderParser(policy=compat32).parsestr(block) for block in re.split(r"\r?\n\r?\n", text) if block.strip()]


def _dsn_reports(message: Message, source: str, outbox_id: int | None) -> list[BounceReport]:
    original = _original_headers(message)
    message_id = _text(original.get("Message-ID")) if original is not None else None
    reports = []
    for part in message.walk():
        if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
            continue
        for block in _fields_of(part)[1:] or _fields_of(part):
            recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
            if recipient is None:
                continue
            status = _text(block.get("Status"))
            kind = _kind(status, _text(block.get("Action")).lower())
            if kind is None:
                continue
            detail = _text(block.get("Diagnostic-Code")) or status
            reports.append(BounceReport(kind, source, status, detail, outbox_id, message_id or None, recipient))
    return reports


def _arf_reports(message: Message, source: str, outbox_id: int | None, secret: str, domain: str) -> list[BounceReport]:
    original = _original_headers(message)
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = _fields_of(part)
        if not fields:
            return []
        report = fields[0]
        feedback_type = _text(report.get("Feedback-Type")).lower()
        if feedback_type not in COMPLAINT_TYPES:
            return []
        # A feedback loop writes to its own address, not the Return-Path: the report names the VERP sender.
        mail_from = _address(report.get("Original-Mail-From"))
        if outbox_id is None and mail_from:
            outbox_id = read_verp(secret, domain, mail_from)
        message_id = _text(original.get("Message-ID")) if original is not None else ""
        recipient = _address(report.get("Original-Rcpt-To"))
        if recipient is None and original is not None:
            recipient = _address(original.get("To"))
        detail = f"{feedback_type} report from {_text(report.get('User-Agent')) or 'a feedback loop'}"
        return [BounceReport("complaint", source, "", detail, outbox_id, message_id or None, recipient)]
    return []


def _plain_bounce(message: Message, source: str, outbox_id: int) -> list[BounceReport]:
    """A bounce in prose (no DSN): its VERP address names the row; the first status code in it, its kind."""
    subject = _text(message.get("Subject"))
    if _text(message.get("Auto-Submitted")).lower() == "auto-replied" and AUTO_REPLY.search(subject):
        return []
    text = []
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text.append((part.get_payload(decode=True) or b"").decode("utf-8", "replace"))
    body = "\n".join(text)[:20000]
    found = STATUS.search(body)
    looks_like_bounce = BOUNCE_SENDER.search(_text(message.get("From"))) or BOUNCE_SUBJECT.search(subject)
    if found is None and not looks_like_bounce:
        return []
    status = found.group(0) if found else ""
    line = next((line for line in body.splitlines() if status and status in line), "") or subject
    return [BounceReport("soft" if status.startswith("4") else "hard", source, status, _text(line)[:500], outbox_id)]


def read_reports(raw: bytes, recipients: Iterable[str], settings: Settings, source: str) -> list[BounceReport]:
    """Every recipient's bounce or complaint in a message delivered to ``recipients``; [] when it is neither."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    domain = settings.bounce_domain
    message = message_from_bytes(raw, policy=compat32)
    addresses = list(recipients) + [
        address for header in DELIVERY_HEADERS for _, address in getaddresses(message.get_all(header, []))
    ]
    outbox_id = next((found for found in (read_verp(secret, domain, a) for a in addresses) if found), None)
    if message.get_content_type() == "multipart/report":
        report_type = (message.get_param("report-type") or "").lower()
        if report_type == "delivery-status":
            return _dsn_reports(message, source, outbox_id)
        if report_type == "feedback-report":
            return _arf_reports(message, source, outbox_id, secret, domain)
    if outbox_id is None:
        return []
    return _plain_bounce(message, source, outbox_id)


def take_message(
    engine: Engine, settings: Settings, raw: bytes, recipients: Iterable[str], source: str
) -> list[Recorded]:
    """Read a returned message and record what it reports; what matches nobody is logged and dropped."""
    recorded = []
    for report in read_reports(raw, recipients, settings, source):
        outcome = record_bounce(engine, report, settings.soft_bounce_limit)
        if outcome.member_id is None:
            log.info("a %s bounce (%s) matched no member: %s", report.kind, source, report.detail[:200])
        recorded.append(outcome)
    return recorded
