"""Rate limits on the forms anyone can post: password sign-ins, emailed sign-in links, subscriptions, suggestions."""

from __future__ import annotations

import ipaddress
import math
from datetime import timedelta
from typing import NoReturn

from fastapi import HTTPException, Request

from signpost.store.attempts import Allowance, Attempt, forget_attempt, forget_subject, take_attempt
from signpost.store.members import normalise_email
from signpost.web.pages import web

SIGNIN = "signin"
EMAIL = "email"
SUGGEST = "suggest"


def client_ip(request: Request) -> str:
    """The client's address as uvicorn hands it over.

    uvicorn takes it from X-Forwarded-For only when the connection comes from an address in its
    ``FORWARDED_ALLOW_IPS`` (loopback by default), so a client cannot pick its own address with a header.
    """
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        # One IPv6 client usually holds a whole /64: counting single addresses would let it rotate through them.
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _refuse(attempt: Attempt, message: str) -> NoReturn:
    minutes = math.ceil(attempt.retry_after / 60)
    raise HTTPException(
        status_code=429,
        detail=f"{message} Try again in {minutes} minute{'' if minutes == 1 else 's'}.",
        headers={"Retry-After": str(attempt.retry_after)},
    )


def start_signin(request: Request, email: str) -> Attempt:
    """Count a password sign-in as failed before the password is checked, or refuse it (429).

    Counting first means a burst of guesses sent at once cannot all pass before any of them is counted; a sign-in
    that works is uncounted by ``signin_succeeded``. Unknown addresses are counted like known ones, so the answer
    never tells whether an account exists.
    """
    context = web(request)
    settings = context.settings
    attempt = take_attempt(
        context.engine,
        SIGNIN,
        [
            Allowance(f"email:{normalise_email(email)}", settings.signin_failures_per_email),
            Allowance(f"ip:{client_ip(request)}", settings.signin_failures_per_ip),
        ],
        timedelta(minutes=settings.signin_failure_window_minutes),
        now=context.clock(),
    )
    if not attempt.allowed:
        _refuse(
            attempt,
            "Too many failed sign-ins for this address or from your network. "
            "You can still ask for a sign-in link by email.",
        )
    return attempt


def signin_succeeded(request: Request, email: str, attempt: Attempt) -> None:
    """Uncount a sign-in that worked, and the address's earlier failures: its owner has shown they know the password.

    The client IP's failures at other addresses stay counted: signing in to one's own account must not buy more
    guesses at someone else's.
    """
    engine = web(request).engine
    forget_attempt(engine, attempt)
    forget_subject(engine, SIGNIN, f"email:{normalise_email(email)}")


def allow_requested_email(request: Request, address: str) -> None:
    """Count an email someone asks Signpost to send (a sign-in link, a subscription's confirmation), or refuse (429).

    This is what keeps Signpost from being used to flood a mailbox. It counts whether or not the address has an
    account or a subscription, so a refusal tells nothing about either.
    """
    context = web(request)
    settings = context.settings
    attempt = take_attempt(
        context.engine,
        EMAIL,
        [
            Allowance(f"email:{normalise_email(address)}", settings.requested_emails_per_address),
            Allowance(f"ip:{client_ip(request)}", settings.requested_emails_per_ip),
        ],
        timedelta(minutes=settings.requested_email_window_minutes),
        now=context.clock(),
    )
    if not attempt.allowed:
        _refuse(attempt, "Too many emails were asked for this address or from your network.")


def allow_suggestion(request: Request, member_id: int) -> None:
    """Count a member's suggested link, or refuse (429) once they have suggested ``suggestions_per_hour``."""
    context = web(request)
    attempt = take_attempt(
        context.engine,
        SUGGEST,
        [Allowance(f"member:{member_id}", context.settings.suggestions_per_hour)],
        timedelta(hours=1),
        now=context.clock(),
    )
    if not attempt.allowed:
        _refuse(attempt, "You have suggested a lot of links this hour; the curators will get to them.")
