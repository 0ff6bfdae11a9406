"""Running the web app with uvicorn: what ``signpost web`` calls."""

from __future__ import annotations

import uvicorn

from config.settings import Settings
from web.app import create_app
from web.hooks import WebHooks


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, *, hooks: WebHooks | None = None) -> None:
    """Serve the app until interrupted; put a TLS-terminating proxy in front of it for anything but localhost."""
    app = create_app(settings, hooks=hooks)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")


def ensure_admin(settings: Settings, email: str, password: str, name: str = "") -> int:
    """Create or update an admin who signs in with ``password``; for the first start, before anyone can sign in."""
    from store.db import open_store
    from store.users import save_user
    from web.security import hash_password

    if len(password) < 10:
        raise ValueError("use a password of at least 10 characters")
    engine = open_store(settings.store_url)
    try:
        return save_user(engine, email, name, password_hash=hash_password(password), is_admin=True)
    finally:
        engine.dispose()
