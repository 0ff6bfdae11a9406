"""The one way Signpost fetches an untrusted URL outside the crawl: a vetted address, a capped body, one deadline."""

from __future__ import annotations

import functools
import ssl
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from signpost.config.settings import Settings
from signpost.spiders.urls import AddressRules, UnsafeURLError, check_source_url, resolve_host, vetted_addresses

try:  # brotli is optional: without it Signpost does not ask for br, and refuses a br answer.
    import brotli
except ImportError:  # pragma: no cover - brotli ships in the constraints
    brotli = None

_BROTLI_ERRORS: tuple[type[Exception], ...] = (brotli.error,) if brotli is not None else ()

DEFAULT_USER_AGENT = "Signpost/0.1 (+https://github.com/signpost/signpost)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"


class FetchError(Exception):
    """A URL could not be fetched: network error, refused address, too many redirects, too large, too slow."""


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Fetcher(Protocol):
    """Fetches a URL; raises FetchError (or UnsafeURLError) when it cannot, returns any HTTP status."""

    def __call__(self, url: str) -> FetchResult: ...


@dataclass
class _Deadline:
    """The moment the current exchange must be over; every connect, read and write gets at most what is left."""

    at: float = field(default_factory=time.monotonic)

    def left(self, timeout: float | None) -> float:
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("the deadline passed")
        return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self.stream = stream
        self.deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self.deadline.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self.deadline.left(timeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        # TLS checks the certificate against the URL's host name, whichever vetted address we connected to.
        secure = self.stream.start_tls(ssl_context, server_hostname, self.deadline.left(timeout))
        return _DeadlineStream(secure, self.deadline)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class _VettedBackend(httpcore.NetworkBackend):
    """Resolves a host once, refuses it if any address is not allowed, and connects to those very addresses."""

    def __init__(self, rules: AddressRules, resolve: Callable[[str], list[str]], deadline: _Deadline) -> None:
        self.rules = rules
        self.resolve = resolve
        self.deadline = deadline
        self.backend = httpcore.SyncBackend()

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options=None
    ) -> httpcore.NetworkStream:
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in vetted_addresses(host, self.rules, self.resolve):
            try:
                stream = self.backend.connect_tcp(
                    address, port, self.deadline.left(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as failure:
                error = failure
                continue
            return _DeadlineStream(stream, self.deadline)
        raise error


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs more than a local request: once per process.
    return httpx.create_ssl_context()


class _Decoder:
    """Undoes at most one Content-Encoding, never producing more than ``room`` bytes from one chunk."""

    def __init__(self, encoding: str, url: str) -> None:
        names = [name.strip().lower() for name in encoding.split(",") if name.strip().lower() not in ("", "identity")]
        if len(names) > 1:
            raise FetchError(f"{url}: more than one Content-Encoding ({encoding})")
        self.name = names[0] if names else ""
        if self.name in ("gzip", "x-gzip"):
            self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.name == "deflate":
            self.zlib = zlib.decompressobj()
        elif self.name == "br" and brotli is not None:
            self.brotli = brotli.Decompressor()
        elif self.name:
            raise FetchError(f"{url}: unsupported Content-Encoding {encoding}")

    def decode(self, chunk: bytes, room: int) -> Iterator[bytes]:
        """The decoded bytes of ``chunk`` in pieces of at most ``room + 1`` bytes, so a bomb is caught early."""
        if not self.name:
            yield chunk
        elif self.name == "br":
            yield self.brotli.process(chunk, output_buffer_limit=room + 1)
            while not self.brotli.can_accept_more_data():
                yield self.brotli.process(b"", output_buffer_limit=room + 1)
        else:
            data = chunk
            while data:
                yield self.zlib.decompress(data, room + 1)
                data = self.zlib.unconsumed_tail
                if not data and self.zlib.eof and self.zlib.unused_data and self.name != "deflate":
                    # A gzip body may hold several members one after another; each counts against the cap.
                    data = self.zlib.unused_data
                    self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)


@dataclass(frozen=True)
class FetchRules:
    """What a fetch may do: where it may connect, how long the whole exchange may take, how much it may read."""

    addresses: AddressRules = field(default_factory=AddressRules)
    user_agent: str = DEFAULT_USER_AGENT
    deadline: float = 30.0  # seconds for the whole exchange: connecting, headers, body, every redirect
    max_bytes: int = 5 * 1024 * 1024  # of the decoded body
    max_redirects: int = 5
    resolve: Callable[[str], list[str]] = resolve_host  # host name -> addresses; tests pass one they control

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> FetchRules:
        rules = cls(
            addresses=AddressRules.of(settings.allow_private_addresses, settings.allowed_networks),
            user_agent=settings.crawler_user_agent,
            deadline=settings.download_timeout,
            max_bytes=settings.max_page_bytes,
            max_redirects=settings.max_redirects,
        )
        return replace(rules, **overrides)


def check_url(url: str, rules: FetchRules) -> str:
    """The URL if ``rules`` let it be fetched (http or https, an allowed address); UnsafeURLError saying why not."""
    check_source_url(url, allow_private=True)
    host = urlsplit(url).hostname or ""
    try:
        vetted_addresses(host, rules.addresses, rules.resolve)
    except UnsafeURLError as error:
        raise UnsafeURLError(f"{url}: {error}") from error
    return url


class HttpFetcher:
    """Fetches URLs under one set of FetchRules, reusing connections between calls; for one thread at a time."""

    def __init__(
        self,
        rules: FetchRules | None = None,
        *,
        allow_private: bool | None = None,
        user_agent: str | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        max_redirects: int | None = None,
    ) -> None:
        rules = rules or FetchRules()
        given = {"user_agent": user_agent, "deadline": timeout, "max_bytes": max_bytes, "max_redirects": max_redirects}
        if allow_private is not None:
            given["addresses"] = replace(rules.addresses, allow_private=allow_private)
        self.rules = replace(rules, **{name: value for name, value in given.items() if value is not None})
        self.deadline = _Deadline()
        self._pool: httpcore.ConnectionPool | None = None

    def __call__(self, url: str) -> FetchResult:
        return self.request("GET", url)

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def request(
        self, method: str, url: str, *, content: bytes | None = None, headers: dict[str, str] | None = None
    ) -> FetchResult:
        """One exchange under the deadline, following redirects for a GET (each target vetted again); never hangs."""
        self.deadline.at = time.monotonic() + self.rules.deadline
        current = url
        try:
            for _ in range(self.rules.max_redirects + 1):
                result = self._exchange(method, current, content, headers or {})
                location = result.headers.get("location")
                if method != "GET" or result.status not in REDIRECT_STATUSES or not location:
                    return replace(result, url=url)
                current = urljoin(current, location)
        except UnsafeURLError as error:
            raise FetchError(f"refused: {error}") from error
        except httpcore.TimeoutException as error:
            raise FetchError(f"{current}: no complete answer within {self.rules.deadline:g} s") from error
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise FetchError(f"{current}: {type(error).__name__}: {error}") from error
        except (ssl.SSLError, UnicodeError, zlib.error, *_BROTLI_ERRORS) as error:
            raise FetchError(f"{current}: {type(error).__name__}: {error}") from error
        raise FetchError(f"{url}: more than {self.rules.max_redirects} redirects")

    def _exchange(self, method: str, url: str, content: bytes | None, extra: dict[str, str]) -> FetchResult:
        check_source_url(url, allow_private=True)  # the scheme and a host; the address is vetted on connecting
        target = httpx.URL(url)
        headers = {
            "Host": target.netloc.decode("ascii"),
            "User-Agent": self.rules.user_agent,
            "Accept": "*/*",
            "Accept-Encoding": ACCEPT_ENCODING,
            **extra,
        }
        if content is not None:
            headers["Content-Length"] = str(len(content))
        origin = httpcore.URL(scheme=target.raw_scheme, host=target.raw_host, port=target.port, target=target.raw_path)
        with self._connections().stream(method, origin, headers=list(headers.items()), content=content) as response:
            response_headers: dict[str, str] = {}
            for raw_name, raw_value in response.headers:
                name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
                response_headers[name] = f"{response_headers[name]}, {value}" if name in response_headers else value
            body = self._read(url, response, response_headers)
        return FetchResult(url, url, response.status, response_headers, body)

    def _connections(self) -> httpcore.ConnectionPool:
        if self._pool is None:
            backend = _VettedBackend(self.rules.addresses, self.rules.resolve, self.deadline)
            self._pool = httpcore.ConnectionPool(ssl_context=_ssl_context(), network_backend=backend, max_connections=4)
        return self._pool

    def _read(self, url: str, response: httpcore.Response, headers: dict[str, str]) -> bytes:
        limit = self.rules.max_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"{url}: response of {int(declared)} bytes is over the {limit} byte limit")
        decoder = _Decoder(headers.get("content-encoding", ""), url)
        pieces: list[bytes] = []
        received = size = 0
        for chunk in response.iter_stream():
            received += len(chunk)
            for piece in decoder.decode(chunk, limit - size):
                size += len(piece)
                if size > limit or received > limit:
                    raise FetchError(f"{url}: response is over the {limit} byte limit")
                pieces.append(piece)
        return b"".join(pieces)


def fetch_url(
    url: str, rules: FetchRules, *, method: str = "GET", content: bytes | None = None, headers: dict | None = None
) -> FetchResult:
    """Fetch one URL under ``rules``: what the single-page fetch, discovery and webhooks all go through."""
    with HttpFetcher(rules) as fetcher:
        return fetcher.request(method, url, content=content, headers=headers)


def json_poster(rules: FetchRules) -> Callable[[str, bytes], tuple[int, str]]:
    """POSTs JSON to webhook URLs under ``rules`` (no redirects followed).

    Raises PermissionError when the URL is refused, ConnectionError when no answer comes (see digests.webhooks).
    """

    def post(url: str, body: bytes) -> tuple[int, str]:
        try:
            check_url(url, rules)
        except UnsafeURLError as error:
            raise PermissionError(f"refused: {error}") from error
        try:
            result = fetch_url(url, rules, method="POST", content=body, headers={"Content-Type": "application/json"})
        except FetchError as error:
            raise ConnectionError(str(error)) from error
        return result.status, result.body[:1000].decode("utf-8", "replace")

    return post
