"""Sending a digest from the review pages: approve (scheduled or now), cancel, retry now, a test email, and what
the draft and review pages say of each digest's delivery.

"Approve and send now" first checks that the SMTP server answers, then hands the digest to the publishing flow
through ``WebHooks.start_publish`` (the web app may not import flows/): the send runs in its own process and the
approved digest is in the store, so a restart of the web app loses nothing, and ``publish-due`` would take it up
anyway. Items nobody has reviewed are never sent by surprise: the curator is asked first.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request

from signpost.digests.delivery import send_test_email
from signpost.digests.smtp import check_smtp
from signpost.store.communities import Community
from signpost.store.db import utcnow
from signpost.store.digests import Digest, DigestLockedError, approve_digest, cancel_approval, load_items
from signpost.store.outbox import OUTBOX_STATES, DeliverySummary, delivery_summary, follower_count, retry_waiting_now
from signpost.store.users import User
from signpost.web.pages import check_csrf, redirect, render, require_user, web
from signpost.web.review import _back, _digest, _locked

log = logging.getLogger(__name__)
router = APIRouter(prefix="/review", dependencies=[Depends(check_csrf)])
ENDED_AS = {"failed": "refused"}
ENDS = set(OUTBOX_STATES) - {"pending", "sending", "sent"}


def _clock(value: datetime, timezone: str) -> str:
    local = value.astimezone(ZoneInfo(timezone))
    today = utcnow().astimezone(ZoneInfo(timezone)).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%d %b %H:%M}"


def delivery_badge(digest: Digest, summary: DeliverySummary, timezone: str) -> str:
    """One line for a digest's badge: "sent" only when every email is sent, otherwise how far it got and why."""
    counts, total = summary.counts, summary.total
    if digest.status == "draft" or (total == 0 and digest.status == "approved"):
        return digest.status
    if summary.all_sent:
        return "sent"
    if summary.waiting:
        since = _clock(summary.waiting_since, timezone) if summary.waiting_since else "now"
        return f"sending: {counts['sent']} of {total}, {summary.waiting} waiting since {since} ({summary.last_error})"
    if counts["pending"] or counts["sending"]:
        return f"sending: {counts['sent']} of {total}"
    # Every row has ended, not all as sent: name the other ends (failed, and bounced or complained once heard of).
    ended = [f"{number} {ENDED_AS.get(state, state)}" for state, number in counts.items() if number and state in ENDS]
    return f"sent to {counts['sent']} of {total}, " + ", ".join(ended)


def badge_class(badge: str) -> str:
    return "sent" if badge == "sent" else "waiting" if badge.startswith(("sending", "sent to")) else badge


def delivery_context(request: Request, digest: Digest, community: Community) -> dict:
    """What ``_delivery_status.html`` shows on the draft page."""
    summary = delivery_summary(web(request).engine, digest.id)
    badge = delivery_badge(digest, summary, community.timezone)
    return {
        "delivery": summary,
        "delivery_badge": badge,
        "delivery_badge_class": badge_class(badge),
        "may_cancel": digest.status == "approved" and summary.tried == 0,
        "clock": lambda value: _clock(value, community.timezone),
    }


def review_badges(request: Request, digests: list[Digest], community: Community) -> dict[int, str]:
    """The badge of each listed digest, for the review home page."""
    engine = web(request).engine
    return {
        digest.id: delivery_badge(digest, delivery_summary(engine, digest.id, listed=0), community.timezone)
        for digest in digests
    }


def _start_publish(request: Request, digest_id: int) -> str:
    start = web(request).hooks.start_publish
    if start is None:
        return "it goes out with the next publishing run (`signpost serve` runs one every five minutes)"
    try:
        start(digest_id)
    except Exception as error:
        log.exception("starting the publishing flow of digest %s", digest_id)
        return f"the publishing flow did not start ({type(error).__name__}); the next publishing run sends it"
    return "the publishing flow is sending it now"


def _local_time(value: str, timezone: str) -> datetime:
    """The moment a curator typed, in UTC; ValueError when it is no date, or one too far off to show in any zone."""
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    try:
        when = when.astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"{value} is out of range") from error
    if not 1 < when.year < 9999:
        raise ValueError(f"{value} is out of range")
    return when


@router.post("/digests/{digest_id}/approve")
def approve(
    request: Request,
    digest_id: int,
    when: str = Form("schedule"),
    scheduled_for: str = Form(""),
    undecided: str = Form(""),
    user: User = Depends(require_user),
):
    digest, community = _digest(request, user, digest_id)
    context = web(request)
    if when == "now":
        scheduled = utcnow()
    else:
        try:
            scheduled = _local_time(scheduled_for, community.timezone)
        except ValueError:
            return redirect(request, _back(digest.id, "approve"), flash="Give a date and time to send it, or send now.")
    items = load_items(context.engine, digest.id)
    proposed = sum(item.state == "proposed" for item in items)
    # Sent at once, unreviewed items would reach members by surprise: ask. A schedule can still be cancelled.
    if when == "now" and digest.status == "draft" and proposed and undecided not in ("send", "drop"):
        topics = {item.topic_id for item in items if item.state in ("proposed", "approved")}
        return render(
            request,
            "approve_undecided.html",
            digest=digest,
            community=community,
            proposed=proposed,
            members=follower_count(context.engine, community.id, topics),
            when=when,
            scheduled_for=scheduled_for,
        )
    if when == "now" and digest.status == "draft":
        problem = check_smtp(context.settings)
        if problem:
            return redirect(
                request,
                _back(digest.id, "approve"),
                flash=f"Not approved: the mail server does not answer ({problem}).",
            )
    try:
        approve_digest(
            context.engine, digest.id, user.label, scheduled_for=scheduled, drop_undecided=undecided == "drop"
        )
    except DigestLockedError as error:
        return _locked(request, digest.id, error)
    if when == "now":
        return redirect(request, _back(digest.id), flash=f"Approved; {_start_publish(request, digest.id)}.")
    local = scheduled.astimezone(ZoneInfo(community.timezone))
    return redirect(request, _back(digest.id), flash=f"Approved; it will be sent from {local:%d %b %Y %H:%M %Z}.")


@router.post("/digests/{digest_id}/cancel")
def cancel(request: Request, digest_id: int, user: User = Depends(require_user)):
    digest, _ = _digest(request, user, digest_id)
    try:
        cancel_approval(web(request).engine, digest.id, user.label)
    except DigestLockedError as error:
        return _locked(request, digest.id, error)
    return redirect(request, _back(digest.id), flash="Approval cancelled: nothing was sent, and it is a draft again.")


@router.post("/digests/{digest_id}/retry")
def retry_now(request: Request, digest_id: int, user: User = Depends(require_user)):
    digest, _ = _digest(request, user, digest_id)
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only admins may retry a send.")
    problem = check_smtp(web(request).settings)
    if problem:
        return redirect(
            request, _back(digest.id, "delivery"), flash=f"Not retried: the mail server does not answer ({problem})."
        )
    waiting = retry_waiting_now(web(request).engine, digest.id)
    started = _start_publish(request, digest.id)
    return redirect(request, _back(digest.id, "delivery"), flash=f"{waiting} waiting emails are due now; {started}.")


@router.post("/digests/{digest_id}/test")
def send_test(
    request: Request, digest_id: int, topic: list[int] = Form(default=[]), user: User = Depends(require_user)
):
    digest, community = _digest(request, user, digest_id)
    chosen = frozenset(topic or [t.id for t in community.topics])
    states = ("proposed", "approved") if digest.status == "draft" else ("approved",)
    context = web(request)
    problem = send_test_email(context.engine, context.settings, digest.id, user.email, user.name, chosen, states)
    if problem:
        return redirect(request, _back(digest.id, "test"), flash=f"No test sent: {problem}.")
    return redirect(request, _back(digest.id, "test"), flash=f"A test email went to {user.email}.")
