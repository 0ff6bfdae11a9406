"""The FastAPI app: curators' review, admin pages, members' pages, the public archive and feeds.

Pages are rendered on the server with Jinja2 (autoescaped) and work without JavaScript: every change is a
POST form carrying a CSRF token, answered with a redirect back to the page. The draft is enhanced by one script
of our own (web/static/review.js) that posts the same forms and swaps in what changed.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from signpost.config.settings import Settings
from signpost.store.db import open_current_store
from signpost.web import bounds, security
from signpost.web.fetching import FetchGate
from signpost.web.hooks import WebHooks
from signpost.web.pages import CSRF_COOKIE, SignInRequired, WebContext, make_environment, render, signin_redirect

STATIC = Path(__file__).with_name("static")
# Pages hold scraped text: only our own script files run on them (no inline script, even if something slipped
# through), they talk only to this site, and no one frames them.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'self'; frame-src 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
}


def create_app(settings: Settings, *, hooks: WebHooks | None = None) -> FastAPI:
    """The web app on the store of ``settings``; ``hooks`` bring fetching and discovery from spiders/."""
    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        raise ValueError("the web app signs sessions and links: set SIGNPOST_SECRET_KEY")
    engine = open_current_store(settings.store_url)

    gate = FetchGate(settings.max_concurrent_fetches)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        gate.close()
        engine.dispose()

    app = FastAPI(
        title="Signpost",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(bounds.integers_in_range)],
    )
    app.state.web = WebContext(
        settings=settings,
        engine=engine,
        secret_key=settings.secret_key.get_secret_value(),
        hooks=hooks or WebHooks(),
        environment=make_environment(),
    )
    app.state.fetches = gate

    @app.middleware("http")
    async def csrf_cookie_and_headers(request: Request, call_next):
        # Every visitor gets a random CSRF cookie; forms carry a token derived from it.
        seed = request.cookies.get(CSRF_COOKIE)
        fresh = not seed
        request.state.csrf_seed = seed or security.new_csrf_seed()
        response = await call_next(request)
        if fresh or getattr(request.state, "csrf_rotated", False):
            response.set_cookie(
                CSRF_COOKIE, request.state.csrf_seed, max_age=365 * 86400, **app.state.web.cookie_options()
            )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, _error: SignInRequired):
        return signin_redirect(request)

    @app.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, error: StarletteHTTPException):
        if request.url.path.endswith(".atom") or request.url.path.startswith("/r/"):
            return PlainTextResponse(str(error.detail), status_code=error.status_code, headers=error.headers)
        detail = error.detail if isinstance(error.detail, str) else "Something went wrong."
        response = render(request, "error.html", status_code=error.status_code, message=detail)
        # Headers the error carries (Retry-After on a 429) belong on the page too.
        response.headers.update(error.headers or {})
        return response

    from signpost.web import admin, admin_members, auth, dashboard, desk, mail, members, public, review, sending

    app.include_router(auth.router)
    app.include_router(review.router)
    app.include_router(desk.router)
    app.include_router(sending.router)
    app.include_router(admin.router)
    app.include_router(admin_members.router)
    app.include_router(dashboard.router)
    app.include_router(members.router)
    app.include_router(members.one_click)
    app.include_router(public.router)
    app.include_router(mail.events)
    app.include_router(mail.admin)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
