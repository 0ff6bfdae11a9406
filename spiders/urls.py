"""URL canonicalisation and the refusal of sources on private networks."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Parameters that identify a campaign or a click, not a document.
TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga", "_gl", "ref_src", "spm"}
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")


class UnsafeURLError(ValueError):
    """A URL that may not be crawled (bad scheme, or a private address when those are not allowed)."""


def canonicalize_url(url: str) -> str:
    """The form under which a URL is stored: lower-case host, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMETERS and not key.lower().startswith(TRACKING_PREFIXES)
    ]
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, urlencode(query), ""))


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
