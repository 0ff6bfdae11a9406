"""The SMTP side of delivery: connecting as the settings say, checking the server answers, and reading its refusals.

A refusal is permanent only when the server says so (5xx) about one recipient (at RCPT TO, or after DATA for a
message to that recipient alone). Everything else, a server that cannot be reached, a timeout, a 4xx, a refused
login or sender, is trouble that passes or that an admin fixes: the row waits and is tried again, however long
it takes.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass

from signpost.config.settings import Settings


def open_smtp(settings: Settings) -> smtplib.SMTP:
    """A connection greeted with EHLO (and logged in where a login is set), as the settings describe it."""
    context = ssl.create_default_context()
    if settings.smtp_security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    try:
        smtp.ehlo()
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def close_smtp(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def check_smtp(settings: Settings) -> str | None:
    """None when the SMTP server answers EHLO (and accepts the login, where one is set); otherwise why not."""
    try:
        close_smtp(open_smtp(settings))
    except (smtplib.SMTPException, OSError) as error:
        return describe_smtp_error(error, settings)
    return None


def _words(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def describe_smtp_error(error: BaseException, settings: Settings) -> str:
    """What went wrong, in words a curator can act on; the server's own words when it answered."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(error.recipients.values()))
        return f"{code} {_words(answer)}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login as {settings.smtp_username}: {error.smtp_code} {_words(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_words(error.smtp_error)}"
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused by {where}"
    if isinstance(error, socket.gaierror):
        return f"cannot find {settings.smtp_host}: {error.strerror or error}"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"no answer from {where} within {settings.smtp_timeout:g} s"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection ({error or 'no reason given'})"
    if isinstance(error, ssl.SSLError):
        return f"TLS with {where} failed: {error.reason or error}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return f"{where}: {error}"
    if isinstance(error, OSError):
        return f"{where}: {error.strerror or error}"
    return f"{where}: {error}"


@dataclass(frozen=True)
class SendTrouble:
    """How a failed hand-over counts: ``permanent`` ends the row; ``server_wide`` is trouble every member would
    meet (the server is down, refuses our sender or login), so the connection is dropped and a run of them stops
    the send."""

    error: str
    permanent: bool
    server_wide: bool


def classify_send_error(error: BaseException, settings: Settings) -> SendTrouble:
    """Read an exception from ``sendmail`` of a message to one recipient."""
    words = describe_smtp_error(error, settings)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code = next(iter(error.recipients.values()))[0]
        return SendTrouble(words, permanent=code >= 500, server_wide=False)
    if isinstance(error, smtplib.SMTPDataError) and error.smtp_code != 421:
        return SendTrouble(words, permanent=error.smtp_code >= 500, server_wide=False)
    return SendTrouble(words, permanent=False, server_wide=True)
