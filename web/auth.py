"""Signing in (password, or a single-use link by email) and out; sessions live in a signed cookie and the store."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import RedirectResponse

from signpost.digests.notices import MailError, send_email
from signpost.store.db import utcnow
from signpost.store.users import end_session, find_user, get_user, mark_signed_in, save_user, start_session
from signpost.web import limits, security
from signpost.web.pages import (
    SESSION_COOKIE,
    check_csrf,
    current_user,
    redirect,
    render,
    safe_next,
    web,
)

log = logging.getLogger(__name__)
router = APIRouter(dependencies=[Depends(check_csrf)])


def _sign_in(request: Request, user_id: int, target: str) -> RedirectResponse:
    context = web(request)
    token = security.new_session_token()
    start_session(
        context.engine, security.session_id(token), user_id, utcnow() + timedelta(seconds=context.session_seconds)
    )
    mark_signed_in(context.engine, user_id)
    response = RedirectResponse(safe_next(target), status_code=303)
    cookie = security.timed(context.secret_key, security.SESSION).dumps(token)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=context.session_seconds, **context.cookie_options())
    # A new CSRF cookie with the new session: a token planted before sign-in is worthless after it.
    request.state.csrf_seed = security.new_csrf_seed()
    request.state.csrf_rotated = True
    return response


@router.get("/signin")
def signin_page(request: Request, next: str = "/review"):
    return render(request, "signin.html", next=safe_next(next))


@router.post("/signin")
def signin_password(request: Request, email: str = Form(""), password: str = Form(""), next: str = Form("/review")):
    context = web(request)
    attempt = limits.start_signin(request, email)
    user = find_user(context.engine, email)
    if not security.check_password(user.password_hash if user else None, password) or user is None:
        return render(request, "signin.html", status_code=401, next=safe_next(next), error="Wrong email or password.")
    if security.hasher.check_needs_rehash(user.password_hash or ""):
        save_user(context.engine, user.email, password_hash=security.hash_password(password))
    limits.signin_succeeded(request, email, attempt)
    return _sign_in(request, user.id, next)


def _send_signin_link(settings, address: str, link: str) -> None:
    # After the answer has gone: a slow or failing mail server must not tell who has an account.
    minutes = settings.signin_link_minutes
    try:
        send_email(
            settings,
            address,
            "Your Signpost sign-in link",
            f"Open this link to sign in to Signpost. It works once, within {minutes} minutes:\n\n{link}\n\n"
            "If you did not ask for it, ignore this email.\n",
        )
    except MailError as error:
        log.warning("could not send a sign-in link: %s", error)


@router.post("/signin/link")
def signin_link_request(request: Request, background: BackgroundTasks, email: str = Form("")):
    """Email a sign-in link; the answer is the same, and as quick, whether or not the address has an account."""
    context = web(request)
    limits.allow_requested_email(request, email)
    user = find_user(context.engine, email)
    # The same work either way: a token is signed for an unknown address too, then dropped.
    token = security.signin_token(context.secret_key, user.id if user else 0, user.last_signin_at if user else None)
    if user is not None:
        link = f"{context.settings.public_url.rstrip('/')}/signin/link/{token}"
        background.add_task(_send_signin_link, context.settings, user.email, link)
    return render(
        request,
        "message.html",
        title="Check your email",
        message=("If that address has a Signpost account, a sign-in link is on its way."),
    )


def _link_user(request: Request, token: str):
    context = web(request)
    found = security.read_signin_token(context.secret_key, token, context.settings.signin_link_minutes * 60)
    user = get_user(context.engine, found[0]) if found else None
    last = user.last_signin_at.isoformat() if user and user.last_signin_at else ""
    if user is None or found is None or found[1] != last:
        return None
    return user


@router.get("/signin/link/{token}")
def signin_link_page(request: Request, token: str):
    # A button, not an immediate sign-in: mail scanners that open links must not use up the single-use link.
    user = _link_user(request, token)
    if user is None:
        return render(request, "error.html", status_code=400, message="This sign-in link has expired or was used.")
    return render(request, "signin_link.html", token=token, email=user.email)


@router.post("/signin/link/{token}")
def signin_link_use(request: Request, token: str):
    user = _link_user(request, token)
    if user is None:
        return render(request, "error.html", status_code=400, message="This sign-in link has expired or was used.")
    return _sign_in(request, user.id, "/review")


@router.post("/signout")
def signout(request: Request):
    context = web(request)
    token = security.read_session_cookie(
        context.secret_key, request.cookies.get(SESSION_COOKIE), context.session_seconds
    )
    if token:
        end_session(context.engine, security.session_id(token))
    response = redirect(request, "/", flash="Signed out." if current_user(request) else None)
    response.delete_cookie(SESSION_COOKIE, path="/")
    # A new CSRF cookie, as on sign-in: a token read while signed in is worthless after signing out.
    request.state.csrf_seed = security.new_csrf_seed()
    request.state.csrf_rotated = True
    return response
