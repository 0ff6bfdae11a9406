"""Short transactional emails (sign-in links, subscription confirmations, draft notices) over the digests SMTP."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.digests.delivery import open_smtp
from signpost.digests.render import envelope_sender
from signpost.store.communities import Community
from signpost.store.sources import list_sources
from signpost.store.users import curators_of, list_users

log = logging.getLogger(__name__)


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


def send_email(settings: Settings, to: str, subject: str, text: str) -> None:
    """Send a plain-text email now; raises MailError with the reason when it cannot be handed over."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    sender = envelope_sender(settings.mail_from)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    try:
        smtp = open_smtp(settings)
        try:
            smtp.send_message(message, from_addr=sender, to_addrs=[to])
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    except (smtplib.SMTPException, OSError) as error:
        log.warning("could not send %r to %s: %r", subject, to, error)
        raise MailError(f"the mail server did not take the message ({error})") from error


def tell_curators(engine: Engine, settings: Settings, community: Community, digest_id: int, items: int) -> list[str]:
    """Email each curator of the community a link to the new draft; returns who was told (failures are logged)."""
    link = f"{settings.public_url.rstrip('/')}/review/digests/{digest_id}"
    subject = f"{community.name}: this week's digest is ready for review"
    text = (
        f"Signpost has drafted this week's digest for {community.name}: {items} items.\n\n"
        f"Review, reorder and approve it here:\n{link}\n"
    )
    return _send_to_each(settings, curators_of(engine, community.id), subject, text)


def tell_admins_of_failing_sources(engine: Engine, settings: Settings, community: str) -> list[str]:
    """Email the admins about the community's sources that have just reached the failing threshold.

    Only the run on which a source reaches SIGNPOST_FAILING_AFTER consecutive failures sends, so a source that
    stays broken is reported once, not every week; `signpost sources list` keeps showing it.
    """
    newly_failing = [
        source
        for source in list_sources(engine, community=community, enabled_only=True, include_shared=True)
        if source.health.consecutive_failures == settings.failing_after
    ]
    if not newly_failing:
        return []
    lines = [f"- {source.name} ({source.url}): {source.health.last_error}" for source in newly_failing]
    text = (
        f"These sources of {community} have failed {settings.failing_after} crawls in a row. Signpost keeps trying "
        f"them, less and less often:\n\n" + "\n".join(lines) + f"\n\n{settings.public_url.rstrip('/')}/admin/sources\n"
    )
    admins = [user.email for user in list_users(engine) if user.is_admin]
    return _send_to_each(settings, admins, f"Signpost: {len(newly_failing)} sources failing", text)


def _send_to_each(settings: Settings, recipients: list[str], subject: str, text: str) -> list[str]:
    told = []
    for email in recipients:
        try:
            send_email(settings, email, subject, text)
            told.append(email)
        except MailError as error:
            log.warning("could not tell %s (%s): %s", email, subject, error)
    return told
