"""Extraction of one page given as a file or a URL, for ``signpost extract FILE_OR_URL`` and the web app."""

from __future__ import annotations

import gzip
from dataclasses import asdict
from pathlib import Path

from signpost.config.settings import load_settings
from signpost.spiders.extract import extract_page
from signpost.spiders.fetch import FetchError, FetchRules, fetch_url
from signpost.store.records import Skipped


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"'")
    return None


def extract_file_or_url(target: str, *, min_chars: int | None = None) -> dict:
    """The article of a local HTML file (gzip allowed) or a URL, as a JSON-ready dict; raises ValueError if none."""
    settings = load_settings()
    min_chars = settings.min_article_chars if min_chars is None else min_chars
    path = Path(target)
    if "://" not in target and path.exists():
        body = path.read_bytes()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        url, encoding = path.resolve().as_uri(), None
    else:
        try:
            response = fetch_url(target, FetchRules.from_settings(settings))
        except FetchError as error:
            raise ValueError(str(error)) from error
        if not response.ok:
            raise ValueError(f"{target}: HTTP {response.status}")
        body, url, encoding = response.body, response.final_url, _charset(response.content_type)
    result = extract_page(body, url, encoding=encoding, min_chars=min_chars)
    if isinstance(result, Skipped):
        raise ValueError(f"not an article: {result.reason}")
    article = asdict(result)
    article["published_at"] = result.published_at.isoformat() if result.published_at else None
    return article
