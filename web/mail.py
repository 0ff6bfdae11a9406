"""Mail answering back: the providers' bounce and complaint webhooks, and the admin's suppression list.

The webhooks carry no CSRF token (a provider posts them); each is authenticated its provider's way instead, and
is off (404) until its secret is set. The admin pages list suppressions with their reason, date and the
server's words, lift one, and show every outbox row of a digest with its delivery state.
"""

from __future__ import annotations

import json
import logging
from functools import partial

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from signpost.digests import provider_events
from signpost.digests.provider_events import Refused
from signpost.store.communities import list_communities
from signpost.store.digests import get_digest, list_digests
from signpost.store.outbox import outbox_rows
from signpost.store.suppressions import BounceReport, delivery_state, lift_suppression, list_suppressions, record_bounce
from signpost.store.users import User
from signpost.web.fetching import fetches
from signpost.web.pages import check_csrf, redirect, render, require_admin, web

log = logging.getLogger(__name__)
events = APIRouter(prefix="/mail/events")
admin = APIRouter(prefix="/admin/mail", dependencies=[Depends(check_csrf)])
MAX_BODY_BYTES = 1024 * 1024
SHOWN_ROWS = 1000


async def _body(request: Request) -> bytes:
    if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413, detail="Too large.")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413, detail="Too large.")
    return body


def _record(request: Request, reports: list[BounceReport]) -> PlainTextResponse:
    context = web(request)
    for report in reports:
        record_bounce(context.engine, report, context.settings.soft_bounce_limit)
    return PlainTextResponse(f"recorded {len(reports)}\n")


def _refused(provider: str, error: Refused) -> HTTPException:
    log.warning("refused a %s webhook: %s", provider, error)
    return HTTPException(status_code=403, detail=f"Refused: {error}")


@events.post("/ses")
async def ses_event(request: Request):
    """Amazon SES notifications through an SNS topic's HTTPS subscription (raw message delivery off)."""
    context = web(request)
    settings = context.settings
    if context.hooks.fetch_url is None:
        raise HTTPException(status_code=503, detail="This web app was started without fetching: use signpost serve.")
    body = await _body(request)
    fetch = partial(context.hooks.fetch_url, settings)
    try:
        # The signing certificate and the subscribe link are fetches: in the app's pool for them, off request threads.
        kind, message = await fetches(request).run(provider_events.read_sns, body, settings, fetch)
        if kind == "SubscriptionConfirmation":
            await fetches(request).run(provider_events.confirm_subscription, message, settings, fetch)
            return PlainTextResponse("subscribed\n")
        if kind != "Notification":
            return PlainTextResponse("nothing to do\n")
        notification = json.loads(message["Message"])
    except Refused as error:
        raise _refused("SNS", error) from error
    except (ValueError, TypeError) as error:
        raise HTTPException(status_code=400, detail="The SNS Message is not an SES notification.") from error
    reports = provider_events.ses_reports(notification) if isinstance(notification, dict) else []
    return await run_in_threadpool(_record, request, reports)


@events.post("/postmark")
async def postmark_event(request: Request):
    secret = web(request).settings.postmark_webhook_password
    if secret is None:
        raise HTTPException(status_code=404, detail="Not found.")
    body = await _body(request)
    try:
        provider_events.check_basic_auth(request.headers.get("authorization"), secret.get_secret_value())
        reports = provider_events.postmark_reports(body)
    except Refused as error:
        raise _refused("Postmark", error) from error
    return await run_in_threadpool(_record, request, reports)


@events.post("/sendgrid")
async def sendgrid_event(request: Request):
    key = web(request).settings.sendgrid_webhook_public_key
    if not key:
        raise HTTPException(status_code=404, detail="Not found.")
    body = await _body(request)
    try:
        provider_events.verify_sendgrid(
            body,
            request.headers.get("x-twilio-email-event-webhook-signature"),
            request.headers.get("x-twilio-email-event-webhook-timestamp"),
            key,
        )
        reports = provider_events.sendgrid_reports(body)
    except Refused as error:
        raise _refused("SendGrid", error) from error
    return await run_in_threadpool(_record, request, reports)


@events.post("/mailgun")
async def mailgun_event(request: Request):
    key = web(request).settings.mailgun_webhook_signing_key
    if key is None:
        raise HTTPException(status_code=404, detail="Not found.")
    body = await _body(request)
    try:
        reports = provider_events.mailgun_reports(body, key.get_secret_value())
    except Refused as error:
        raise _refused("Mailgun", error) from error
    return await run_in_threadpool(_record, request, reports)


@admin.get("")
def suppressions_page(request: Request, user: User = Depends(require_admin)):
    engine = web(request).engine
    digests = [
        (community, digest)
        for community in list_communities(engine)
        for digest in list_digests(engine, community.id)[:5]
        if digest.status in ("approved", "sent")
    ]
    return render(request, "admin_mail.html", suppressions=list_suppressions(engine), digests=digests)


@admin.post("/suppressions/{member_id}/lift")
def lift(request: Request, member_id: int, user: User = Depends(require_admin)):
    lifted = lift_suppression(web(request).engine, member_id)
    return redirect(request, "/admin/mail", flash="Lifted: they get mail again." if lifted else "Nothing to lift.")


@admin.get("/digests/{digest_id}")
def outbox_page(request: Request, digest_id: int, state: str = "", user: User = Depends(require_admin)):
    """Every row's delivery state (counts of all; the rows of one state, or all, up to ``SHOWN_ROWS``)."""
    engine = web(request).engine
    try:
        digest = get_digest(engine, digest_id)
    except LookupError:
        raise HTTPException(status_code=404, detail="No such digest.") from None
    rows = [dict(row, delivery_state=delivery_state(row)) for row in outbox_rows(engine, digest_id)]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["delivery_state"]] = counts.get(row["delivery_state"], 0) + 1
    shown = [row for row in rows if not state or row["delivery_state"] == state][:SHOWN_ROWS]
    return render(request, "admin_outbox.html", digest=digest, rows=shown, counts=counts, state=state)
