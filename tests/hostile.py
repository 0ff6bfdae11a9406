"""A hostile web server for the tests, on loopback: compression bombs, trickled answers, redirects to private space."""

from __future__ import annotations

import functools
import gzip
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import brotli

GIB = 1 << 30
ARTICLE = (
    b"<!doctype html><html><head><title>A fine article</title></head><body><article><h1>A fine article</h1>"
    + b"<p>Volunteer managers across the region reported new ways of working with buddies and rotas.</p>" * 8
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
    """Serves ``routes`` (path -> handler function); counts requests per path and connections open at once."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.hits: dict[str, int] = {}
        self.open_now = 0
        self.most_open = 0
        self.lock = threading.Lock()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with hostile.lock:
                    hostile.hits[self.path] = hostile.hits.get(self.path, 0) + 1
                    hostile.open_now += 1
                    hostile.most_open = max(hostile.most_open, hostile.open_now)
                try:
                    hostile.routes.get(self.path, not_found)(self)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    pass
                finally:
                    with hostile.lock:
                        hostile.open_now -= 1
                self.close_connection = True

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

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
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return respond


TRICKLED_ARTICLE = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"p" * 200 + b"\r\n\r\n" + ARTICLE
