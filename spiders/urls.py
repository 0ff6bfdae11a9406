"""URL canonicalisation and the refusal of sources on private networks."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Parameters that identify a campaign or a click, not a document.
TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga", "_gl", "ref_src", "spm"}
)
UNUSABLE_IN_URL = re.compile(r'[\x00-\x1f\x7f<>"]')
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")


class UnsafeURLError(ValueError):
    """A URL that may not be crawled (bad scheme, or a private address when those are not allowed)."""


def canonicalize_url(url: str) -> str:
    """The form under which a URL is stored: lower-case host, no fragment, no tracking parameters; never raises."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        # A malformed host or port: keep the text as it came (parsers only hand over URLs that http_url accepted).
        return url.partition("#")[0]
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMETERS and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def http_url(link: str | None, base_url: str = "") -> str | None:
    """``link`` made absolute against ``base_url`` when it is a usable http(s) URL; None for anything else.

    A malformed host (``http://example.c[o.test/``), a port out of range or a bad base is a missing URL, not an error.
    """
    if not link or not (link := link.strip()):
        return None
    try:
        url = urljoin(base_url, link) if base_url else link
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it is what validates it
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or UNUSABLE_IN_URL.search(url):
        return None
    return url.replace(" ", "%20")


def is_private_host(host: str) -> bool:
    """Whether any address the host resolves to is loopback, private, link-local or reserved."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            return True
    return False


def check_source_url(url: str, allow_private: bool) -> str:
    """Return the URL if it may be crawled; raise UnsafeURLError saying why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"{url}: only http and https URLs can be sources")
    if not parts.hostname:
        raise UnsafeURLError(f"{url}: no host name")
    if not allow_private and is_private_host(parts.hostname):
        raise UnsafeURLError(
            f"{url}: {parts.hostname} is a private or loopback address "
            "(set SIGNPOST_ALLOW_PRIVATE_ADDRESSES=true to allow it)"
        )
    return url
