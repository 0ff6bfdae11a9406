"""Short transactional emails (sign-in links, subscription confirmations, draft notices) over the digests SMTP."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from config.settings import Settings
from digests.delivery import open_smtp
from digests.render import envelope_sender

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
