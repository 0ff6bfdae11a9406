"""Running the web app with uvicorn: what ``signpost web`` calls."""

from __future__ import annotations

import uvicorn

from signpost.config.settings import Settings
from signpost.web.app import create_app
from signpost.web.hooks import WebHooks


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, *, hooks: WebHooks | None = None) -> None:
    """Serve the app until interrupted; put a TLS-terminating proxy in front of it for anything but localhost."""
    app = create_app(settings, hooks=hooks)
    uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")
