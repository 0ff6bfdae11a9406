"""The crawl's guards: private addresses refused (redirects too, resolved once), backed-off retries, typed refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver, dnscache
from scrapy.robotstxt import RobotParser
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object
from twisted.internet import defer, threads
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from signpost.spiders.urls import AddressRules, UnsafeURLError, vetted_addresses


class PrivateAddressRefused(IgnoreRequest):
    """The request's host is on a private or loopback network and those are not allowed."""


def address_rules(settings: BaseSettings) -> AddressRules:
    return AddressRules.of(
        settings.getbool("SIGNPOST_ALLOW_PRIVATE_ADDRESSES"), settings.getlist("SIGNPOST_ALLOWED_NETWORKS")
    )


def host_lookup(settings: BaseSettings) -> Callable[[str], list[str]]:
    """How host names are resolved: SIGNPOST_HOST_LOOKUP names the function (the tests script their DNS there)."""
    return load_object(settings.get("SIGNPOST_HOST_LOOKUP", "signpost.spiders.urls.resolve_host"))


class PrivateAddressMiddleware:
    """Refuses a request early, with a clear reason and no retries, when its host is private or does not resolve.

    The decisive check is VettingResolver's, made on the very lookup the connection uses; this one only spares a
    private host its retries and says why.
    """

    def __init__(self, rules: AddressRules, lookup: Callable[[str], list[str]]):
        self.rules = rules
        self.lookup = lookup
        self.verdicts: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        return cls(address_rules(crawler.settings), host_lookup(crawler.settings))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.rules.allow_private:
            return None
        host = urlsplit(request.url).hostname or ""
        if host not in self.verdicts:
            try:
                vetted_addresses(host, self.rules, self.lookup)
                self.verdicts[host] = ""
            except UnsafeURLError as error:
                self.verdicts[host] = str(error)
        if self.verdicts[host]:
            raise PrivateAddressRefused(self.verdicts[host])
        return None


@implementer(IResolverSimple)
class VettingResolver(CachingThreadedResolver):
    """Scrapy's DNS_RESOLVER: resolves a host once, refuses it if any address is private, and hands the crawler the
    vetted address to connect to, so a name cannot answer public to a check and private to the connection."""

    def __init__(self, reactor, cache_size: int, timeout: float, rules: AddressRules, lookup) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.rules = rules
        self.lookup = lookup

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor) -> VettingResolver:
        settings = crawler.settings
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(
            reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), address_rules(settings), host_lookup(settings)
        )

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if name in dnscache:
            return defer.succeed(dnscache[name])
        found = threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self._vetted_ipv4, name)
        if dnscache.limit:
            found.addCallback(self._cache_result, name)
        return found

    def _vetted_ipv4(self, name: str) -> str:
        # Twisted's HTTP client connects over IPv4 to what this returns (Scrapy's default resolver is IPv4 only too).
        try:
            addresses = vetted_addresses(name, self.rules, self.lookup)
        except UnsafeURLError as error:
            raise DNSLookupError(str(error)) from error
        ipv4 = [address for address in addresses if ":" not in address]
        if not ipv4:
            raise DNSLookupError(f"{name} has no IPv4 address")
        return ipv4[0]


class RetryBackoffMiddleware:
    """Waits before sending a retry, doubling with each attempt, so a struggling site gets room to recover."""

    def __init__(self, base_delay: float, max_delay: float):
        self.base_delay = base_delay
        self.max_delay = max_delay

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryBackoffMiddleware:
        settings = crawler.settings
        return cls(
            settings.getfloat("SIGNPOST_RETRY_BASE_DELAY", 1.0), settings.getfloat("SIGNPOST_RETRY_MAX_DELAY", 30.0)
        )

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        retries = request.meta.get("retry_times", 0)
        if retries:
            await asyncio.sleep(min(self.base_delay * 2 ** (retries - 1), self.max_delay))
        return None


class RobotsTxtRefused(IgnoreRequest):
    """robots.txt forbids the request."""


class TooManyRedirects(IgnoreRequest):
    """The redirect chain is longer than REDIRECT_MAX_TIMES (or loops)."""


class TypedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, raising RobotsTxtRefused so a failure is told apart by its type."""

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as refusal:
            raise RobotsTxtRefused(str(refusal)) from refusal


class TypedRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirect middleware, raising TooManyRedirects when it gives up on a chain."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as refusal:
            raise TooManyRedirects(f"{refusal} after {request.meta.get('redirect_times', 0)} hops") from refusal
