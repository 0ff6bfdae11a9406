"""Discovery of feeds, sitemaps and listing pages against small sites served on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from signpost.spiders.discovery import FetchError, HttpFetcher, discover
from signpost.spiders.fetch import FetchRules
from signpost.spiders.urls import AddressRules

Route = tuple[int, dict[str, str], bytes]

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title><link>/</link>
<item><title>First post</title><link>/posts/first-post-about-volunteers</link>
<pubDate>Mon, 06 May 2024 10:00:00 GMT</pubDate></item>
<item><title>Second post</title><link>/posts/second-post-about-funding</link></item>
</channel></rss>"""
HTML = {"Content-Type": "text/html; charset=utf-8"}
XML = {"Content-Type": "application/xml"}


def page(head: str = "", body: str = "") -> bytes:
    return f"<!doctype html><html><head><title>A site</title>{head}</head><body>{body}</body></html>".encode()


ARTICLE_LINKS = "".join(
    f'<article><a href="/news/2024/05/story-number-{n}-about-charities">Story {n}</a></article>' for n in range(6)
)


class Site:
    """A tiny web site: fixed routes, and a log of the paths that were asked for."""

    def __init__(self, routes: dict[str, Route | Callable[[BaseHTTPRequestHandler], None]], host: str) -> None:
        self.routes = routes
        self.requested: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requested.append(self.path)
                route = site.routes.get(self.path, (404, HTML, b"<html><body>Not found</body></html>"))
                if callable(route):
                    route(self)
                    return
                status, headers, body = route
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[dict], Site]]:
    sites: list[Site] = []

    def start(routes: dict, host: str = "127.0.0.1") -> Site:
        sites.append(Site(routes, host))
        return sites[-1]

    yield start
    for site in sites:
        site.close()


def test_head_linked_feed_comes_first_and_common_paths_are_not_probed(serve) -> None:
    site = serve(
        {
            "/": (200, HTML, page('<link rel="alternate" type="application/rss+xml" title="Posts" href="/posts.rss">')),
            "/posts.rss": (200, {"Content-Type": "application/rss+xml"}, RSS % b"Posts"),
            "/robots.txt": (200, {}, b"User-agent: *\nSitemap: /sitemap.xml\n"),
            "/sitemap.xml": (200, XML, b"<urlset><url><loc>/posts/first-post-about-volunteers</loc></url></urlset>"),
        }
    )
    discovery = discover(site.url + "/", allow_private=True, sample_size=1)
    kinds = [(candidate.kind, candidate.url) for candidate in discovery.candidates]
    assert kinds == [("feed", site.url + "/posts.rss"), ("sitemap", site.url + "/sitemap.xml")]
    feed = discovery.candidates[0]
    assert (feed.title, feed.item_count, feed.found_by) == ("Posts", 2, "a <link> in the page head")
    assert [entry.url for entry in feed.sample] == [site.url + "/posts/first-post-about-volunteers"]
    assert "/feed" not in site.requested and "/rss.xml" not in site.requested


def test_site_with_only_a_feed_at_a_common_path(serve) -> None:
    site = serve({"/": (200, HTML, page(body="<p>Welcome</p>")), "/feed/": (200, XML, RSS % b"Only feed")})
    discovery = discover(site.url, allow_private=True)
    [candidate] = discovery.candidates
    assert (candidate.kind, candidate.url, candidate.title) == ("feed", site.url + "/feed/", "Only feed")
    assert candidate.found_by == "a common feed path"
    # Probing stops at the first feed found.
    assert "/rss" not in site.requested


def test_site_with_only_a_sitemap_in_robots_txt(serve) -> None:
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>/sitemaps/old.xml</loc><lastmod>2020-01-01</lastmod></sitemap>
      <sitemap><loc>/sitemaps/new.xml</loc><lastmod>2024-05-01</lastmod></sitemap>
    </sitemapindex>"""
    child = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>/a/older-article-slug-here</loc><lastmod>2024-04-01</lastmod></url>
      <url><loc>/a/newest-article-slug-here</loc><lastmod>2024-05-01</lastmod></url>
      <url><loc>/a/undated-article-slug-here</loc></url>
    </urlset>"""
    site = serve(
        {
            "/": (200, HTML, page(body="<p>Nothing to see</p>")),
            "/robots.txt": (200, {"Content-Type": "text/plain"}, b"User-agent: *\nSitemap: /sitemap_index.xml\n"),
            "/sitemap_index.xml": (200, XML, index),
            "/sitemaps/new.xml": (200, XML, child),
        }
    )
    discovery = discover(site.url + "/", allow_private=True)
    [candidate] = discovery.candidates
    assert (candidate.kind, candidate.url, candidate.found_by) == (
        "sitemap",
        site.url + "/sitemap_index.xml",
        "robots.txt",
    )
    assert candidate.item_count == 3
    assert [entry.url for entry in candidate.sample] == [
        site.url + "/a/newest-article-slug-here",
        site.url + "/a/older-article-slug-here",
        site.url + "/a/undated-article-slug-here",
    ]
    assert "/sitemaps/old.xml" not in site.requested
    assert any("no feed" in problem for problem in discovery.problems)


def test_listing_only_site(serve) -> None:
    site = serve({"/news/": (200, HTML, page(body=f"<nav><a href='/'>Home</a></nav><main>{ARTICLE_LINKS}</main>"))})
    discovery = discover(site.url + "/news/", allow_private=True, sample_size=2)
    [candidate] = discovery.candidates
    assert (candidate.kind, candidate.url, candidate.title, candidate.item_count) == (
        "listing",
        site.url + "/news/",
        "A site",
        6,
    )
    assert [entry.url for entry in candidate.sample] == [
        site.url + "/news/2024/05/story-number-0-about-charities",
        site.url + "/news/2024/05/story-number-1-about-charities",
    ]
    # A section page gets its own feed path tried first.
    assert site.requested[1] == "/news/feed/"


def test_the_url_itself_is_a_feed(serve) -> None:
    site = serve({"/feed.xml": (200, XML, RSS % b"Direct")})
    discovery = discover(site.url + "/feed.xml", allow_private=True)
    assert [(c.kind, c.found_by) for c in discovery.candidates] == [("feed", "the URL itself")]
    assert site.requested == ["/feed.xml"]


def test_broken_linked_feed_is_a_problem_not_a_candidate(serve) -> None:
    site = serve(
        {
            "/": (200, HTML, page('<link rel="alternate" type="application/atom+xml" href="/atom.xml">')),
            "/atom.xml": (200, XML, b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n<entry><ti'),
        }
    )
    discovery = discover(site.url, allow_private=True)
    assert discovery.candidates == []
    assert any(p.startswith(site.url + "/atom.xml: not a feed: XML syntax error at line 3") for p in discovery.problems)
    assert discovery.problems[-1].endswith("found no feed, sitemap or list of articles to crawl")


def test_loopback_is_refused_unless_allowed(serve) -> None:
    site = serve({"/": (200, HTML, page())})
    discovery = discover(site.url, allow_private=False)
    assert discovery.candidates == []
    assert "private or loopback" in discovery.problems[0]
    assert site.requested == []


def test_redirect_into_a_private_address_is_refused(serve) -> None:
    other = serve({"/": (200, XML, RSS % b"Internal")})
    # 127.0.0.2 stands in for a public site (SIGNPOST_ALLOWED_NETWORKS); every other private address is refused.
    site = serve(
        {
            "/": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/inside": (301, {"Location": other.url + "/"}, b""),
        },
        host="127.0.0.2",
    )
    rules = FetchRules(addresses=AddressRules.of(False, ["127.0.0.2/32"]), deadline=2)
    fetch = HttpFetcher(rules)
    with pytest.raises(FetchError, match=r"refused: 169\.254\.169\.254 resolves to 169\.254\.169\.254, a private"):
        fetch(site.url + "/")
    with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a private or loopback"):
        fetch(site.url + "/inside")
    assert other.requested == []
    discovery = discover(site.url + "/inside", allow_private=False, rules=rules)
    fetch.close()
    assert discovery.candidates == []
    assert "refused" in discovery.problems[0]
    assert other.requested == []


def test_too_many_redirects(serve) -> None:
    site = serve({f"/r{n}": (302, {"Location": f"/r{n + 1}"}, b"") for n in range(10)})
    with HttpFetcher(allow_private=True) as fetch, pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(site.url + "/r0")
    with HttpFetcher(allow_private=True, max_redirects=20) as fetch:
        result = fetch(site.url + "/r0")
    assert (result.status, result.final_url) == (404, site.url + "/r10")


def stream_without_length(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/xml")
    handler.end_headers()
    try:
        for _ in range(200):
            handler.wfile.write(b"<x>" + b"a" * 65536 + b"</x>")
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_oversized_responses_are_capped(serve) -> None:
    six_megabytes = b"<rss>" + b" " * (6 * 1024 * 1024) + b"</rss>"
    site = serve({"/declared": (200, XML, six_megabytes), "/streamed": stream_without_length})
    with HttpFetcher(allow_private=True) as fetch:
        with pytest.raises(FetchError, match="response of 6291467 bytes is over the 5242880 byte limit"):
            fetch(site.url + "/declared")
        with pytest.raises(FetchError, match="response is over the 5242880 byte limit"):
            fetch(site.url + "/streamed")
    discovery = discover(site.url + "/streamed", allow_private=True)
    assert discovery.candidates == []
    assert "byte limit" in discovery.problems[0]


def test_network_errors_become_problems() -> None:
    discovery = discover("http://127.0.0.1:9/", allow_private=True)
    assert discovery.candidates == []
    assert discovery.problems[0].startswith("http://127.0.0.1:9/: ConnectError")


def test_base_href_is_honoured_and_rest_api_links_are_not_feeds(serve) -> None:
    head = (
        '<base href="/blog/">'
        '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/7">'
        '<link rel="alternate" type="application/rss+xml" href="feed.rss">'
    )
    latin1 = (RSS % "Caf\xe9 news".encode("latin-1")).replace(b'<?xml version="1.0"?>', b"")
    site = serve(
        {
            "/": (200, HTML, page(head)),
            "/blog/feed.rss": (200, {"Content-Type": "application/rss+xml; charset=iso-8859-1"}, latin1),
        }
    )
    discovery = discover(site.url + "/", allow_private=True)
    [feed] = [candidate for candidate in discovery.candidates if candidate.kind == "feed"]
    assert (feed.url, feed.title) == (site.url + "/blog/feed.rss", "Café news")
    assert "/wp-json/wp/v2/pages/7" not in site.requested


@pytest.mark.parametrize("url", ["http://example.c[o.test/", "http://example.com:99999/", "example.c[o.test"])
def test_a_malformed_url_is_a_problem_not_a_crash(url: str) -> None:
    discovery = discover(url, allow_private=True)
    assert discovery.candidates == []
    assert "not a usable http(s) URL" in discovery.problems[0]


def test_a_source_added_from_a_url_is_named_for_the_site_not_its_page_title(serve, engine, settings) -> None:
    from signpost.spiders.registry import add_source_from_url

    site = serve({"/": (200, HTML, page()), "/feed/": (200, XML, RSS % b"Latest news | Fundraising Network")})
    source, _ = add_source_from_url(engine, settings.model_copy(update={"allow_private_addresses": True}), site.url)
    assert source.name == "Fundraising Network"
