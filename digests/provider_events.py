"""Bounce and complaint webhooks of sending providers, authenticated and read into bounce reports.

Amazon SES through SNS (the message signed with a certificate from an AWS URL, checked here), Postmark (basic
auth in the webhook URL), SendGrid (Signed Event Webhook, ECDSA) and Mailgun (HMAC of timestamp and token).
Each reads the provider's published format; a request that fails its check raises ``Refused``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from signpost.config.settings import Settings
from signpost.store.suppressions import BounceReport

# Signed webhooks older than this are refused: a captured request cannot be replayed later.
MAX_AGE_SECONDS = 15 * 60
SNS_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


class Refused(ValueError):
    """The request is not from the provider (bad or missing signature, wrong topic, stale) or not readable."""


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise Refused(f"the body is not JSON: {error}") from error


def _kind_of_status(status: str, default: str = "hard") -> str:
    return "soft" if status.startswith("4") else "hard" if status.startswith("5") else default


# Amazon SES through SNS.

# GET a URL (one already matched against the AWS pattern) and return its body; ValueError when it cannot.
Fetcher = Callable[[str], bytes]


def sns_string_to_sign(message: dict) -> bytes:
    fields = SNS_SIGNED_FIELDS.get(message.get("Type", ""))
    if fields is None:
        raise Refused(f"unknown SNS message type {message.get('Type')!r}")
    lines = []
    for name in fields:
        if name in message and message[name] is not None:
            lines += [name, str(message[name])]
        elif name != "Subject":
            raise Refused(f"the SNS message has no {name}")
    return ("\n".join(lines) + "\n").encode()


def verify_sns(message: dict, settings: Settings, fetch: Fetcher) -> None:
    """Check an SNS message's signature against its certificate, whose URL must be AWS's (the setting's pattern)."""
    url = str(message.get("SigningCertURL") or message.get("SigningCertUrl") or "")
    if not re.match(settings.sns_url_pattern, url) or not url.split("?", 1)[0].endswith(".pem"):
        raise Refused(f"the signing certificate URL {url[:200]!r} is not Amazon SNS's")
    allowed = {arn.strip() for arn in settings.sns_topic_arns.split(",") if arn.strip()}
    if allowed and message.get("TopicArn") not in allowed:
        raise Refused(f"notifications of topic {message.get('TopicArn')!r} are not taken")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise Refused(f"unknown SNS signature version {message.get('SignatureVersion')!r}")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        certificate = x509.load_pem_x509_certificate(fetch(url))
    except (binascii.Error, ValueError) as error:
        raise Refused(f"unreadable signature or certificate: {error}") from error
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise Refused("the signing certificate has no RSA key")
    try:
        public_key.verify(signature, sns_string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature as error:
        raise Refused("the SNS signature does not match") from error


def ses_reports(notification: dict) -> list[BounceReport]:
    """Reports in an SES notification (the Message of an SNS notification): Bounce or Complaint."""
    kind = notification.get("notificationType") or notification.get("eventType")
    mail = notification.get("mail") or {}
    message_id = (mail.get("commonHeaders") or {}).get("messageId")
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        hard = bounce.get("bounceType") == "Permanent"
        return [
            BounceReport(
                "hard" if hard else "soft",
                "ses",
                str(recipient.get("status") or ""),
                str(recipient.get("diagnosticCode") or f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"),
                message_id=message_id,
                email=recipient.get("emailAddress"),
            )
            for recipient in bounce.get("bouncedRecipients") or []
        ]
    if kind == "Complaint":
        complaint = notification.get("complaint") or {}
        detail = f"complaint ({complaint.get('complaintFeedbackType') or 'unspecified'}) via SES"
        return [
            BounceReport("complaint", "ses", "", detail, message_id=message_id, email=recipient.get("emailAddress"))
            for recipient in complaint.get("complainedRecipients") or []
        ]
    return []


def read_sns(body: bytes, settings: Settings, fetch: Fetcher) -> tuple[str, dict]:
    """A verified SNS message: (its type, the message)."""
    message = _json(body)
    if not isinstance(message, dict):
        raise Refused("an SNS message is a JSON object")
    verify_sns(message, settings, fetch)
    return message["Type"], message


def confirm_subscription(message: dict, settings: Settings, fetch: Fetcher) -> None:
    """Visit a verified SubscriptionConfirmation's SubscribeURL, which must be AWS's too."""
    url = str(message.get("SubscribeURL") or "")
    if not re.match(settings.sns_url_pattern, url):
        raise Refused(f"the SubscribeURL {url[:200]!r} is not Amazon SNS's")
    try:
        fetch(url)
    except ValueError as error:
        raise Refused(f"the subscription could not be confirmed: {error}") from error


# Postmark.

POSTMARK_HARD = {"HardBounce", "BadEmailAddress"}
POSTMARK_SOFT = {"Transient", "SoftBounce", "DnsError", "SpamNotification", "Blocked", "DMARCPolicy", "Undeliverable"}


def check_basic_auth(authorization: str | None, password: str) -> None:
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        _user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        given = ""
    if scheme.lower() != "basic" or not hmac.compare_digest(given.encode(), password.encode()):
        raise Refused("wrong or missing credentials")


def postmark_reports(body: bytes) -> list[BounceReport]:
    record = _json(body)
    if not isinstance(record, dict):
        raise Refused("a Postmark webhook is a JSON object")
    record_type, bounce_type = record.get("RecordType"), record.get("Type")
    detail = str(record.get("Details") or record.get("Description") or bounce_type or "")
    email = record.get("Email")
    if record_type == "SpamComplaint" or bounce_type == "SpamComplaint":
        return [BounceReport("complaint", "postmark", "", detail or "spam complaint", email=email)]
    if record_type != "Bounce":
        return []
    kind = "hard" if bounce_type in POSTMARK_HARD else "soft" if bounce_type in POSTMARK_SOFT else None
    return [BounceReport(kind, "postmark", "", f"{bounce_type}: {detail}", email=email)] if kind else []


# SendGrid.


def verify_sendgrid(body: bytes, signature: str | None, timestamp: str | None, public_key: str) -> None:
    if not signature or not timestamp or not timestamp.isdigit():
        raise Refused("no SendGrid signature")
    if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        raise Refused("the SendGrid signature is stale")
    try:
        key = serialization.load_der_public_key(base64.b64decode(public_key))
        decoded = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as error:
        raise Refused(f"unreadable SendGrid key or signature: {error}") from error
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Refused("the SendGrid verification key is not an elliptic-curve key")
    try:
        key.verify(decoded, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as error:
        raise Refused("the SendGrid signature does not match") from error


def sendgrid_reports(body: bytes) -> list[BounceReport]:
    events = _json(body)
    if not isinstance(events, list):
        raise Refused("a SendGrid event webhook is a JSON array")
    reports = []
    for event in events:
        if not isinstance(event, dict):
            continue
        name, status = event.get("event"), str(event.get("status") or "")
        detail = str(event.get("reason") or event.get("response") or name or "")
        common = {"message_id": event.get("smtp-id"), "email": event.get("email")}
        if name == "bounce":
            kind = "soft" if event.get("type") == "blocked" else _kind_of_status(status)
            reports.append(BounceReport(kind, "sendgrid", status, detail, **common))
        elif name == "deferred":
            reports.append(BounceReport("soft", "sendgrid", status, detail, **common))
        elif name == "spamreport":
            reports.append(BounceReport("complaint", "sendgrid", "", "spam report via SendGrid", **common))
    return reports


# Mailgun.


def mailgun_reports(body: bytes, signing_key: str) -> list[BounceReport]:
    payload = _json(body)
    if not isinstance(payload, dict):
        raise Refused("a Mailgun webhook is a JSON object")
    signed = payload.get("signature") or {}
    timestamp, token = str(signed.get("timestamp", "")), str(signed.get("token", ""))
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not timestamp.isdigit() or not hmac.compare_digest(expected, str(signed.get("signature", ""))):
        raise Refused("the Mailgun signature does not match")
    if abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
        raise Refused("the Mailgun signature is stale")
    event = payload.get("event-data") or {}
    headers = (event.get("message") or {}).get("headers") or {}
    common = {"message_id": headers.get("message-id"), "email": event.get("recipient")}
    if event.get("event") == "complained":
        return [BounceReport("complaint", "mailgun", "", "complaint via Mailgun", **common)]
    if event.get("event") != "failed":
        return []
    status = event.get("delivery-status") or {}
    code = str(status.get("enhanced-code") or status.get("code") or "")
    detail = str(status.get("description") or status.get("message") or event.get("reason") or "")
    kind = "hard" if event.get("severity") == "permanent" else "soft"
    return [BounceReport(kind, "mailgun", code, f"{code} {detail}".strip(), **common)]
