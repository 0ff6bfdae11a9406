"""The one fetch against a hostile server on loopback: bombs, trickles, redirects, rebinding, private address forms."""

from __future__ import annotations

import gzip
import time
import tracemalloc

import pytest
from hostile import (
    ARTICLE,
    TRICKLED_ARTICLE,
    HostileServer,
    answer,
    brotli_of_a_gibibyte,
    gzip_of_a_gibibyte,
    gzip_twice,
    trickle,
)

from signpost.spiders.discovery import discover
from signpost.spiders.fetch import FetchError, FetchRules, HttpFetcher, fetch_url
from signpost.spiders.urls import AddressRules, UnsafeURLError, check_source_url

LIMIT = 5 * 1024 * 1024
LOOPBACK = FetchRules(addresses=AddressRules(allow_private=True), deadline=3)


@pytest.fixture
def hostile():
    server = HostileServer()
    yield server
    server.close()


def peak_bytes(action) -> tuple[int, object]:
    """The most memory Python held while ``action`` ran, and what it raised (or returned)."""
    tracemalloc.start()
    try:
        outcome = action()
    except Exception as error:  # the outcome is what the test looks at
        outcome = error
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, outcome


def test_gzip_and_brotli_bombs_stop_at_the_cap_without_inflating(hostile):
    hostile.routes = {
        "/gzip": answer(200, {"Content-Encoding": "gzip", "Content-Type": "text/html"}, gzip_of_a_gibibyte()),
        "/br": answer(200, {"Content-Encoding": "br", "Content-Type": "text/html"}, brotli_of_a_gibibyte()),
        "/twice": answer(200, {"Content-Encoding": "gzip, gzip", "Content-Type": "text/html"}, gzip_twice()),
        "/stacked": answer(200, {"Content-Encoding": "gzip", "Content-Type": "text/html"}, gzip_twice()),
    }
    assert len(gzip_twice()) < 2000 and len(brotli_of_a_gibibyte()) < 2000
    for path in ("/gzip", "/br"):
        peak, outcome = peak_bytes(lambda path=path: fetch_url(hostile.url + path, LOOPBACK))
        assert isinstance(outcome, FetchError) and f"over the {LIMIT} byte limit" in str(outcome), outcome
        # One cap's worth of bytes, a piece past it, and the decompressor: nowhere near 1 GiB.
        assert peak < 3 * LIMIT, (path, peak)
    peak, outcome = peak_bytes(lambda: fetch_url(hostile.url + "/twice", LOOPBACK))
    assert isinstance(outcome, FetchError) and "more than one Content-Encoding" in str(outcome)
    # One Content-Encoding is undone, once: the inner gzip stays a 1 MB body nobody inflates.
    result = fetch_url(hostile.url + "/stacked", LOOPBACK)
    assert result.body[:2] == b"\x1f\x8b" and len(result.body) == len(gzip_of_a_gibibyte())


def test_a_gzip_body_of_several_members_is_read_whole(hostile):
    body = gzip.compress(b"<p>first half</p>") + gzip.compress(b"<p>second half</p>")
    hostile.routes = {"/two": answer(200, {"Content-Encoding": "gzip"}, body)}
    assert fetch_url(hostile.url + "/two", LOOPBACK).body == b"<p>first half</p><p>second half</p>"


def test_asks_only_for_encodings_it_can_cap(hostile):
    seen = {}

    def record(handler):
        seen.update(handler.headers)
        answer(200, {}, b"ok")(handler)

    hostile.routes = {"/": record}
    fetch_url(hostile.url + "/", LOOPBACK)
    assert seen["Accept-Encoding"] == "gzip, deflate, br"


def test_a_deadline_holds_over_trickled_headers_and_body(hostile):
    # One byte every 50 ms: each read succeeds well within any per-read timeout, the whole never ends in time.
    hostile.routes = {"/slow": trickle(TRICKLED_ARTICLE, 0.05)}
    rules = FetchRules(addresses=AddressRules(allow_private=True), deadline=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"no complete answer within 1\.5 s"):
        fetch_url(hostile.url + "/slow", rules)
    assert time.monotonic() - started < 3


def test_redirects_are_followed_a_few_times_each_target_checked(hostile):
    hostile.routes = {f"/r{n}": answer(302, {"Location": f"/r{n + 1}"}, b"") for n in range(8)}
    hostile.routes["/r8"] = answer(200, {"Content-Type": "text/html"}, ARTICLE)
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch_url(hostile.url + "/r0", LOOPBACK)
    assert fetch_url(hostile.url + "/r3", LOOPBACK).body == ARTICLE
    hostile.routes["/out"] = answer(302, {"Location": "http://[::ffff:169.254.169.254]/latest/"}, b"")
    rules = FetchRules(addresses=AddressRules.of(False, ["127.0.0.1/32"]), deadline=3)
    with pytest.raises(FetchError, match=r"refused: ::ffff:169\.254\.169\.254 resolves to"):
        fetch_url(hostile.url + "/out", rules)


class Rebinder:
    """A resolver we control: answers each name from a list in turn (the last answer repeats)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return [self.answers[min(len(self.asked), len(self.answers)) - 1]]


@pytest.fixture
def public_and_private():
    """A "public" server on 127.0.0.2 (an allowed network here) and a private one on 127.0.0.1, same port."""
    public = HostileServer("127.0.0.2")
    private = HostileServer("127.0.0.1", public.server.server_address[1])
    public.routes = {"/page": answer(200, {"Content-Type": "text/html"}, ARTICLE)}
    private.routes = {"/page": answer(200, {"Content-Type": "text/html"}, b"SECRET")}
    yield public, private
    public.close()
    private.close()


def test_a_name_is_resolved_once_and_the_vetted_address_is_the_one_connected(public_and_private):
    public, private = public_and_private
    port = public.server.server_address[1]
    # Public to the first question, loopback to any later one: a check-then-connect fetch would read SECRET.
    rebinder = Rebinder("127.0.0.2", "127.0.0.1")
    rules = FetchRules(addresses=AddressRules.of(False, ["127.0.0.2/32"]), deadline=3, resolve=rebinder)
    result = fetch_url(f"http://rebind.test:{port}/page", rules)
    assert result.body == ARTICLE and rebinder.asked == ["rebind.test"]
    assert private.hits == {}
    # Asked again, the name now answers loopback, and that answer is refused before any connection.
    with pytest.raises(FetchError, match=r"refused: rebind\.test resolves to 127\.0\.0\.1"):
        fetch_url(f"http://rebind.test:{port}/page", rules)
    assert private.hits == {}
    # Discovery goes through the same fetch.
    discovery = discover(f"http://rebind.test:{port}/page", allow_private=False, rules=rules)
    assert private.hits == {} and "resolves to 127.0.0.1, a private" in discovery.problems[0]


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(UnsafeURLError, match="does not resolve"):
        check_source_url("http://no-such-host.invalid/feed", allow_private=False)
    with pytest.raises(FetchError, match=r"refused: no-such-host\.invalid does not resolve"):
        fetch_url("http://no-such-host.invalid/feed", FetchRules(deadline=3))


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",  # IPv4-compatible loopback
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[::ffff:10.1.2.3]",
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[64:ff9b:1::1]",  # local-use NAT64
        "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
        "[2002:c0a8:101::1]",  # 6to4 of 192.168.1.1
        "[::1]",
        "[fe80::1]",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
    ],
)
def test_private_addresses_in_every_form_are_refused(host, hostile):
    url = f"http://{host}:{hostile.url.rsplit(':', 1)[1]}/"
    with pytest.raises(UnsafeURLError, match="private or loopback"):
        check_source_url(url, allow_private=False)
    with pytest.raises(FetchError, match=r"refused: .*private or loopback"):
        fetch_url(url, FetchRules(deadline=3))
    assert hostile.hits == {}


@pytest.mark.parametrize("host", ["[64:ff9b::808:808]", "[2002:808:808::1]", "[::ffff:8.8.8.8]", "8.8.8.8"])
def test_public_addresses_in_those_forms_pass_the_check(host):
    # Only checked, never fetched: the tests send nothing off this machine.
    assert check_source_url(f"http://{host}/", allow_private=False)


def test_one_fetcher_serves_many_fetches_each_under_its_own_deadline(hostile):
    hostile.routes = {"/ok": answer(200, {}, b"fine"), "/slow": trickle(TRICKLED_ARTICLE, 0.05)}
    with HttpFetcher(FetchRules(addresses=AddressRules(allow_private=True), deadline=1)) as fetch:
        with pytest.raises(FetchError, match="no complete answer"):
            fetch(hostile.url + "/slow")
        assert fetch(hostile.url + "/ok").body == b"fine"
