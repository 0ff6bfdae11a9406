"""Plumbing shared by the routes: templates, the signed-in user, roles, CSRF checks, flash messages, redirects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.digests.render import plain_text, safe_url
from signpost.store.db import utcnow
from signpost.store.users import User, session_user
from signpost.web import security
from signpost.web.hooks import WebHooks

TEMPLATES = Path(__file__).with_name("templates")
SESSION_COOKIE = "signpost_session"
CSRF_COOKIE = "signpost_csrf"
FLASH_COOKIE = "signpost_flash"
FLASH = "signpost.flash"


def _fmt_when(value) -> str:
    return "" if value is None else value.strftime("%d %b %Y %H:%M UTC")


def make_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Scraped text shown as text, and only http(s) URLs ever put in an href.
    environment.filters["plain"] = plain_text
    environment.filters["safe_url"] = safe_url
    environment.filters["when"] = _fmt_when
    return environment


@dataclass
class WebContext:
    """What every request can reach: settings, the store, hooks into other rooms, templates."""

    settings: Settings
    engine: Engine
    secret_key: str
    hooks: WebHooks
    environment: Environment
    # The time the rate limits count by; tests move it on instead of waiting for a window to pass.
    clock: Callable[[], datetime] = utcnow

    @property
    def session_seconds(self) -> int:
        return self.settings.session_hours * 3600

    def cookie_options(self) -> dict[str, Any]:
        return {"httponly": True, "samesite": "lax", "secure": self.settings.session_cookie_secure, "path": "/"}


def web(request: Request) -> WebContext:
    return request.app.state.web


def current_user(request: Request) -> User | None:
    """The signed-in user, from the signed session cookie and the sessions table; cached for the request."""
    if hasattr(request.state, "user"):
        return request.state.user
    context = web(request)
    token = security.read_session_cookie(
        context.secret_key, request.cookies.get(SESSION_COOKIE), context.session_seconds
    )
    request.state.user = session_user(context.engine, security.session_id(token)) if token else None
    return request.state.user


class SignInRequired(Exception):
    """Raised by routes that need a user; answered with a redirect to the sign-in page."""


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise SignInRequired()
    return user


def require_admin(user: User = Depends(require_user)) -> User:
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only admins may open this page.")
    return user


def require_reviewer(user: User, community_id: int) -> None:
    """A curator of another community learns nothing, not even that the digest exists."""
    if not user.may_review(community_id):
        raise HTTPException(status_code=404, detail="Not found.")


async def check_csrf(request: Request) -> None:
    """Every POST carries the form token derived from the browser's CSRF cookie; anything else is refused."""
    if request.method != "POST":
        return
    form = await request.form()
    token = form.get("csrf_token")
    seed = request.cookies.get(CSRF_COOKIE)
    if not security.csrf_ok(web(request).secret_key, seed, token if isinstance(token, str) else None):
        raise HTTPException(status_code=403, detail="The form has expired or did not come from this site; try again.")


def csrf_for(request: Request) -> str:
    return security.csrf_token(web(request).secret_key, request.state.csrf_seed)


def take_flash(request: Request) -> str | None:
    cookie = request.cookies.get(FLASH_COOKIE)
    if not cookie:
        return None
    try:
        message = security.timed(web(request).secret_key, FLASH).loads(cookie, max_age=300)
    except BadSignature:
        return None
    request.state.flash_taken = True
    return message if isinstance(message, str) else None


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    environment = web(request).environment
    page = environment.get_template(template).render(
        request=request,
        user=current_user(request),
        csrf_token=csrf_for(request),
        # A page answering a script's POST carries the message itself instead of a cookie for the next page.
        flash=context.pop("flash", None) or take_flash(request),
        **context,
    )
    response = HTMLResponse(page, status_code=status_code)
    if getattr(request.state, "flash_taken", False):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> RedirectResponse:
    """303 See Other back to a page (so a reload does not post again), with an optional one-time message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        context = web(request)
        value = security.timed(context.secret_key, FLASH).dumps(flash[:500])
        response.set_cookie(FLASH_COOKIE, value, max_age=300, **context.cookie_options())
    return response


def signin_redirect(request: Request) -> RedirectResponse:
    target = request.url.path if request.method == "GET" else "/review"
    return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)


def safe_next(target: str | None) -> str:
    """Only a path on this site may follow a sign-in: no open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/review"
    return target
