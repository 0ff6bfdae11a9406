"""``signpost demo``: a demo consortium on a fixture web of sector sites, its weekly run, and optionally the send."""

from __future__ import annotations

import os
import random
from datetime import timedelta
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


def prepare_demo_environment(var_dir: Path, smtp_port: int) -> None:
    """Loopback sources allowed and mail to the local sink; explicit settings still win."""
    os.environ["SIGNPOST_ALLOW_PRIVATE_ADDRESSES"] = "true"
    os.environ.setdefault("SIGNPOST_PUBLIC_URL", "http://127.0.0.1:8000")
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


def run_demo(*, sites: int, articles_per_site: int, approve: bool, port: int = DEMO_PORT) -> None:
    from signpost.cli.context import settings_and_store
    from signpost.config.settings import load_settings
    from signpost.digests.mail_sink import MailSink

    var_dir = load_settings().var_dir
    with MailSink(var_dir / "mail") as sink:
        prepare_demo_environment(var_dir, sink.port)
        settings, engine = settings_and_store(migrate=True)
        demo_community(engine)
        digest_id = weekly_run(engine, settings, sites=sites, articles_per_site=articles_per_site, port=port)
        if approve:
            publish_now(engine, digest_id)
        console.print(f"\nMail written so far: {sink.count} messages in {sink.folder}/ (open them with any mail app).")
    public = settings.public_url.rstrip("/")
    sign_in = f"sign in as {CURATORS[0][0]} with the password {DEMO_PASSWORD} (the admin is {ADMIN[0]}, same password)"
    if approve:
        console.print(
            f"\n[bold]The digest is approved and sent.[/bold] Run `.venv/bin/signpost web` to read it at "
            f"{public}/c/{DEMO_COMMUNITY}/digests/{digest_id} (Atom: {public}/c/{DEMO_COMMUNITY}/feed.atom);"
            f"\nto see the review pages, {sign_in}."
        )
    else:
        console.print(
            f"\n[bold]Review the draft:[/bold] run `.venv/bin/signpost web`, open {public}/review/digests/{digest_id}"
            f"\nand {sign_in}.\nOr approve and send it from here: `.venv/bin/signpost demo --approve`."
        )


def weekly_run(engine, settings, *, sites: int, articles_per_site: int, port: int) -> int:
    """Serve the fixture web, add its sites as the community's sources, and run the weekly flow over it."""
    from signpost.digests.periods import digest_period
    from signpost.fixtureweb import FixtureServer, build_fixture_web
    from signpost.flows.weekly import weekly_flow
    from signpost.spiders.registry import NothingToCrawlError, add_source_from_url
    from signpost.store.communities import get_community

    community = get_community(engine, DEMO_COMMUNITY)
    _, period_end = digest_period(community.schedule, community.timezone)
    # The fixture web dates its articles in the weeks before `now`: end them where the digest's period ends.
    web = build_fixture_web(
        [DEMO_CORPUS], sites=sites, articles_per_site=articles_per_site, now=period_end - timedelta(minutes=5)
    )
    console.print(f"Fixture web: {len(web.sites)} sector sites, {len(web.truth)} articles, on 127.0.x.y:{port}")
    try:
        server = FixtureServer(web, port=port, slow_seconds=settings.download_timeout + 5)
        server.start()
    except OSError as error:
        errors.print(f"[red]Cannot serve the fixture web on port {port}:[/red] {error}")
        raise typer.Exit(1) from error
    try:
        for site in web.sites:
            try:
                source, _ = add_source_from_url(engine, settings, site.base_url, communities=[DEMO_COMMUNITY])
                console.print(f"  source {source.id}: {source.name} ({source.kind}) {source.url}")
            except NothingToCrawlError as error:
                console.print(f"  [yellow]{site.name}: {error}[/yellow]")
        report = weekly_flow(DEMO_COMMUNITY)
    finally:
        server.stop()
    crawl, extract, classify, draft = report["crawl"], report["extract"], report["classify"], report["draft"]
    console.print(
        f"\nCrawled {crawl['sources']} sources ({crawl['sources_failed']} failing, as the fixture web intends): "
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
