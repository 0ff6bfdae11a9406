"""URL canonicalisation and the refusal of sources on private networks."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


# Prefixes that carry an IPv4 address inside an IPv6 one: a private IPv4 address must stay private in them.
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AddressRules:
    """Which addresses Signpost may connect to: public ones, plus private ones if allowed or listed."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, allow_private: bool, allowed_networks: Iterable[str] = ()) -> AddressRules:
        return cls(allow_private, tuple(ipaddress.ip_network(network, strict=False) for network in allowed_networks))

    def allows(self, address: str) -> bool:
        if self.allow_private:
            return True
        parsed = ipaddress.ip_address(address.split("%")[0])
        return not is_private_address(parsed) or any(parsed in network for network in self.allowed_networks)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64 or 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    # IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks): [::127.0.0.1] is loopback.
    if int(address) >> 32 == 0 and int(address) > 1:
        return ipaddress.IPv4Address(int(address))
    return None


def is_private_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is anything but a public unicast one, looking through IPv6 forms of IPv4 addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64_LOCAL_USE:
            return True
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_private_address(embedded)
    return not address.is_global or address.is_multicast


def resolve_host(host: str) -> list[str]:
    """Every address a host name (or literal address) resolves to; UnsafeURLError if it resolves to none."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as error:
        raise UnsafeURLError(f"{host} does not resolve: {error}") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnsafeURLError(f"{host} does not resolve to any address")
    return addresses


def vetted_addresses(host: str, rules: AddressRules, resolve: Callable[[str], list[str]] = resolve_host) -> list[str]:
    """Resolve ``host`` once and return its addresses, refusing it if any is not allowed: connect only to these."""
    addresses = resolve(host)
    for address in addresses:
        if not rules.allows(address):
            raise UnsafeURLError(
                f"{host} resolves to {address}, a private or loopback address "
                "(set SIGNPOST_ALLOW_PRIVATE_ADDRESSES=true to allow it)"
            )
    return addresses


def check_source_url(url: str, allow_private: bool, allowed_networks: Iterable[str] = ()) -> str:
    """Return the URL if it may be crawled; raise UnsafeURLError saying why not (a name that does not resolve too)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"{url}: only http and https URLs can be sources")
    if not parts.hostname:
        raise UnsafeURLError(f"{url}: no host name")
    if not allow_private:
        try:
            vetted_addresses(parts.hostname, AddressRules.of(False, allowed_networks))
        except UnsafeURLError as error:
            raise UnsafeURLError(f"{url}: {error}") from error
    return url
