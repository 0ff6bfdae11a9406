"""Providers' bounce and complaint webhooks, built to their published formats and signed their ways (SNS with a
test certificate served on loopback), and the admin's suppression list and delivery pages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from mailservers import make_certificates
from pydantic import SecretStr
from test_web_support import HOSTILE_TITLE as HOSTILE
from test_web_support import make_client, markup_problems, post, sign_in, web_settings

from signpost.cli.running import web_hooks
from signpost.digests.delivery import queue_digest, send_digest
from signpost.store.digests import approve_digest
from signpost.store.members import add_member, confirm_membership, join_community, membership_status
from signpost.store.outbox import outbox_rows
from signpost.store.suppressions import delivery_state, list_suppressions

pytest_plugins = ["test_web_support"]
MEMBERS = ["ses-gone", "ses-angry", "pm-gone", "sg-gone", "sg-angry", "mg-full", "fine"]
TOPIC_ARN = "arn:aws:sns:eu-west-2:123456789012:signpost-ses"


class CertificateServer(BaseHTTPRequestHandler):
    """Loopback stand-in for sns.<region>.amazonaws.com: the signing certificate, and the subscribe link."""

    pem = b""
    subscribed = 0

    def do_GET(self):
        if self.path.startswith("/SimpleNotificationService-test.pem"):
            body = self.pem
        elif self.path.startswith("/?Action=ConfirmSubscription"):
            type(self).subscribed += 1
            body = b"<ConfirmSubscriptionResponse/>"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def sns_host(tmp_path):
    _, cert_file, _, key = make_certificates(tmp_path / "sns", "sns.eu-west-2.amazonaws.com")
    CertificateServer.pem, CertificateServer.subscribed = cert_file.read_bytes(), 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), CertificateServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", key
    server.shutdown()


def sns_message(base: str, key, kind: str, version: str = "2", **fields: str) -> dict:
    """An SNS HTTP(S) message signed as SNS signs them (SignatureVersion 1 SHA1withRSA, 2 SHA256withRSA, over the
    field list)."""
    message = {
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC_ARN,
        "Timestamp": "2026-03-02T07:00:05.000Z",
        "SignatureVersion": version,
        "SigningCertURL": f"{base}/SimpleNotificationService-test.pem",
        **fields,
    }
    names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    if kind != "Notification":
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    signed = "".join(f"{name}\n{message[name]}\n" for name in names if name in message).encode()
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(key.sign(signed, padding.PKCS1v15(), algorithm)).decode()
    return message


def ses_bounce(message_id: str, email: str) -> str:
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": email,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": "2026-03-02T07:00:04.000Z",
                "feedbackId": "0100017e-bounce",
            },
            "mail": {
                "messageId": "0100017e-ses-id",
                "source": "digest@signpost.test",
                "commonHeaders": {"messageId": message_id},
            },
        }
    )


def ses_complaint(message_id: str, email: str) -> str:
    return json.dumps(
        {
            "notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": email}], "complaintFeedbackType": "abuse"},
            "mail": {"messageId": "0100017e-ses-id2", "commonHeaders": {"messageId": message_id}},
        }
    )


@pytest.fixture
def mail_app(settings, inbox, seeded, sns_host):
    """The web app with every provider's webhook on, and a sent digest to the members above."""
    base, _ = sns_host
    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    public = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app_settings = web_settings(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
        bounce_domain="bounces.signpost.test",
        sns_url_pattern=rf"^{base}/",
        sns_topic_arns=TOPIC_ARN,
        postmark_webhook_password=SecretStr("postmark-secret"),
        sendgrid_webhook_public_key=base64.b64encode(public).decode(),
        mailgun_webhook_signing_key=SecretStr("mailgun-key"),
    )
    members = {}
    for name in MEMBERS:
        members[name] = add_member(seeded.engine, f"{name}@example.net")
        join_community(seeded.engine, members[name], seeded.vol.id, [seeded.recruitment])
        confirm_membership(seeded.engine, members[name], seeded.vol.id)
        join_community(seeded.engine, members[name], seeded.care.id, [seeded.homes])
        confirm_membership(seeded.engine, members[name], seeded.care.id)
    approve_digest(seeded.engine, seeded.vol_digest, "sam@example.org")
    queue_digest(seeded.engine, app_settings, seeded.vol_digest)
    assert send_digest(seeded.engine, app_settings, seeded.vol_digest).sent == len(MEMBERS)
    rows = {row["email"].split("@")[0]: row for row in outbox_rows(seeded.engine, seeded.vol_digest)}
    # The hooks `signpost web` and `serve` pass: the SNS certificate comes through spiders' one fetch.
    with make_client(app_settings, hooks=web_hooks()) as client:
        yield client, rows, members, sendgrid_key, sns_host


def states(seeded) -> dict[str, str]:
    return {row["email"].split("@")[0]: delivery_state(row) for row in outbox_rows(seeded.engine, seeded.vol_digest)}


def test_ses_through_sns_is_verified_and_a_forged_message_refused(mail_app, seeded):
    client, rows, members, _, (base, key) = mail_app
    subscribe = sns_message(
        base,
        key,
        "SubscriptionConfirmation",
        Message="You have chosen to subscribe",
        Token="tok",
        SubscribeURL=f"{base}/?Action=ConfirmSubscription&TopicArn={TOPIC_ARN}&Token=tok",
    )
    assert client.post("/mail/events/ses", content=json.dumps(subscribe)).status_code == 200
    assert CertificateServer.subscribed == 1
    bounce = sns_message(
        base, key, "Notification", Message=ses_bounce(rows["ses-gone"]["message_id"], "ses-gone@example.net")
    )
    forged = dict(bounce, Message=ses_bounce(rows["fine"]["message_id"], "fine@example.net"))
    assert client.post("/mail/events/ses", content=json.dumps(forged)).status_code == 403
    assert client.post("/mail/events/ses", content=json.dumps(bounce)).status_code == 200
    other_topic = sns_message(base, key, "Notification", Message="{}", TopicArn="arn:aws:sns:eu-west-2:9:other")
    assert client.post("/mail/events/ses", content=json.dumps(other_topic)).status_code == 403
    complaint = sns_message(
        base,
        key,
        "Notification",
        version="1",
        Message=ses_complaint(rows["ses-angry"]["message_id"], "ses-angry@example.net"),
    )
    assert client.post("/mail/events/ses", content=json.dumps(complaint)).status_code == 200
    assert {(s.email, s.reason, s.source) for s in list_suppressions(seeded.engine)} == {
        ("ses-gone@example.net", "hard", "ses"),
        ("ses-angry@example.net", "complaint", "ses"),
    }
    assert membership_status(seeded.engine, members["ses-angry"], seeded.care.id) == "unsubscribed"
    assert states(seeded)["fine"] == "sent"


def test_the_production_pattern_takes_only_https_certificates_of_amazon(mail_app, seeded, app_settings):
    from signpost.digests.provider_events import Refused, verify_sns

    _, _, _, _, (base, key) = mail_app
    message = sns_message(base, key, "Notification", Message="{}")

    def never(url: str) -> bytes:
        raise AssertionError(f"{url} was fetched")

    with pytest.raises(Refused, match="not Amazon SNS's"):
        verify_sns(message, app_settings, never)  # the default pattern: https://sns.<region>.amazonaws.com/ only
    for url in ("http://sns.eu-west-2.amazonaws.com/x.pem", "https://sns.eu-west-2.amazonaws.com.evil.example/x.pem"):
        with pytest.raises(Refused, match="not Amazon SNS's"):
            verify_sns(dict(message, SigningCertURL=url), app_settings, never)


def test_postmark_sendgrid_and_mailgun_webhooks_check_their_signatures(mail_app, seeded):
    client, rows, _, sendgrid_key, _ = mail_app
    postmark = json.dumps(
        {
            "RecordType": "Bounce",
            "ID": 4323372036,
            "Type": "HardBounce",
            "TypeCode": 1,
            "Name": "Hard bounce",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Description": "The server was unable to deliver",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
            "Email": "pm-gone@example.net",
            "From": "digest@signpost.test",
            "BouncedAt": "2026-03-02T07:00:05Z",
            "Inactive": True,
            "CanActivate": True,
            "MessageStream": "outbound",
        }
    )
    wrong = base64.b64encode(b"postmark:guess").decode()
    assert (
        client.post("/mail/events/postmark", content=postmark, headers={"Authorization": f"Basic {wrong}"}).status_code
        == 403
    )
    right = base64.b64encode(b"postmark:postmark-secret").decode()
    assert (
        client.post("/mail/events/postmark", content=postmark, headers={"Authorization": f"Basic {right}"}).status_code
        == 200
    )

    events = json.dumps(
        [
            {
                "email": "sg-gone@example.net",
                "timestamp": 1772434805,
                "smtp-id": rows["sg-gone"]["message_id"],
                "event": "bounce",
                "type": "bounce",
                "status": "5.1.1",
                "reason": "550 5.1.1 unknown user",
                "sg_event_id": "ZGVsaXZlcmVk",
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            },
            {"email": "sg-angry@example.net", "timestamp": 1772434806, "event": "spamreport", "sg_event_id": "c3BhbQ"},
        ]
    ).encode()
    stamp = str(int(time.time()))
    signature = base64.b64encode(sendgrid_key.sign(stamp.encode() + events, ec.ECDSA(hashes.SHA256()))).decode()
    signed = {"X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": stamp}
    tampered = events.replace(b"sg-gone", b"fine\x00"[:4])
    assert client.post("/mail/events/sendgrid", content=tampered, headers=signed).status_code == 403
    assert client.post("/mail/events/sendgrid", content=events).status_code == 403
    assert client.post("/mail/events/sendgrid", content=events, headers=signed).status_code == 200

    stamp = str(int(time.time()))
    token = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
    mailgun = {
        "signature": {
            "timestamp": stamp,
            "token": token,
            "signature": hmac.new(b"mailgun-key", (stamp + token).encode(), hashlib.sha256).hexdigest(),
        },
        "event-data": {
            "event": "failed",
            "severity": "temporary",
            "reason": "generic",
            "recipient": "mg-full@example.net",
            "message": {"headers": {"message-id": rows["mg-full"]["message_id"].strip("<>")}},
            "delivery-status": {"code": 452, "message": "4.2.2 mailbox full", "description": ""},
        },
    }
    forged = json.loads(json.dumps(mailgun))
    forged["signature"]["signature"] = "0" * 64
    assert client.post("/mail/events/mailgun", content=json.dumps(forged)).status_code == 403
    assert client.post("/mail/events/mailgun", content=json.dumps(mailgun)).status_code == 200

    found = {(s.email, s.reason, s.source) for s in list_suppressions(seeded.engine)}
    assert found == {
        ("pm-gone@example.net", "hard", "postmark"),
        ("sg-gone@example.net", "hard", "sendgrid"),
        ("sg-angry@example.net", "complaint", "sendgrid"),
    }
    assert states(seeded) == {
        "ses-gone": "sent",
        "ses-angry": "sent",
        "pm-gone": "bounced",
        "sg-gone": "bounced",
        "sg-angry": "complained",
        "mg-full": "soft-bounced",
        "fine": "sent",
    }


def test_a_webhook_whose_secret_is_unset_is_not_there(client):
    for provider in ("postmark", "sendgrid", "mailgun"):
        assert client.post(f"/mail/events/{provider}", content=b"{}").status_code == 404
    # SES needs the app's fetch (to get the signing certificate): an app started without it says so.
    assert client.post("/mail/events/ses", content=b"{}").status_code == 503


def test_the_admin_sees_why_each_address_is_suppressed_lifts_one_and_sees_every_rows_state(mail_app, seeded):
    client, _, members, _, _ = mail_app
    right = base64.b64encode(b"postmark:postmark-secret").decode()
    hostile = {"RecordType": "Bounce", "Type": "HardBounce", "Email": "sg-gone@example.net", "Details": HOSTILE}
    headers = {"Authorization": f"Basic {right}"}
    assert client.post("/mail/events/postmark", content=json.dumps(hostile), headers=headers).status_code == 200
    for email, kind in (("pm-gone@example.net", "HardBounce"), ("fine@example.net", "SpamComplaint")):
        body = json.dumps(
            {
                "RecordType": "Bounce" if kind != "SpamComplaint" else "SpamComplaint",
                "Type": kind,
                "Email": email,
                "Details": f"{kind} said the server",
            }
        )
        assert (
            client.post("/mail/events/postmark", content=body, headers={"Authorization": f"Basic {right}"}).status_code
            == 200
        )
    assert client.get("/admin/mail", follow_redirects=False).status_code == 303  # admins only
    sign_in(client, "admin@example.org")
    page = client.get("/admin/mail").text
    assert "pm-gone@example.net" in page and "hard bounce" in page and "HardBounce: HardBounce said the server" in page
    assert "fine@example.net" in page and "complaint" in page
    # The server's words are whatever a remote server wrote: shown as text, never as markup.
    assert markup_problems(page) == [] and "&lt;script&gt;" in page
    outbox = client.get(f"/admin/mail/digests/{seeded.vol_digest}").text
    assert "bounced</a>: 2" in outbox and "complained</a>: 1" in outbox and "sent</a>: 4" in outbox
    assert client.get(f"/admin/mail/digests/{seeded.vol_digest}?state=bounced").text.count("<tr><td>") == 2
    # The dashboard's last digest counts them the same way: delivered, and what came back.
    dashboard = client.get("/admin/dashboard/vol").text
    assert "<strong>4</strong> delivered" in dashboard and "<strong>2</strong> bounced" in dashboard
    assert "<strong>1</strong> complained" in dashboard
    assert post(client, f"/admin/mail/suppressions/{members['pm-gone']}/lift").status_code == 303
    assert sorted(s.email for s in list_suppressions(seeded.engine)) == ["fine@example.net", "sg-gone@example.net"]
    assert "pm-gone@example.net" not in client.get("/admin/mail").text


def test_a_suppressed_member_who_subscribes_again_confirms_and_is_mailed_again(mail_app, seeded, inbox):
    client, _, members, _, _ = mail_app
    right = base64.b64encode(b"postmark:postmark-secret").decode()
    body = json.dumps({"RecordType": "Bounce", "Type": "HardBounce", "Email": "pm-gone@example.net", "Details": "550"})
    client.post("/mail/events/postmark", content=body, headers={"Authorization": f"Basic {right}"})
    assert [s.email for s in list_suppressions(seeded.engine)] == ["pm-gone@example.net"]
    # Still a confirmed member of vol: signing up again sends a fresh confirmation, not "you already follow".
    post(client, "/c/vol/subscribe", {"email": "pm-gone@example.net", "topic": [str(seeded.wellbeing)]})
    (link,) = inbox.links(r"http://testserver(/confirm/\S+)")
    assert list_suppressions(seeded.engine) != []
    assert post(client, link).status_code == 200
    assert list_suppressions(seeded.engine) == []
    assert membership_status(seeded.engine, members["pm-gone"], seeded.vol.id) == "confirmed"
