"""The curator's desk in a real browser (Chromium through Playwright, one for the module) against uvicorn: a full
review by keyboard and by mouse with JavaScript (no reload, place and focus kept, changes announced) and by mouse
without it, the store checked after each action; axe-core on every page and on a sent email; screenshots of the
draft, the dashboard and an email at 1280 and 390 px written to var/screenshots/."""

from __future__ import annotations

import html
import http.server
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from test_web_browser import launched_chromium
from test_web_public import publish
from test_web_review import ArticleHandler
from test_web_support import PASSWORD, Inbox, Seeded, web_settings

from signpost.config.settings import Settings
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.mail_sink import free_port
from signpost.spiders.single_page import extract_file_or_url
from signpost.store.db import open_migrated_store
from signpost.store.digests import load_items
from signpost.store.members import add_member, confirm_membership, join_community, unsubscribe
from signpost.store.review import record_click, set_click_tracking
from signpost.store.scores import community_decisions
from signpost.store.sources import finish_crawl, start_crawl
from signpost.web.app import create_app
from signpost.web.hooks import WebHooks

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
WIDTHS = {"wide": (1280, 900), "narrow": (390, 844)}


expect = pytest.importorskip("playwright.sync_api", reason="pip install playwright").expect


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as launched:
        yield launched


@contextmanager
def serving(target, port: int):
    server = uvicorn.Server(uvicorn.Config(target, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def article_site(monkeypatch):
    monkeypatch.setenv("SIGNPOST_ALLOW_PRIVATE_ADDRESSES", "true")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), ArticleHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def inbox():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture
def desk(tmp_path, article_site, inbox):
    """A seeded store (SQLite: both databases are covered by the TestClient tests) and the app on a free port."""
    settings = Settings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'signpost.db'}")
    engine = open_migrated_store(settings.store_url)
    seeded = Seeded(engine)
    port = free_port()
    app_settings = web_settings(
        settings,
        public_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
    )
    app = create_app(app_settings, hooks=WebHooks(extract_url=extract_file_or_url))
    with serving(app, port):
        yield {"base": f"http://127.0.0.1:{port}", "seeded": seeded, "settings": app_settings, "site": article_site}
    engine.dispose()


def signed_in(browser, base: str, email: str, *, javascript: bool = True, width: str = "wide"):
    width_px, height_px = WIDTHS[width]
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": width_px, "height": height_px})
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.get_by_label("Email").first.fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base}/review")
    return context, page


def states(seeded) -> dict[int, str]:
    return {item.id: item.state for item in load_items(seeded.engine, seeded.vol_digest)}


def items(seeded):
    return load_items(seeded.engine, seeded.vol_digest)


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def wait_for_state(page, item_id: int, state: str) -> None:
    page.locator(f"#item-{item_id} .badge").filter(has_text=state).wait_for()


def test_a_full_review_by_keyboard_with_javascript(browser, desk):
    seeded = desk["seeded"]
    context, page = signed_in(browser, desk["base"], "sam@example.org")
    page.goto(f"{desk['base']}/review/digests/{seeded.vol_digest}")
    page.evaluate("window.notReloaded = true")
    first, second = items(seeded)[:2]
    page.keyboard.press("j")
    assert focused_id(page) == f"item-{first.id}"
    page.keyboard.press("a")
    wait_for_state(page, first.id, "approved")
    assert states(seeded)[first.id] == "approved" and focused_id(page) == f"item-{first.id}"
    expect(page.locator("#announce")).to_have_text(re.compile(r"^Approve: "))
    page.keyboard.press("j")
    page.keyboard.press("r")
    wait_for_state(page, second.id, "rejected")
    assert states(seeded)[second.id] == "rejected" and focused_id(page) == f"item-{second.id}"
    assert (second.article_id, "reject") in {
        (d.article_id, d.kind) for d in community_decisions(seeded.engine, seeded.vol.id)
    }
    page.keyboard.press("u")
    wait_for_state(page, second.id, "proposed")
    assert states(seeded)[second.id] == "proposed"
    assert second.article_id not in {d.article_id for d in community_decisions(seeded.engine, seeded.vol.id)}
    page.keyboard.press("k")
    page.keyboard.press("e")
    title = page.locator(f"#item-{first.id} input[name=title]")
    assert title.evaluate("element => element === document.activeElement")
    title.fill("Buddy schemes, checked by keyboard")
    title.press("Enter")
    page.locator(f"#item-{first.id} h3").filter(has_text="checked by keyboard").wait_for()
    assert items(seeded)[0].title == "Buddy schemes, checked by keyboard" and items(seeded)[0].edited
    expect(page.locator("#announce")).to_have_text("Saved.")
    assert focused_id(page) == f"item-{first.id}"
    page.keyboard.press("?")
    assert page.locator("#keys").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#keys").is_visible() and focused_id(page) == f"item-{first.id}"
    assert page.evaluate("window.notReloaded") is True
    context.close()


def test_a_full_review_by_mouse_with_javascript_keeps_the_place(browser, desk):
    seeded = desk["seeded"]
    context, page = signed_in(browser, desk["base"], "sam@example.org", width="narrow")
    page.goto(f"{desk['base']}/review/digests/{seeded.vol_digest}")
    page.evaluate("window.notReloaded = true")
    third = items(seeded)[2]
    item = page.locator(f"#item-{third.id}")
    item.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 120)")
    before = item.bounding_box()["y"]
    item.get_by_role("button", name="Approve").click()
    wait_for_state(page, third.id, "approved")
    assert states(seeded)[third.id] == "approved"
    assert abs(item.bounding_box()["y"] - before) < 2, "the item moved on the screen"
    # Up: the item takes the place above it, in the store and on the page.
    item.get_by_role("button", name="Move up").click()
    expect(page.locator(f"#topic-{seeded.recruitment} li.item").nth(1)).to_have_id(f"item-{third.id}")
    section = [i.id for i in items(seeded) if i.topic_id == seeded.recruitment]
    assert section.index(third.id) == 1 and focused_id(page) == f"item-{third.id}"
    # Another topic: the item moves to that section.
    item.get_by_label("Topic").select_option(label="Wellbeing")
    item.get_by_role("button", name="Move to topic").click()
    page.locator(f"#topic-{seeded.wellbeing} #item-{third.id}").wait_for()
    assert next(i for i in items(seeded) if i.id == third.id).topic_id == seeded.wellbeing
    # A link by hand, fetched and extracted on the spot; the new item gets the focus. One that fails says why.
    wellbeing = page.locator(f"#topic-{seeded.wellbeing}")
    wellbeing.get_by_label("Add a link by hand").fill(f"{desk['site']}/missing")
    wellbeing.get_by_role("button", name="Fetch and add").click()
    expect(page.locator("#toast")).to_contain_text("Not added: could not use")
    expect(page.locator("#announce")).to_contain_text("404")
    wellbeing.get_by_label("Add a link by hand").fill(f"{desk['site']}/story")
    wellbeing.get_by_role("button", name="Fetch and add").click()
    wellbeing.locator("li.item h3").filter(has_text="Rural lunch clubs").wait_for()
    added = next(i for i in items(seeded) if i.title == "Rural lunch clubs")
    assert added.state == "approved" and focused_id(page) == f"item-{added.id}"
    expect(page.locator("#announce")).to_have_text("Link added.")
    # The rest of Recruitment rejected at once; the decided ones keep their decision.
    page.locator(f"#topic-{seeded.recruitment}").get_by_role("button", name="Reject the rest of Recruitment").click()
    page.locator(f"#topic-{seeded.recruitment} .rest").wait_for(state="detached")
    recruiting = [i for i in items(seeded) if i.topic_id == seeded.recruitment]
    assert recruiting and all(i.state == "rejected" for i in recruiting)
    # Undecide by mouse.
    undo = page.locator(f"#item-{recruiting[0].id}")
    undo.get_by_role("button", name="Undecide").click()
    wait_for_state(page, recruiting[0].id, "proposed")
    assert states(seeded)[recruiting[0].id] == "proposed"
    assert page.evaluate("window.notReloaded") is True
    context.close()


def test_a_full_review_by_mouse_without_javascript(browser, desk):
    seeded = desk["seeded"]
    context, page = signed_in(browser, desk["base"], "sam@example.org", javascript=False)
    page.goto(f"{desk['base']}/review/digests/{seeded.vol_digest}")
    first, second, third = items(seeded)[:3]
    page.locator(f"#item-{first.id}").get_by_role("button", name="Approve").click()
    assert page.url.endswith(f"#item-{first.id}") and states(seeded)[first.id] == "approved"
    page.locator(f"#item-{second.id}").get_by_role("button", name="Reject").click()
    assert states(seeded)[second.id] == "rejected"
    page.locator(f"#item-{second.id}").get_by_role("button", name="Undecide").click()
    assert states(seeded)[second.id] == "proposed"
    page.locator(f"#item-{third.id}").get_by_role("button", name="Move up").click()
    assert [i.id for i in items(seeded) if i.topic_id == seeded.recruitment].index(third.id) == 1
    page.locator(f"#item-{third.id}").get_by_label("Topic").select_option(label="Wellbeing")
    page.locator(f"#item-{third.id}").get_by_role("button", name="Move to topic").click()
    assert next(i for i in items(seeded) if i.id == third.id).topic_id == seeded.wellbeing
    edit = page.locator(f"#item-{first.id} details.edit")
    edit.locator("summary").click()
    edit.get_by_label("Blurb").fill("Rewritten without JavaScript.")
    edit.get_by_role("button", name="Save").click()
    assert page.locator(".flash").inner_text() == "Saved."
    assert next(i for i in items(seeded) if i.id == first.id).blurb == "Rewritten without JavaScript."
    wellbeing = page.locator(f"#topic-{seeded.wellbeing}")
    wellbeing.get_by_label("Add a link by hand").fill(f"{desk['site']}/story")
    wellbeing.get_by_role("button", name="Fetch and add").click()
    assert page.locator(".flash").inner_text() == "Link added."
    assert any(i.title == "Rural lunch clubs" for i in items(seeded))
    page.locator(f"#topic-{seeded.recruitment}").get_by_role("button", name="Approve the rest of Recruitment").click()
    assert all(i.state == "approved" for i in items(seeded) if i.topic_id == seeded.recruitment)
    assert page.locator("#keys").is_hidden() and page.locator(".keys-hint").is_hidden()
    context.close()


def sent_week(desk) -> None:
    """The volunteering digest sent to two members over SMTP, clicked, one unsubscribed; a source's last crawls."""
    seeded, settings = desk["seeded"], desk["settings"]
    engine = seeded.engine
    set_click_tracking(engine, seeded.vol.id, True)
    publish(seeded)
    readers = []
    for email in ("one@example.net", "two@example.net"):
        member_id = add_member(engine, email, email.split("@")[0].title())
        join_community(engine, member_id, seeded.vol.id, {seeded.recruitment, seeded.wellbeing})
        confirm_membership(engine, member_id, seeded.vol.id)
        readers.append(member_id)
    queue_digest(engine, settings, seeded.vol_digest)
    assert send_digest(engine, settings, seeded.vol_digest).sent == 2
    approved = load_items(engine, seeded.vol_digest, ("approved",))
    for member_id, item in zip(readers, approved, strict=False):
        record_click(engine, item.id, member_id)
    unsubscribe(engine, readers[1], seeded.vol.id)
    # A source dying: fewer items each crawl, then failures.
    for found in (9, 8, 8, 6, 5, 3, 0, 0):
        crawl = start_crawl(engine, 1)
        finish_crawl(engine, crawl, ok=found > 0, items_found=found, pages_fetched=found, pages_failed=int(not found))


def axe_problems(axe, page) -> list[str]:
    results = axe.run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_page_and_an_email_pass_axe_and_are_pictured_at_two_widths(browser, desk, inbox):
    axe_module = pytest.importorskip(
        "axe_playwright_python.sync_playwright", reason="pip install axe-playwright-python"
    )
    axe = axe_module.Axe()
    sent_week(desk)
    seeded, base = desk["seeded"], desk["base"]
    member_id = add_member(seeded.engine, "one@example.net")
    pages = [
        "/",
        "/review",
        f"/review/digests/{seeded.vol_digest}",
        f"/review/digests/{seeded.care_digest}",
        f"/review/digests/{seeded.care_digest}/topics/{seeded.homes}/candidates",
        f"/review/digests/{seeded.vol_digest}/preview",
        "/admin",
        "/admin/sources",
        "/admin/communities",
        "/admin/communities/vol",
        "/admin/users",
        "/admin/members",
        f"/admin/members/{member_id}",
        "/admin/dashboard",
        "/admin/dashboard/vol",
        f"/admin/dashboard/vol/digests/{seeded.vol_digest}",
        "/admin/mail",
        f"/admin/mail/digests/{seeded.vol_digest}",
        "/c/vol/subscribe",
        "/c/vol/archive",
        f"/c/vol/digests/{seeded.vol_digest}",
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    email_html = inbox.messages[0].get_body(preferencelist=("html",)).get_content()
    # A member's own pages, reached from the email's links.
    pages += [
        html.unescape(link).removeprefix(base)
        for link in re.findall(r'href="([^"]+/(?:preferences|unsubscribe)/[^"]+)"', email_html)
    ]
    assert len(pages) == 23
    problems = {}
    for width in WIDTHS:
        context, page = signed_in(browser, base, "admin@example.org", width=width)
        for path in pages if width == "wide" else []:
            response = page.goto(base + path)
            assert response.status == 200, path
            problems[path] = axe_problems(axe, page)
        if width == "wide":
            assert page.goto(f"{base}/review/digests/999").status == 404
            problems["a page not found"] = axe_problems(axe, page)
            page.context.clear_cookies()
            page.goto(f"{base}/signin")
            problems["/signin"] = axe_problems(axe, page)
            context.close()
            context, page = signed_in(browser, base, "admin@example.org", width=width)
        shots = (
            ("draft", f"/review/digests/{seeded.care_digest}"),
            ("dashboard", "/admin/dashboard/vol"),
            ("sources", "/admin/sources"),
        )
        for name, path in shots:
            page.goto(base + path)
            page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} is {overflow}px wider than a {width} screen"
        page.set_content(email_html)
        page.screenshot(path=SCREENSHOTS / f"email-{width}.png", full_page=True)
        problems[f"email ({width})"] = axe_problems(axe, page)
        context.close()
    assert {where: found for where, found in problems.items() if found} == {}
