"""The admin's journey through the ``signpost`` command: add, list, show, disable, OPML, sync, crawl, extract."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import shared_data
from signpost.cli import context
from signpost.cli.main import app
from signpost.fixtureweb import FixtureServer, build_fixture_web

pytestmark = pytest.mark.slow
SIGNPOST = str(Path(sys.executable).with_name("signpost"))


@pytest.fixture
def signpost(store_url, tmp_path, monkeypatch):
    """Run ``signpost ARGS`` against the test's own store; returns the result, failing on a crash."""
    for name, value in {
        "DATABASE_URL": store_url,
        "VAR_DIR": str(tmp_path / "var"),
        "ALLOW_PRIVATE_ADDRESSES": "true",
        "AUTOTHROTTLE": "false",
        "DOWNLOAD_TIMEOUT": "5",
    }.items():
        monkeypatch.setenv(f"SIGNPOST_{name}", value)
    # pytest-xdist sets COLUMNS=80 in its workers, which the console honours as a terminal's width.
    monkeypatch.setattr(context.console, "width", 240)
    monkeypatch.setattr(context.errors, "width", 240)
    runner = CliRunner()

    def run(*args: str, expect: int = 0):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == expect, (args, result.output)
        return result

    return run


@pytest.fixture(scope="module")
def small_web():
    web = build_fixture_web([shared_data("sector-seeds")], sites=3, articles_per_site=4, faults=False)
    with FixtureServer(web, port=0) as server:
        yield web, server


def test_admin_adds_lists_shows_disables_and_exports_sources(signpost, small_web, tmp_path):
    web, _ = small_web
    site = web.sites[0]
    added = signpost("sources", "add", site.base_url, "--name", "First site")
    assert "Saved source 1" in added.output
    # The sample of what was found names real article titles of the site.
    assert any(truth.title[:30] in added.output for truth in web.truth.values() if truth.site == site.name)

    listed = signpost("sources", "list").output
    assert "First site" in listed and "new" in listed
    # Piped (to grep, say), the table is not wrapped at 80 columns: each source stays on one line.
    env = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    piped = subprocess.run([SIGNPOST, "sources", "list"], env=env, capture_output=True, text=True, timeout=120)
    lines = piped.stdout.splitlines()
    assert any("last attempt" in line and "last error" in line for line in lines), piped.stdout
    assert any("First site" in line and "feed" in line and "new" in line for line in lines), piped.stdout
    assert "First site" in signpost("sources", "show", "1").output
    signpost("sources", "disable", "1")
    assert "disabled" in signpost("sources", "list").output
    signpost("sources", "show", "99", expect=1)

    exported = tmp_path / "sources.opml"
    signpost("sources", "export-opml", "--out", str(exported))
    signpost("sources", "remove", "1")
    assert "First site" not in signpost("sources", "list").output
    imported = signpost("sources", "import-opml", str(exported)).output
    assert "Imported 1 sources" in imported

    # A mismatched tag is recovered from; what was skipped, and why, is said.
    broken = tmp_path / "broken.opml"
    broken.write_text("<opml><body><outline xmlUrl='x'></body>")
    recovered = signpost("sources", "import-opml", str(broken)).output
    assert f"{broken}:1: mismatched tag" in recovered and "xmlUrl 'x', not an http(s) URL" in recovered
    not_xml = tmp_path / "not.opml"
    not_xml.write_text("just words")
    assert str(not_xml) in signpost("sources", "import-opml", str(not_xml), expect=1).output


def test_sync_then_crawl_lands_every_article(signpost, small_web, tmp_path):
    web, _ = small_web
    config = tmp_path / "signpost.yaml"
    lines = [
        "communities:",
        "  - slug: volunteering",
        "    name: Volunteer managers",
        "    topics:",
        "      - {slug: recruiting, name: Recruiting volunteers, description: Finding and keeping volunteers.}",
        "sources:",
    ] + [f"  - {{url: '{site.base_url}', communities: [volunteering]}}" for site in web.sites]
    config.write_text("\n".join(lines) + "\n")
    assert "sources saved: 3" in signpost("sync", str(config)).output

    typo = tmp_path / "typo.yaml"
    typo.write_text(config.read_text().replace("description:", "descripton:"))
    message = signpost("sync", str(typo), expect=1).output
    assert "typo.yaml:5" in message and "descripton" in message

    # The crawl runs Prefect flows, whose log handlers outlive CliRunner's streams: run it as a user would.
    env = {**os.environ, "COLUMNS": "240"}
    crawled = subprocess.run([SIGNPOST, "crawl"], env=env, capture_output=True, text=True, timeout=300)
    assert crawled.returncode == 0, crawled.stderr
    assert f"{len(web.truth)} new articles" in crawled.stdout
    assert "extracting articles" in crawled.stdout  # the progress bar
    assert str(len(web.truth)) in signpost("articles").output
    # Nothing is due again until the next check.
    again = subprocess.run([SIGNPOST, "crawl"], env=env, capture_output=True, text=True, timeout=300)
    assert "Crawled 0 sources" in again.stdout, again.stderr

    # The community's candidates with their reasons; a curator's decision from the command line is recorded.
    args = ["rank", "--community", "volunteering", "--since", "2000-01-01", "--limit", "3"]
    ranked = subprocess.run([SIGNPOST, *args], env=env, capture_output=True, text=True, timeout=600)
    assert ranked.returncode == 0, ranked.stderr
    assert "Recruiting volunteers (recruiting)" in ranked.stdout and "About “Recruiting volunteers”" in ranked.stdout
    article_id = re.search(r"^│\s*(\d+)\s*│", ranked.stdout, re.MULTILINE).group(1)
    decided = signpost("decide", "volunteering", "recruiting", article_id, "approve", "--by", "cat@example.org")
    assert f"approve article {article_id}" in decided.output
    signpost("decide", "volunteering", "nosuchtopic", article_id, "approve", expect=1)


def test_extract_one_file_prints_its_article(signpost, tmp_path):
    dev_set = shared_data("extraction-dev")
    truth = json.loads((dev_set / "ground-truth.json").read_text(encoding="utf-8"))
    page_id = sorted(truth)[0]
    article = json.loads(signpost("extract", str(dev_set / "html" / f"{page_id}.html.gz")).output)
    opening = " ".join(re.findall(r"\w+", article["text"])[:8])
    assert opening and opening in " ".join(re.findall(r"\w+", truth[page_id]["articleBody"]))
    signpost("extract", str(tmp_path / "missing.html"), expect=1)


def test_bench_extraction_prints_both_extractors(signpost):
    result = signpost("bench", "extraction", str(shared_data("extraction-dev")), "--limit", "5", "--json")
    figures = json.loads(result.stdout)  # the progress bar goes to stderr, so stdout is the JSON alone
    assert figures["pages"] == 5 and figures["signpost"]["f1"] > 0.5 and figures["trafilatura"]["f1"] > 0.5


def test_stored_strings_print_as_text_not_markup(signpost, tmp_path):
    feed = (
        b"<rss version='2.0'><channel><title>Sector news [/] [bold]x\x1b[31m</title><link>/</link>"
        b"<item><title>[red]Item[/red]</title><link>/posts/a-first-story-here</link></item></channel></rss>"
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, status = (feed, 200) if self.path == "/feed.xml" else (b"", 404)
            self.send_response(status)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
        added = signpost("sources", "add", url).output
    finally:
        server.shutdown()
        server.server_close()
    assert "Sector news [/] [bold]x" in added and "[red]Item[/red]" in added
    assert "\x1b" not in added
    assert "Sector news [/] [bold]x" in signpost("sources", "list").output
    assert "Sector news [/] [bold]x" in signpost("sources", "show", "1").output
