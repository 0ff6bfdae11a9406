"""The loopback HTTP server of a fixture web: one aiohttp app in a background thread, one socket per site IP."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from types import TracebackType
from typing import NamedTuple

from aiohttp import web

from signpost.fixtureweb.records import FixtureWeb, Posting, Route, Site
from signpost.fixtureweb.site_pages import Rendered, SiteRenderer

PORT_ATTEMPTS = 50
SHUTDOWN_GRACE_SECONDS = 1.0


class RequestRecord(NamedTuple):
    url: str
    status: int  # 499 when the client went away first (a timed-out slow page, a capped oversized one)


class ClientGone(Exception):
    """The client hung up part-way through a streamed response (an oversized page read with a cap)."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__("client went away mid-response")
        self.response = response


def bind_sockets(hosts: list[str], port: int, backlog: int = 128) -> list[socket.socket]:
    """Listening sockets on every host with one port; port 0 finds a port that is free on all of them."""
    for _ in range(PORT_ATTEMPTS):
        sockets: list[socket.socket] = []
        try:
            for host in hosts:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(listener)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((host, port or (sockets[0].getsockname()[1] if len(sockets) > 1 else 0)))
                listener.listen(backlog)
                listener.setblocking(False)
            return sockets
        except OSError:
            for listener in sockets:
                listener.close()
            if port:
                raise
    raise OSError(f"no port free on all of {len(hosts)} loopback addresses after {PORT_ATTEMPTS} tries")


def not_modified(request: web.Request, etag: str, last_modified: datetime | None) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since and last_modified:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


class FixtureServer:
    """Serves every site of `web` on its own 127.x.y.z address and one shared port.

    On start the web is moved to the chosen port (`web.rebind`), so read `web.truth` after `start()`.
    Faults: the slow page answers after `slow_seconds`; the oversized page streams `oversized_bytes`.
    """

    def __init__(
        self,
        web: FixtureWeb,
        port: int = 0,
        slow_seconds: float = 20.0,
        oversized_bytes: int = 50_000_000,
    ) -> None:
        self.web = web
        self.requested_port = port
        self.slow_seconds = slow_seconds
        self.oversized_bytes = oversized_bytes
        self.request_log: list[RequestRecord] = []
        self.renderer = SiteRenderer(web)
        self.broken_feed_sites = {spec.site_index for spec in web.fault_specs if spec.kind == "broken_feed"}
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._startup_error: BaseException | None = None
        self._stopping: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._oversized_cache: dict[int, tuple[bytes, bytes, bytes]] = {}

    @property
    def base_urls(self) -> list[str]:
        return [site.base_url for site in self.web.sites]

    def reset_counts(self) -> None:
        self.request_log.clear()

    def status_counts(self) -> Counter[int]:
        return Counter(record.status for record in self.request_log)

    def start(self) -> FixtureServer:
        if self._thread:
            return self
        sockets = bind_sockets([site.host for site in self.web.sites], self.requested_port)
        self.port = sockets[0].getsockname()[1]
        self.web.rebind(self.port)
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(sockets, ready), name="fixtureweb", daemon=True)
        self._thread.start()
        ready.wait()
        if self._startup_error:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        if not self._thread or not self._loop:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._thread = None

    def serve_forever(self) -> None:
        """Block until Ctrl-C (for the command line)."""
        self.start()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self, sockets: list[socket.socket], ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open(sockets))
        except BaseException as error:  # handed to start(), which raises it in the caller's thread
            self._startup_error = error
            for listener in sockets:
                listener.close()
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(self._close())
        loop.close()

    async def _open(self, sockets: list[socket.socket]) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
        await self._runner.setup()
        for listener in sockets:
            await web.SockSite(self._runner, listener).start()

    async def _close(self) -> None:
        if self._stopping:
            self._stopping.set()  # lets pending slow pages give up at once
        if self._runner:
            await self._runner.cleanup()

    def _site_for(self, request: web.Request) -> Site | None:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        if sockname:
            return self.web.site_for_host(sockname[0])
        return self.web.site_for_host(request.url.host or "")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        status = 499
        try:
            response = await self._respond(request)
            status = response.status
            return response
        except ClientGone as gone:
            # aiohttp finishes a response whose client has gone without complaint; raising would log an error.
            return gone.response
        finally:
            self.request_log.append(RequestRecord(str(request.url), status))

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        site = self._site_for(request)
        if site is None:
            return web.Response(status=421, text="no fixture site on this address")
        route = self.web.routes[site.index].get(request.path)
        if route is None:
            return self._send(request, self.renderer.not_found(site))
        if route.kind == "redirect":
            return web.Response(status=302, headers={"Location": site.url(route.target)})
        if route.kind == "oversized":
            return await self._stream_oversized(request, site, self.web.postings[route.posting])
        if route.kind == "slow":
            assert self._stopping is not None
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.slow_seconds)
                return web.Response(status=503, text="shutting down")
            except TimeoutError:
                pass
        rendered = self._render(request, site, route)
        return self._send(request, rendered or self.renderer.not_found(site))

    def _render(self, request: web.Request, site: Site, route: Route) -> Rendered | None:
        renderer = self.renderer
        if route.kind in ("article", "slow"):
            return renderer.article(site, self.web.postings[route.posting])
        if route.kind == "listing":
            page = route.page
            if site.pagination == "query":
                raw_page = request.query.get("page", "1")
                page = int(raw_page) if raw_page.isdigit() else 0
            return renderer.listing(site, page)
        if route.kind == "feed":
            return renderer.feed(site, broken_feed=site.index in self.broken_feed_sites)
        if route.kind == "sitemap":
            return renderer.sitemap(site, route.page)
        if route.kind == "sitemap_index":
            return renderer.sitemap_index(site)
        if route.kind == "robots":
            return renderer.robots(site)
        if route.kind == "static":
            return renderer.static(site, route.target)
        return renderer.home(site)

    def _send(self, request: web.Request, rendered: Rendered) -> web.Response:
        body = rendered.body.encode(rendered.encoding, "xmlcharrefreplace")
        etag = f'"{hashlib.blake2b(body, digest_size=8).hexdigest()}"'
        headers = {"Content-Type": f"{rendered.content_type}; charset={rendered.encoding}"}
        if rendered.status == 200:
            headers["ETag"] = etag
            if rendered.last_modified:
                headers["Last-Modified"] = format_datetime(rendered.last_modified.astimezone(UTC), usegmt=True)
            if not_modified(request, etag, rendered.last_modified):
                del headers["Content-Type"]
                return web.Response(status=304, headers=headers)
        return web.Response(body=body, status=rendered.status, headers=headers)

    async def _stream_oversized(self, request: web.Request, site: Site, posting: Posting) -> web.StreamResponse:
        """An HTML page of `oversized_bytes`, written chunk by chunk so the server never holds it."""
        if posting.index not in self._oversized_cache:
            head, chunk, tail = self.renderer.oversized_parts(site, posting)
            encode = site.encoding
            self._oversized_cache[posting.index] = (
                head.encode(encode, "xmlcharrefreplace"),
                chunk.encode(encode, "xmlcharrefreplace"),
                tail.encode(encode, "xmlcharrefreplace"),
            )
        head, chunk, tail = self._oversized_cache[posting.index]
        response = web.StreamResponse(headers={"Content-Type": f"text/html; charset={site.encoding}"})
        await response.prepare(request)
        budget = max(0, self.oversized_bytes - len(head) - len(tail))
        try:
            await response.write(head)
            while budget > 0:
                piece = chunk if len(chunk) <= budget else chunk[:budget]
                await response.write(piece)
                budget -= len(piece)
            await response.write(tail)
            await response.write_eof()
        except ConnectionError as error:
            raise ClientGone(response) from error
        return response
