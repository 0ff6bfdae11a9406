"""Returned mail as other mail systems write it: an RFC 3464 DSN, an RFC 5965 ARF report, a prose bounce, an
out-of-office reply. Built to the RFCs' own examples, for the mailbox and parsing tests."""

from __future__ import annotations


def dsn(to: str, recipient: str, status: str, diagnostic: str, message_id: str, action: str = "failed") -> bytes:
    """A DSN as Exchange-like servers send one: the notice, the delivery-status, the returned headers."""
    return f"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>
To: {to}
Delivered-To: {to}
Subject: Delivery Status Notification (Failure)
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"

--dsn-boundary
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to {recipient}.

--dsn-boundary
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Mon, 2 Mar 2026 07:00:01 +0000

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mailstore.example.net
Diagnostic-Code: smtp; {diagnostic}

--dsn-boundary
Content-Type: text/rfc822-headers

From: Volunteer network <digest@signpost.test>
To: {recipient}
Subject: Volunteer network: Week of 2 March 2026
Message-ID: {message_id}

--dsn-boundary--
""".replace("\n", "\r\n").encode()


def arf(to: str, mail_from: str, recipient: str, message_id: str, feedback_type: str = "abuse") -> bytes:
    """A complaint (a member pressed "report spam") from a feedback loop, per RFC 5965's example."""
    return f"""\
From: <staff@fbl.example.net>
To: {to}
Subject: FW: Volunteer network: Week of 2 March 2026
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf-boundary"

--arf-boundary
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP 192.0.2.1.

--arf-boundary
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <{mail_from}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: Mon, 2 Mar 2026 07:00:01 +0000
Reported-Domain: signpost.test

--arf-boundary
Content-Type: text/rfc822-headers

From: Volunteer network <digest@signpost.test>
To: {recipient}
Message-ID: {message_id}

--arf-boundary--
""".replace("\n", "\r\n").encode()


def prose_bounce(to: str, recipient: str, line: str) -> bytes:
    """A bounce in plain words, as qmail and some gateways still write them: no DSN, only the VERP address."""
    return f"""\
From: MAILER-DAEMON@gateway.example.net
To: {to}
Delivered-To: {to}
Subject: failure notice

Hi. This is the qmail-send program at gateway.example.net.
I'm afraid I wasn't able to deliver your message to the following addresses.

<{recipient}>:
{line}
""".replace("\n", "\r\n").encode()


def out_of_office(to: str) -> bytes:
    return f"""\
From: Someone <someone@example.net>
To: {to}
Delivered-To: {to}
Subject: Automatic reply: Volunteer network
Auto-Submitted: auto-replied

I am out of the office until Monday; 5.1.1 is my room number.
""".replace("\n", "\r\n").encode()
