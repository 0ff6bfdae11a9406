"""What the web app needs from rooms it may not import (spiders/), handed in by whoever starts it.

DESIGN lets web/ import config, store, digests and classify, not spiders/. Fetching a page and discovering a
site's feeds live in spiders/, so the app takes them as plain functions: ``signpost web`` (the CLI, which may
import every room) passes ``spiders.single_page.extract_file_or_url`` and ``spiders.registry.add_source_from_url``:

    hooks = WebHooks(
        extract_url=extract_file_or_url,
        add_source=lambda engine, settings, url, communities: add_source_from_url(
            engine, settings, url, communities=communities
        )[0],
    )
    serve(settings, host, port, hooks=hooks)

Without them the pages that need them say so and point to the command line; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.store.records import Source

# Fetch a URL and extract its article as a JSON-ready dict (canonical_url, title, text, ...); ValueError if none.
ExtractURL = Callable[[str], dict]
# Discover what to crawl at a URL and save it as a source serving these communities; raises with the reason.
AddSource = Callable[[Engine, Settings, str, list[str]], Source]
# GET a small document (an SNS signing certificate, its subscribe link) through the one fetch for untrusted URLs,
# following no redirect; its body, or ValueError saying why not.
FetchURL = Callable[[Settings, str], bytes]


# Start the publishing flow of an approved digest in its own process, without waiting for it (flows/ is not
# importable from web/ either); the digest is approved in the store first, so publish-due would also take it up.
StartPublish = Callable[[int], None]


@dataclass(frozen=True)
class WebHooks:
    extract_url: ExtractURL | None = None
    add_source: AddSource | None = None
    start_publish: StartPublish | None = None
    fetch_url: FetchURL | None = None
