"""``signpost demo``: a demo consortium on a fixture web of sector sites, its weekly run, and optionally the send."""

from __future__ import annotations

import json
import os
import random
import time
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path

import typer
import yaml

from signpost.cli.context import console, errors
from signpost.fixtureweb import DEMO_CORPUS

DEMO_PORT = 8321
DEMO_COMMUNITY = "practice-network"
DEMO_PASSWORD = "signpost-demo-password"
CURATORS = (("sam.curator@demo.signpost.example", "Sam Okafor"), ("alex.curator@demo.signpost.example", "Alex Reid"))
ADMIN = ("admin@demo.signpost.example", "Demo admin")


def prepare_demo_environment(var_dir: Path, smtp_port: int, web_port: int = 8000) -> None:
    """Loopback sources allowed and mail to the local sink; explicit settings still win."""
    os.environ["SIGNPOST_ALLOW_PRIVATE_ADDRESSES"] = "true"
    os.environ.setdefault("SIGNPOST_PUBLIC_URL", f"http://127.0.0.1:{web_port}")
    os.environ.setdefault("SIGNPOST_SESSION_COOKIE_SECURE", "false")
    os.environ["SIGNPOST_SMTP_HOST"] = "127.0.0.1"
    os.environ["SIGNPOST_SMTP_PORT"] = str(smtp_port)
    os.environ["SIGNPOST_SMTP_SECURITY"] = "none"
    os.environ.setdefault("SIGNPOST_AUTOTHROTTLE", "false")


def demo_community(engine) -> int:
    """The demo consortium: the corpus's topics, curators with a password, an admin, and members."""
    from signpost.store.communities import get_community, save_community
    from signpost.store.members import MemberImport, import_members
    from signpost.store.users import save_user, set_curator
    from signpost.web.security import hash_password

    spec = yaml.safe_load((DEMO_CORPUS / "topics.yaml").read_text(encoding="utf-8"))
    save_community(
        engine,
        slug=DEMO_COMMUNITY,
        name=spec.get("name") or "Practice network",
        description="A learning consortium of charities sharing what works.",
        timezone="Europe/London",
        schedule="0 7 * * MON",
        items_per_topic=4,
        topic_list=[
            {"slug": topic["id"], "name": topic["name"], "description": topic.get("description", "")}
            for topic in spec["topics"]
        ],
    )
    community = get_community(engine, DEMO_COMMUNITY)
    password = hash_password(DEMO_PASSWORD)
    for email, name in CURATORS:
        set_curator(engine, save_user(engine, email, name, password_hash=password), community.id)
    save_user(engine, ADMIN[0], ADMIN[1], password_hash=password, is_admin=True)
    rng = random.Random(20261122)
    topic_ids = [topic.id for topic in community.topics]
    members = [
        MemberImport(f"member{n:03d}@demo.signpost.example", f"Member {n}", rng.sample(topic_ids, rng.randint(1, 3)))
        for n in range(1, 301)
    ]
    import_members(engine, community.id, members, confirmed=True)
    return community.id


def run_demo(
    *,
    sites: int,
    articles_per_site: int,
    approve: bool,
    serve: bool = False,
    port: int = DEMO_PORT,
    web_port: int = 8000,
) -> None:
    """The demo's weekly run (unless ``approve`` or ``serve`` find the draft it made), then approve and send it,
    or serve the fixture web, the mail sink and the web app until Ctrl-C."""
    from signpost.cli.context import settings_and_store
    from signpost.config.settings import load_settings
    from signpost.digests.mail_sink import MailSink

    var_dir = load_settings().var_dir
    with MailSink(var_dir / "mail") as sink:
        prepare_demo_environment(var_dir, sink.port, web_port)
        settings, engine = settings_and_store(migrate=True)
        made = demo_digest(engine) if approve or serve else None
        if made is None:
            demo_community(engine)
            digest_id = weekly_run(engine, settings, sites=sites, articles_per_site=articles_per_site, port=port)
        else:
            digest_id, web_spec = made
            console.print(f"Digest {digest_id}, drafted by an earlier `signpost demo`, is {web_spec['status']}.")
        if approve:
            publish_now(engine, digest_id)
        print_mail(sink)
        if serve:
            serve_demo(settings, engine, digest_id, web_port)
            print_mail(sink)
            return
    print_next_steps(settings, digest_id, approve)


def print_mail(sink) -> None:
    files = len(list(sink.folder.glob("*.eml")))
    console.print(
        f"\nMail in {sink.folder}/: {files} messages ({sink.count} from this run); open them with any mail app."
    )


def print_next_steps(settings, digest_id: int, approve: bool) -> None:
    public = settings.public_url.rstrip("/")
    sign_in = f"sign in as {CURATORS[0][0]} with the password {DEMO_PASSWORD} (the admin is {ADMIN[0]}, same password)"
    if approve:
        console.print(
            f"\n[bold]The digest is approved and sent.[/bold] Run `.venv/bin/signpost demo --serve` to read it at "
            f"{public}/c/{DEMO_COMMUNITY}/digests/{digest_id} (Atom: {public}/c/{DEMO_COMMUNITY}/feed.atom);"
            f"\nto see the review pages, {sign_in}."
        )
    else:
        console.print(
            f"\n[bold]Review the draft:[/bold] run `.venv/bin/signpost demo --serve` (the demo's sites, its mail sink "
            f"and the web app), open {public}/review/digests/{digest_id}\nand {sign_in}."
            "\nOr approve and send it from here: `.venv/bin/signpost demo --approve`."
        )


def demo_digest(engine) -> tuple[int, dict] | None:
    """The newest digest of the demo community and how its fixture web was built, if a demo ran here before."""
    from signpost.store.communities import get_community
    from signpost.store.digests import list_digests

    spec_file = _web_spec_file()
    try:
        community = get_community(engine, DEMO_COMMUNITY)
    except LookupError:
        return None
    digests = list_digests(engine, community.id)
    if not digests or not spec_file.exists():
        return None
    return digests[0].id, json.loads(spec_file.read_text(encoding="utf-8")) | {"status": digests[0].status}


def _web_spec_file() -> Path:
    from signpost.config.settings import load_settings

    return load_settings().var_dir / "demo-web.json"


def demo_fixture_web(spec: dict):
    """The same fixture web as the run that drafted the digest: same sites, same articles, same dates."""
    from signpost.fixtureweb import build_fixture_web

    return build_fixture_web(
        [DEMO_CORPUS],
        sites=spec["sites"],
        articles_per_site=spec["articles_per_site"],
        now=datetime.fromisoformat(spec["now"]),
    )


@contextmanager
def serving_fixture_web(web, port: int, settings):
    from signpost.fixtureweb import FixtureServer

    try:
        server = FixtureServer(web, port=port, slow_seconds=settings.download_timeout + 5)
        server.start()
    except OSError as error:
        errors.print(f"[red]Cannot serve the fixture web on port {port}:[/red] {error}")
        raise typer.Exit(1) from error
    try:
        yield server
    finally:
        server.stop()


def serve_demo(settings, engine, digest_id: int, web_port: int) -> None:
    """The demo's sites, its mail sink and the web app (with page fetching and sending), until Ctrl-C."""
    from signpost.cli.running import running_web_app
    from signpost.store.digests import load_items

    spec = json.loads(_web_spec_file().read_text(encoding="utf-8"))
    web = demo_fixture_web(spec)
    app = running_web_app(settings, "127.0.0.1", web_port, proxy_headers=True, log_level="info")
    with serving_fixture_web(web, spec["port"], settings), app:
        in_draft = {item.url for item in load_items(engine, digest_id)}
        by_hand = next((url for url in sorted(web.truth) if url not in in_draft), None)
        public = settings.public_url.rstrip("/")
        # Said once everything answers, so what it names can be opened at once.
        console.print(
            f"\n[bold]Serving the demo until Ctrl-C:[/bold] its {len(web.sites)} sites on 127.0.x.y:{spec['port']}, "
            f"the mail sink writing to var/mail/ (SMTP 127.0.0.1:{settings.smtp_port}), and the web app on {public}/."
            f"\nReview the draft at {public}/review/digests/{digest_id}: sign in as {CURATORS[0][0]} with the password "
            f"{DEMO_PASSWORD} (the admin is {ADMIN[0]}, same password)."
            + (f"\nA demo article not in the draft, to add by hand: {by_hand}" if by_hand else ""),
            soft_wrap=True,
        )
        with suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    console.print("Stopped the web app, the demo's sites and its mail sink.")


def weekly_run(engine, settings, *, sites: int, articles_per_site: int, port: int) -> int:
    """Serve the fixture web, add its sites as the community's sources, and run the weekly flow over it."""
    from signpost.digests.periods import digest_period
    from signpost.flows.weekly import weekly_flow
    from signpost.spiders.registry import NothingToCrawlError, add_source_from_url
    from signpost.store.communities import get_community

    community = get_community(engine, DEMO_COMMUNITY)
    _, period_end = digest_period(community.schedule, community.timezone)
    # The fixture web dates its articles in the weeks before `now`: end them where the digest's period ends.
    spec = {
        "sites": sites,
        "articles_per_site": articles_per_site,
        "port": port,
        "now": (period_end - timedelta(minutes=5)).isoformat(),
    }
    web = demo_fixture_web(spec)
    console.print(f"Fixture web: {len(web.sites)} sector sites, {len(web.truth)} articles, on 127.0.x.y:{port}")
    with serving_fixture_web(web, port, settings):
        for site in web.sites:
            try:
                source, _ = add_source_from_url(engine, settings, site.base_url, communities=[DEMO_COMMUNITY])
                console.print(f"  source {source.id}: {source.name} ({source.kind}) {source.url}")
            except NothingToCrawlError as error:
                console.print(f"  [yellow]{site.name}: {error}[/yellow]")
        report = weekly_flow(DEMO_COMMUNITY)
    # `demo --serve` and `--approve` serve this very web again, so links added by hand resolve.
    _web_spec_file().write_text(json.dumps(spec), encoding="utf-8")
    crawl, extract, classify, draft = report["crawl"], report["extract"], report["classify"], report["draft"]
    console.print(
        f"\nCrawled {crawl['sources']} sources ({crawl['sources_failed']} failing, broken on purpose): "
        f"{crawl['pages_fetched']} pages; {extract['new_articles']} new articles; "
        f"{classify['group']['duplicates']} syndicated copies found.\n"
        f"Digest {draft['digest_id']} drafted with {draft['items']} items: "
        + ", ".join(f"{topic} {count}" for topic, count in draft["per_topic"].items())
    )
    return draft["digest_id"]


def publish_now(engine, digest_id: int) -> None:
    from signpost.flows.publish import publish_flow
    from signpost.store.digests import DigestLockedError, approve_digest, get_digest

    try:
        approve_digest(engine, digest_id, CURATORS[0][0])
    except DigestLockedError:
        console.print(f"Digest {digest_id} was already {get_digest(engine, digest_id).status}.")
    result = publish_flow(digest_id)
    console.print(f"Sent digest {digest_id}: {result['email']['sent']} emails to members.")
