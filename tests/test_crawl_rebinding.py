"""The crawl connects only to the address it vetted: a host that answers public to the check and private to the
connection (DNS rebinding) reads nothing from the private server. Real Scrapy, real servers on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from signpost.digests.mail_sink import free_port

# Runs a one-request crawl with Signpost's Scrapy settings; the host lookup is scripted to answer in turn.
CRAWL = textwrap.dedent(
    """
    import json, sys
    from scrapy import Request, Spider
    from scrapy.crawler import CrawlerProcess
    from signpost.config.settings import Settings
    from signpost.spiders.scrapy_settings import scrapy_settings

    url, answers = sys.argv[1], json.loads(sys.argv[2])
    lookups, results = [], []

    def scripted_lookup(host):
        lookups.append(answers[min(len(lookups), len(answers) - 1)])
        return [lookups[-1]]

    class Probe(Spider):
        name = "probe"

        async def start(self):
            yield Request(url, errback=self.failed, dont_filter=True)

        def parse(self, response):
            results.append(response.text)

        def failed(self, failure):
            results.append("failed: " + str(failure.value))

    settings = scrapy_settings(Settings(allow_private_addresses=False, allowed_networks=["127.0.0.2/32"]))
    settings.update(ITEM_PIPELINES={}, ROBOTSTXT_OBEY=False, RETRY_TIMES=0, AUTOTHROTTLE_ENABLED=False,
                    SIGNPOST_HOST_LOOKUP="__main__.scripted_lookup", LOG_LEVEL="ERROR")
    process = CrawlerProcess(settings)
    process.crawl(Probe)
    process.start()
    print(json.dumps({"lookups": lookups, "results": results}))
    """
)


def serve(host: str, port: int, body: bytes, hits: list[str]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def two_servers():
    """A "public" server on 127.0.0.2 (an allowed network here) and a private one on 127.0.0.1, same port."""
    port = free_port()
    public_hits: list[str] = []
    private_hits: list[str] = []
    servers = [
        serve("127.0.0.2", port, b"public page", public_hits),
        serve("127.0.0.1", port, b"SECRET from the private network", private_hits),
    ]
    yield port, public_hits, private_hits
    for server in servers:
        server.shutdown()
        server.server_close()


def crawl(url: str, answers: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CRAWL, url, json.dumps(answers)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_crawl_reads_a_host_through_the_address_it_vetted(two_servers):
    port, public_hits, private_hits = two_servers
    report = crawl(f"http://rebind.test:{port}/page", ["127.0.0.2"])
    assert report["results"] == ["public page"]
    assert (public_hits, private_hits) == (["/page"], [])


def test_crawl_refuses_a_host_that_rebinds_to_a_private_address(two_servers):
    port, public_hits, private_hits = two_servers
    # The middleware's check gets the public answer; the lookup the connection uses gets 127.0.0.1.
    report = crawl(f"http://rebind.test:{port}/page", ["127.0.0.2", "127.0.0.1"])
    assert report["lookups"] == ["127.0.0.2", "127.0.0.1"]
    assert len(report["results"]) == 1 and report["results"][0].startswith("failed: "), report
    assert "SECRET" not in json.dumps(report)
    assert (public_hits, private_hits) == ([], [])
