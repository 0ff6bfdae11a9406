"""A hostile web server for the tests, on loopback: compression bombs, trickled answers, redirects to private space."""

from __future__ import annotations

import contextlib
import functools
import gzip
import select
import socket
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import brotli

GIB = 1 << 30
ARTICLE = (
    b"<!doctype html><html><head><title>A fine article</title></head><body><article><h1>A fine article</h1>"
    + b"".join(
        b"<p>Volunteer managers in district %d reported new ways of working with buddies, rotas and taster days, "
        b"and trustees in that district agreed to fund %d more places next year.</p>" % (n, n + 3)
        for n in range(8)
    )
    + b"</article></body></html>"
)


@functools.cache
def gzip_of_a_gibibyte() -> bytes:
    """1 GiB of zeros gzipped: about 1 MB."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(compressor.compress(zeros) for _ in range(GIB >> 20)) + compressor.flush()


@functools.cache
def gzip_twice() -> bytes:
    """1 GiB gzipped twice: under 2 KB."""
    return gzip.compress(gzip_of_a_gibibyte(), 9)


@functools.cache
def brotli_of_a_gibibyte() -> bytes:
    """1 GiB of zeros in brotli: under 2 KB."""
    compressor = brotli.Compressor(quality=5)
    zeros = bytes(1 << 20)
    return b"".join(compressor.process(zeros) for _ in range(GIB >> 20)) + compressor.finish()


class HostileServer:
    """Serves ``routes`` (path -> handler function); counts requests per path and notes when each began."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.hits: dict[str, int] = {}
        self.starts: list[float] = []
        self.lock = threading.Lock()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with hostile.lock:
                    hostile.hits[self.path] = hostile.hits.get(self.path, 0) + 1
                    hostile.starts.append(time.monotonic())
                with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
                    hostile.routes.get(self.path, not_found)(self)
                self.close_connection = True

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def most_started_within(self, seconds: float) -> int:
        """The most requests that began within any window of ``seconds``."""
        starts = sorted(self.starts)
        return max((sum(1 for t in starts[i:] if t - start < seconds) for i, start in enumerate(starts)), default=0)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def not_found(handler: BaseHTTPRequestHandler) -> None:
    answer(404, {}, b"not here")(handler)


def answer(status: int, headers: dict[str, str], body: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def trickle(raw: bytes, every: float) -> Callable[[BaseHTTPRequestHandler], None]:
    """Writes a whole raw answer (status line and headers included) one byte at a time."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        for byte in raw:
            if _client_left(handler):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return respond


def _client_left(handler: BaseHTTPRequestHandler) -> bool:
    # Readable with nothing to read: the client has closed its end (a write would not say so at once).
    connection = handler.connection
    if not select.select([connection], [], [], 0)[0]:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


TRICKLED_ARTICLE = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"p" * 200 + b"\r\n\r\n" + ARTICLE
