"""Downloader middlewares: refuse private addresses (redirects included), back off before retries, typed refusals."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser

from signpost.spiders.urls import is_private_host


class PrivateAddressRefused(IgnoreRequest):
    """The request's host is on a private or loopback network and those are not allowed."""


class PrivateAddressMiddleware:
    """Checks every request, so a public feed cannot point or redirect the crawler into a private network."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self.verdicts: dict[str, bool] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        return cls(crawler.settings.getbool("SIGNPOST_ALLOW_PRIVATE_ADDRESSES"))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.allow_private:
            return None
        host = urlsplit(request.url).hostname or ""
        if host not in self.verdicts:
            self.verdicts[host] = is_private_host(host)
        if self.verdicts[host]:
            raise PrivateAddressRefused(f"{host} is a private or loopback address")
        return None


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
