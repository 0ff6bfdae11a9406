"""Admin pages: sources and their health, communities and topics, users and curators, member lists from CSV.

Forms validate through the models ``signpost sync`` reads files with (config.models): one slug rule, time zones,
cron schedules, names without control characters. A refused form comes back with what was typed and why.
Adding a source discovers its feeds, sitemaps or listing pages, which lives in spiders/: the app reaches it
through ``WebHooks.add_source`` (see web/hooks.py) and says so plainly when it was started without it.
"""

from __future__ import annotations

import csv
import io
import logging
import re

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from signpost.config.models import CommunityConfig, SourceConfig, TopicConfig, plain_name, problems_of
from signpost.config.settings import Settings
from signpost.digests.drafting import draft_rules
from signpost.digests.render import plain_text
from signpost.store.communities import Community, Topic, list_communities, save_community, set_draft_rules
from signpost.store.dashboard import crawl_history
from signpost.store.members import MemberImport, import_members
from signpost.store.review import click_tracking, set_click_tracking
from signpost.store.sources import list_sources, set_source_enabled
from signpost.store.users import User, list_users, save_user, set_curator
from signpost.web import security
from signpost.web.charts import sparkline
from signpost.web.fetching import fetches
from signpost.web.members import EMAIL, community_by_slug
from signpost.web.pages import check_csrf, redirect, render, require_admin, web

log = logging.getLogger(__name__)
router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
MAX_CSV_BYTES = 5 * 1024 * 1024


def _status(source, settings: Settings) -> str:
    if not source.enabled:
        return "disabled"
    if source.health.consecutive_failures >= settings.failing_after:
        return "failing"
    if source.health.last_success_at is None:
        return "new"
    return "ok"


@router.get("")
def admin_home(request: Request, user: User = Depends(require_admin)):
    return render(request, "admin_home.html")


def _sparklines(engine, sources) -> dict:
    history = crawl_history(engine, [source.id for source in sources])
    return {source.id: sparkline(history[source.id], plain_text(source.name)) for source in sources}


@router.get("/sources")
def sources_page(request: Request, user: User = Depends(require_admin)):
    return _sources_page(request)


def _sources_page(request: Request, problems: list[str] = (), typed: str = "", status_code: int = 200):
    context = web(request)
    sources = list_sources(context.engine)
    return render(
        request,
        "admin_sources.html",
        status_code=status_code,
        sources=[(source, _status(source, context.settings)) for source in sources],
        sparklines=_sparklines(context.engine, sources),
        communities=list_communities(context.engine),
        can_add=context.hooks.add_source is not None,
        problems=problems,
        typed=typed,
    )


@router.post("/sources")
async def add_source(
    request: Request, url: str = Form(""), community: list[str] = Form(default=[]), user: User = Depends(require_admin)
):
    # Async so that discovery waits in the fetch pool (web/fetching.py), holding no request thread.
    context = web(request)
    url = url.strip()
    if context.hooks.add_source is None:
        return redirect(
            request,
            "/admin/sources",
            flash="This web app was started without discovery: run `signpost sources add URL`.",
        )
    known = {c.slug for c in await run_in_threadpool(list_communities, context.engine)}
    wanted = [c for c in community if c in known]
    try:
        declared = SourceConfig(url=url, communities=wanted)
    except ValidationError as error:
        return await run_in_threadpool(_sources_page, request, problems_of(error), url, 400)
    try:
        args = (context.engine, context.settings, str(declared.url), declared.communities)
        source = await fetches(request).run(context.hooks.add_source, *args)
    except HTTPException:
        raise
    except Exception as error:
        log.info("adding source %s: %r", url, error)
        return redirect(request, "/admin/sources", flash=f"Could not add {url}: {error}")
    return redirect(request, "/admin/sources", flash=f"Added {source.name} ({source.kind}): {source.url}")


@router.post("/sources/{source_id}/enabled")
def source_enabled(request: Request, source_id: int, enabled: str = Form(...), user: User = Depends(require_admin)):
    try:
        set_source_enabled(web(request).engine, source_id, enabled == "1")
    except LookupError:
        raise HTTPException(status_code=404, detail="No such source.") from None
    return redirect(request, "/admin/sources")


@router.get("/communities")
def communities_page(request: Request, user: User = Depends(require_admin)):
    engine = web(request).engine
    return render(request, "admin_communities.html", communities=list_communities(engine), problems=(), typed={})


def _topic_dicts(topics: list[Topic]) -> list[dict]:
    return [
        {
            "slug": topic.slug,
            "name": topic.name,
            "description": topic.description,
            "keywords_must": topic.keywords_must,
            "keywords_exclude": topic.keywords_exclude,
            "examples": topic.examples,
        }
        for topic in topics
    ]


def _words(value: str) -> list[str]:
    return [word.strip() for word in value.split(",") if word.strip()]


@router.post("/communities")
def save_community_form(
    request: Request,
    slug: str = Form(""),
    name: str = Form(""),
    description: str = Form(""),
    timezone: str = Form("Europe/London"),
    schedule: str = Form("0 7 * * MON"),
    items_per_topic: str = Form("5"),
    click_tracking_on: str = Form(""),
    user: User = Depends(require_admin),
):
    engine = web(request).engine
    # An empty field means what leaving it out of a file means: the default.
    typed = dict(slug=slug.strip(), name=name, description=description, timezone=timezone.strip() or "Europe/London")
    typed |= dict(schedule=schedule.strip() or "0 7 * * MON", items_per_topic=items_per_topic.strip() or "5")
    existing = next((c for c in list_communities(engine) if c.slug == typed["slug"]), None)
    try:
        declared = CommunityConfig(**typed)
    except ValidationError as error:
        problems = problems_of(error)
        if existing is None:
            return render(
                request,
                "admin_communities.html",
                status_code=400,
                communities=list_communities(engine),
                problems=problems,
                typed=typed,
            )
        return _community_page(request, existing, status_code=400, problems=problems, typed=typed)
    community_id = save_community(
        engine,
        slug=declared.slug,
        name=declared.name,
        description=declared.description,
        timezone=declared.timezone,
        schedule=declared.schedule,
        items_per_topic=declared.items_per_topic,
        topic_list=_topic_dicts(existing.topics) if existing else [],
    )
    set_click_tracking(engine, community_id, click_tracking_on == "1")
    return redirect(request, f"/admin/communities/{declared.slug}", flash="Saved.")


@router.get("/communities/{slug}")
def community_page(request: Request, slug: str, user: User = Depends(require_admin)):
    return _community_page(request, community_by_slug(request, slug))


def _community_page(request: Request, community: Community, status_code: int = 200, **refused):
    """The community's page; ``refused`` (problems, typed, topic_typed) shows a form that was not saved."""
    engine = web(request).engine
    users = list_users(engine)
    return render(
        request,
        "admin_community.html",
        status_code=status_code,
        community=community,
        click_tracking=click_tracking(engine, community.id),
        rules=draft_rules(community, web(request).settings),
        curators=[u for u in users if community.id in u.community_ids],
        users=users,
        **{"problems": (), "typed": {}, "topic_typed": None, **refused},
    )


# The draft rules a community may override on its page, with their bounds (the settings' own).
DRAFT_FIELDS = {
    "per_source_section": (int, 1, 50),
    "per_source_digest": (int, 1, 200),
    "relevance_floor": (float, 0.0, 1.0),
    "freshness": (float, 0.0, 1.0),
    "rare_source_boost": (float, 0.0, 1.0),
}


@router.post("/communities/{slug}/draft")
async def save_draft_rules(request: Request, slug: str, user: User = Depends(require_admin)):
    """The community's caps, relevance floor, freshness and rare-source boost; an empty field keeps the setting."""
    community = community_by_slug(request, slug)
    form = await request.form()
    rules: dict = {}
    for name, (kind, low, high) in DRAFT_FIELDS.items():
        raw = str(form.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            return redirect(request, f"/admin/communities/{slug}", flash=f"{name.replace('_', ' ')}: {low} to {high}.")
        rules[name] = value
    set_draft_rules(web(request).engine, community.id, rules)
    return redirect(request, f"/admin/communities/{slug}", flash="Draft rules saved.")


def _save_topics(request: Request, community: Community, topic_list: list[dict]) -> None:
    save_community(
        web(request).engine,
        slug=community.slug,
        name=community.name,
        description=community.description,
        timezone=community.timezone,
        schedule=community.schedule,
        items_per_topic=community.items_per_topic,
        topic_list=topic_list,
    )


@router.post("/communities/{slug}/topics")
def save_topic(
    request: Request,
    slug: str,
    topic_slug: str = Form(""),
    name: str = Form(""),
    description: str = Form(""),
    keywords_must: str = Form(""),
    keywords_exclude: str = Form(""),
    examples: str = Form(""),
    user: User = Depends(require_admin),
):
    community = community_by_slug(request, slug)
    typed = dict(slug=topic_slug.strip(), name=name, description=description, keywords_must=keywords_must)
    typed |= dict(keywords_exclude=keywords_exclude, examples=examples)
    typed["new"] = typed["slug"] not in {topic.slug for topic in community.topics}
    try:
        declared = TopicConfig(
            slug=typed["slug"],
            name=name,
            description=description,
            keywords={"must": _words(keywords_must), "exclude": _words(keywords_exclude)},
            examples=examples.split(),
        )
    except ValidationError as error:
        return _community_page(request, community, status_code=400, problems=problems_of(error), topic_typed=typed)
    topic_slug = declared.slug
    topic = {
        "slug": declared.slug,
        "name": declared.name,
        "description": declared.description,
        "keywords_must": declared.keywords.must,
        "keywords_exclude": declared.keywords.exclude,
        "examples": [str(url) for url in declared.examples],
    }
    # An archived topic saved again is back in use (save_community un-archives what it is given).
    topics = _topic_dicts(community.topics)
    index = next((i for i, t in enumerate(topics) if t["slug"] == topic_slug), None)
    if index is None:
        topics.append(topic)
    else:
        topics[index] = topic
    _save_topics(request, community, topics)
    return redirect(request, f"/admin/communities/{slug}#topic-{topic_slug}", flash=f"Topic {topic_slug} saved.")


@router.post("/communities/{slug}/topics/{topic_slug}/delete")
def archive_topic(request: Request, slug: str, topic_slug: str, user: User = Depends(require_admin)):
    """Take a topic out of use: it is archived, so its labels and its published items stay."""
    community = community_by_slug(request, slug)
    _save_topics(request, community, [t for t in _topic_dicts(community.topics) if t["slug"] != topic_slug])
    return redirect(request, f"/admin/communities/{slug}", flash=f"Topic {topic_slug} archived.")


@router.post("/communities/{slug}/topics/{topic_slug}/restore")
def restore_topic(request: Request, slug: str, topic_slug: str, user: User = Depends(require_admin)):
    """Put an archived topic back in use, last, with the labels curators gave it."""
    community = community_by_slug(request, slug)
    wanted = [t for t in _topic_dicts(community.archived_topics) if t["slug"] == topic_slug]
    if not wanted:
        raise HTTPException(status_code=404, detail="No such archived topic.")
    _save_topics(request, community, _topic_dicts(community.topics) + wanted)
    return redirect(request, f"/admin/communities/{slug}#topic-{topic_slug}", flash=f"Topic {topic_slug} restored.")


def _read_members_csv(data: bytes, topics: list[Topic]) -> list[MemberImport]:
    """Rows of ``email,name,topics`` (topic slugs separated by ; or spaces); a header row is optional."""
    by_slug = {topic.slug: topic.id for topic in topics}
    text = data.decode("utf-8-sig")
    rows: list[MemberImport] = []
    for number, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not record or not "".join(record).strip():
            continue
        email = record[0].strip()
        if number == 1 and email.lower() in ("email", "e-mail"):
            continue
        if not EMAIL.match(email):
            raise ValueError(f"line {number}: {email[:80]!r} is not an email address")
        name = record[1].strip()[:200] if len(record) > 1 else ""
        try:
            plain_name(name)
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from None
        wanted = re.split(r"[;\s]+", record[2].strip()) if len(record) > 2 and record[2].strip() else []
        unknown = [slug for slug in wanted if slug not in by_slug]
        if unknown:
            raise ValueError(f"line {number}: unknown topics {', '.join(unknown)}")
        rows.append(MemberImport(email, name, tuple(by_slug[slug] for slug in wanted)))
    return rows


@router.post("/communities/{slug}/members")
async def import_members_csv(
    request: Request, slug: str, file: UploadFile, confirmed: str = Form(""), user: User = Depends(require_admin)
):
    community = community_by_slug(request, slug)
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        return redirect(request, f"/admin/communities/{slug}", flash="That file is over 5 MB.")
    try:
        rows = _read_members_csv(data, community.topics)
    except (ValueError, UnicodeDecodeError, csv.Error) as error:
        # csv.Error: a field over the csv module's limit (128 KiB), a stray NUL byte.
        return redirect(request, f"/admin/communities/{slug}", flash=f"Nothing imported: {error}")
    count = import_members(web(request).engine, community.id, rows, confirmed=confirmed == "1")
    state = "confirmed" if confirmed == "1" else "pending confirmation"
    return redirect(request, f"/admin/communities/{slug}", flash=f"Imported {count} members ({state}).")


@router.get("/users")
def users_page(request: Request, user: User = Depends(require_admin)):
    engine = web(request).engine
    names = {community.id: community.slug for community in list_communities(engine)}
    return render(request, "admin_users.html", users=list_users(engine), names=names)


@router.post("/users")
def save_user_form(
    request: Request,
    email: str = Form(""),
    name: str = Form(""),
    password: str = Form(""),
    is_admin: str = Form(""),
    user: User = Depends(require_admin),
):
    email = email.strip()
    if not EMAIL.match(email):
        return redirect(request, "/admin/users", flash="That email looks wrong.")
    if password and len(password) < 10:
        return redirect(request, "/admin/users", flash="Passwords have at least 10 characters.")
    try:
        plain_name(name.strip())
    except ValueError as error:
        return redirect(request, "/admin/users", flash=f"Not saved: {error}.")
    save_user(
        web(request).engine,
        email,
        name.strip()[:200],
        password_hash=security.hash_password(password) if password else None,
        is_admin=is_admin == "1",
    )
    return redirect(request, "/admin/users", flash=f"Saved {email}.")


@router.post("/curators")
def curators_form(
    request: Request,
    user_id: int = Form(...),
    community: str = Form(...),
    action: str = Form("add"),
    user: User = Depends(require_admin),
):
    target = community_by_slug(request, community)
    if user_id not in {u.id for u in list_users(web(request).engine)}:
        raise HTTPException(status_code=404, detail="No such user.")
    set_curator(web(request).engine, user_id, target.id, curates=action != "remove")
    return redirect(request, f"/admin/communities/{target.slug}", flash="Curators updated.")
