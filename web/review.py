"""Curators' review: their digests, a draft by topic, decisions on items, more candidates, links by hand,
members' suggestions, a preview as a member, and approving (scheduled or now).

Every change goes through store functions that write the digest's audit log (digest_events); approvals and
rejections are also labels the next ranking learns from (``decide_item`` replaces an item's label, and an
undecide withdraws it; articles added by hand or from the candidates are recorded as approvals).

Adding a link by hand fetches and extracts it on the spot through ``WebHooks.extract_url`` (spiders/ is not
importable from web/, see web/hooks.py); a fetch that fails, or a page that is not an article, is reported on
the draft page with the reason, and nothing is added.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import datetime

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from signpost.digests.blurbs import make_blurb
from signpost.digests.render import (
    PREVIEW_MEMBER_ID,
    DigestRenderer,
    MailSettings,
    Recipient,
    load_content,
    plain_text,
    safe_url,
)
from signpost.store.communities import Community, list_communities
from signpost.store.db import utcnow
from signpost.store.desk import fit_words, item_facts, reading_minutes
from signpost.store.digests import (
    Digest,
    DigestLockedError,
    decide_item,
    edit_item,
    get_digest,
    list_digests,
    list_events,
    load_items,
    move_item,
    section_notes,
)
from signpost.store.records import ExtractedArticle
from signpost.store.review import (
    add_item,
    click_counts,
    get_suggestion,
    handle_suggestion,
    item_with_digest,
    list_suggestions,
    move_item_to_topic,
    save_manual_article,
    topic_candidates,
)
from signpost.store.scores import record_decision
from signpost.store.users import User
from signpost.web.fetching import fetches
from signpost.web.pages import check_csrf, redirect, render, require_reviewer, require_user, web

log = logging.getLogger(__name__)
router = APIRouter(prefix="/review", dependencies=[Depends(check_csrf)])
MAX_TITLE = 300
MAX_BLURB = 1200
# Sent by web/static/review.js with a form it posts itself: the answer is the page, not a redirect.
FETCH_HEADER = "X-Signpost-Fetch"


def _community(request: Request, community_id: int) -> Community:
    for community in list_communities(web(request).engine):
        if community.id == community_id:
            return community
    raise HTTPException(status_code=404, detail="Not found.")


def _digest(request: Request, user: User, digest_id: int) -> tuple[Digest, Community]:
    try:
        digest = get_digest(web(request).engine, digest_id)
    except LookupError:
        raise HTTPException(status_code=404, detail="Not found.") from None
    require_reviewer(user, digest.community_id)
    return digest, _community(request, digest.community_id)


def _item(request: Request, user: User, item_id: int):
    found = item_with_digest(web(request).engine, item_id)
    if found is None:
        raise HTTPException(status_code=404, detail="Not found.")
    digest, community = _digest(request, user, found[0])
    return digest, community, found[1]


def _back(digest_id: int, anchor: str = "") -> str:
    return f"/review/digests/{digest_id}" + (f"#{anchor}" if anchor else "")


@router.get("")
def review_home(request: Request, user: User = Depends(require_user)):
    from signpost.web.sending import review_badges

    engine = web(request).engine
    rows = []
    for community in list_communities(engine):
        if user.may_review(community.id):
            digests = list_digests(engine, community.id)[:20]
            rows.append(
                {
                    "community": community,
                    "digests": digests,
                    "suggestions": len(list_suggestions(engine, community.id)),
                    "badges": review_badges(request, digests, community),
                }
            )
    return render(request, "review_home.html", communities=rows)


@router.get("/digests/{digest_id}")
def draft_page(request: Request, digest_id: int, user: User = Depends(require_user)):
    digest, community = _digest(request, user, digest_id)
    return _draft(request, digest, community)


def _draft(request: Request, digest: Digest, community: Community, **extra) -> HTMLResponse:
    from signpost.web.sending import delivery_context  # sending.py builds on this module's helpers

    engine = web(request).engine
    items = load_items(engine, digest.id)
    # An item approved before its topic was archived still goes out with this digest: the curator sees it.
    shown = [*community.topics, *(t for t in community.archived_topics if any(i.topic_id == t.id for i in items))]

    notes = section_notes(engine, digest.id)
    sections = [
        {
            "topic": topic,
            "items": [item for item in items if item.topic_id == topic.id],
            "proposed": sum(item.topic_id == topic.id and item.state == "proposed" for item in items),
            "note": notes.get(topic.id, {}),
        }
        for topic in shown
    ]
    return render(
        request,
        "draft.html",
        digest=digest,
        community=community,
        sections=sections,
        facts=item_facts(engine, digest, items),
        counts={state: sum(item.state == state for item in items) for state in ("proposed", "approved", "rejected")},
        clicks=click_counts(engine, digest.id) if digest.status != "draft" else {},
        suggestions=list_suggestions(engine, community.id),
        events=list_events(engine, digest.id)[-30:][::-1],
        editable=digest.status == "draft",
        timezone=community.timezone,
        **delivery_context(request, digest, community),
        **extra,
    )


def _done(request: Request, digest_id: int, anchor: str = "", flash: str | None = None):
    """After a change: a plain form is redirected back to its place; review.js gets the draft as it now is, with
    where to put the focus, and swaps in what changed (no reload, no lost place)."""
    if request.headers.get(FETCH_HEADER) != "1":
        return redirect(request, _back(digest_id, anchor), flash=flash)
    digest = get_digest(web(request).engine, digest_id)
    response = _draft(request, digest, _community(request, digest.community_id), flash=flash)
    response.headers["X-Signpost-Focus"] = anchor
    response.headers["Cache-Control"] = "no-store"
    return response


def _locked(request: Request, digest_id: int, error: Exception):
    return _done(request, digest_id, flash=f"Not changed: {error}")


@router.post("/items/{item_id}/decide")
def decide(request: Request, item_id: int, state: str = Form(...), user: User = Depends(require_user)):
    digest, _, _ = _item(request, user, item_id)
    if state not in ("approved", "rejected", "proposed"):
        raise HTTPException(status_code=400, detail="Unknown decision.")
    try:
        decide_item(web(request).engine, item_id, state, actor=user.label)
    except DigestLockedError as error:
        return _locked(request, digest.id, error)
    return _done(request, digest.id, f"item-{item_id}")


@router.post("/items/{item_id}/move")
def move(request: Request, item_id: int, direction: str = Form(...), user: User = Depends(require_user)):
    digest, _, item = _item(request, user, item_id)
    engine = web(request).engine
    section = [other.id for other in load_items(engine, digest.id) if other.topic_id == item.topic_id]
    index = section.index(item_id)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(section):
        try:
            move_item(engine, item_id, target, actor=user.label)
        except DigestLockedError as error:
            return _locked(request, digest.id, error)
    return _done(request, digest.id, f"item-{item_id}")


@router.post("/items/{item_id}/edit")
def edit(
    request: Request, item_id: int, title: str = Form(""), blurb: str = Form(""), user: User = Depends(require_user)
):
    digest, _, item = _item(request, user, item_id)
    title, blurb = title.strip()[:MAX_TITLE], blurb.strip()[:MAX_BLURB]
    if not title:
        return _done(request, digest.id, f"item-{item_id}", flash="A title cannot be empty.")
    try:
        edit_item(
            web(request).engine,
            item_id,
            user.label,
            title=title if title != item.title else None,
            blurb=blurb if blurb != item.blurb else None,
        )
    except DigestLockedError as error:
        return _locked(request, digest.id, error)
    return _done(request, digest.id, f"item-{item_id}", flash="Saved.")


@router.post("/items/{item_id}/topic")
def change_topic(request: Request, item_id: int, topic_id: int = Form(...), user: User = Depends(require_user)):
    digest, community, _ = _item(request, user, item_id)
    if topic_id not in {topic.id for topic in community.topics}:
        raise HTTPException(status_code=400, detail="That topic is not one of this community's.")
    try:
        move_item_to_topic(web(request).engine, item_id, topic_id, user.label)
    except (DigestLockedError, ValueError) as error:
        return _locked(request, digest.id, error)
    return _done(request, digest.id, f"item-{item_id}")


def _topic(community: Community, topic_id: int):
    for topic in community.topics:
        if topic.id == topic_id:
            return topic
    raise HTTPException(status_code=404, detail="Not found.")


def _pool(request: Request, digest: Digest, topic_id: int, size: int = 40):
    engine = web(request).engine
    taken = {item.article_id for item in load_items(engine, digest.id) if item.topic_id == topic_id}
    pool = topic_candidates(engine, topic_id, digest.period_start, digest.period_end, size + len(taken))
    return [candidate for candidate in pool if candidate.article_id not in taken][:size]


@router.get("/digests/{digest_id}/topics/{topic_id}/candidates")
def candidates_page(request: Request, digest_id: int, topic_id: int, user: User = Depends(require_user)):
    digest, community = _digest(request, user, digest_id)
    topic = _topic(community, topic_id)
    return render(
        request,
        "candidates.html",
        digest=digest,
        community=community,
        topic=topic,
        candidates=_pool(request, digest, topic_id),
        borderline=set(section_notes(web(request).engine, digest.id).get(topic_id, {}).get("borderline", [])),
        editable=digest.status == "draft",
        fit_words=fit_words,
        reading_minutes=lambda text: reading_minutes(len(text.split())),
    )


@router.post("/digests/{digest_id}/topics/{topic_id}/add")
def add_candidate(
    request: Request, digest_id: int, topic_id: int, article_id: int = Form(...), user: User = Depends(require_user)
):
    digest, community = _digest(request, user, digest_id)
    _topic(community, topic_id)
    chosen = next((c for c in _pool(request, digest, topic_id, 200) if c.article_id == article_id), None)
    if chosen is None:
        return _done(request, digest.id, flash="That article is not a candidate for this topic any more.")
    engine = web(request).engine
    try:
        item_id = add_item(
            engine,
            digest.id,
            topic_id,
            article_id=chosen.article_id,
            title=chosen.title,
            blurb=make_blurb(chosen.title, chosen.text),
            url=chosen.url,
            source_name=chosen.source,
            actor=user.label,
            score=chosen.score,
            reasons=chosen.reasons,
            story_id=chosen.story_id,
        )
    except DigestLockedError as error:
        return _locked(request, digest.id, error)
    record_decision(engine, topic_id, chosen.article_id, "approve", actor=user.label)
    return _done(request, digest.id, f"item-{item_id}", flash="Added to the section.")


async def _fetch_article(request: Request, url: str) -> ExtractedArticle:
    """Fetch and extract ``url`` through the hook; ValueError with a reason a curator can act on."""
    if safe_url(url) is None:
        # Only http(s): the extraction function would also read local files.
        raise ValueError("only http:// or https:// links can be added")
    extract_url = web(request).hooks.extract_url
    if extract_url is None:
        raise ValueError("this web app was started without page fetching; start it with `signpost web`")
    try:
        found = await fetches(request).run(extract_url, url)
    except HTTPException:
        raise
    except ValueError as error:
        raise ValueError(f"could not use {url}: {error}") from error
    except Exception as error:
        log.exception("extracting %s", url)
        raise ValueError(f"could not fetch {url}: {type(error).__name__}") from error
    # every field the extraction found, so a link by hand keeps its lead image and where its date came from
    values = {field.name: found[field.name] for field in fields(ExtractedArticle) if field.name in found}
    published = values.get("published_at")
    values["published_at"] = datetime.fromisoformat(published) if published else None
    values["canonical_url"] = values.get("canonical_url") or url
    values["text"] = values.get("text") or ""
    return ExtractedArticle(**values)


async def _add_link(request: Request, digest: Digest, topic_id: int, url: str, user: User) -> int:
    article = await _fetch_article(request, url)
    return await run_in_threadpool(_save_link, request, digest, topic_id, article, user)


def _save_link(request: Request, digest: Digest, topic_id: int, article: ExtractedArticle, user: User) -> int:
    engine = web(request).engine
    article_id = save_manual_article(engine, article)
    title = plain_text(article.title) or article.canonical_url
    item_id = add_item(
        engine,
        digest.id,
        topic_id,
        article_id=article_id,
        title=title[:MAX_TITLE],
        blurb=make_blurb(title, article.text),
        url=article.canonical_url,
        source_name=plain_text(article.site_name)[:200],
        actor=user.label,
        reasons=[f"added by hand by {user.label}"],
    )
    record_decision(engine, topic_id, article_id, "approve", actor=user.label)
    return item_id


@router.post("/digests/{digest_id}/topics/{topic_id}/link")
async def add_link(
    request: Request, digest_id: int, topic_id: int, url: str = Form(""), user: User = Depends(require_user)
):
    # Async so that the fetch waits in the fetch pool (web/fetching.py), holding no request thread.
    digest, community = await run_in_threadpool(_digest, request, user, digest_id)
    _topic(community, topic_id)
    try:
        item_id = await _add_link(request, digest, topic_id, url.strip(), user)
    except (ValueError, DigestLockedError) as error:
        return await run_in_threadpool(_done, request, digest.id, f"topic-{topic_id}", flash=f"Not added: {error}")
    return await run_in_threadpool(_done, request, digest.id, f"item-{item_id}", flash="Link added.")


@router.post("/digests/{digest_id}/suggestions/{suggestion_id}")
async def handle_suggested(
    request: Request,
    digest_id: int,
    suggestion_id: int,
    action: str = Form(...),
    topic_id: int = Form(0),
    user: User = Depends(require_user),
):
    engine = web(request).engine
    digest, community = await run_in_threadpool(_digest, request, user, digest_id)
    suggestion = await run_in_threadpool(get_suggestion, engine, suggestion_id)
    if suggestion is None or suggestion["community_id"] != community.id:
        raise HTTPException(status_code=404, detail="Not found.")
    if action == "dismiss":
        await run_in_threadpool(handle_suggestion, engine, suggestion_id, "dismissed", user.label)
        return await run_in_threadpool(_done, request, digest.id, "suggestions", flash="Suggestion dismissed.")
    _topic(community, topic_id)
    try:
        item_id = await _add_link(request, digest, topic_id, suggestion["url"], user)
    except (ValueError, DigestLockedError) as error:
        return await run_in_threadpool(_done, request, digest.id, "suggestions", flash=f"Not added: {error}")
    await run_in_threadpool(handle_suggestion, engine, suggestion_id, "added", user.label)
    return await run_in_threadpool(_done, request, digest.id, f"item-{item_id}", flash="Suggestion added.")


def _preview_message(request: Request, digest: Digest, user: User, topic_ids: frozenset[int]):
    context = web(request)
    states = ("proposed", "approved") if digest.status == "draft" else ("approved",)
    renderer = DigestRenderer(
        load_content(context.engine, digest.id, states), MailSettings.from_settings(context.settings)
    )
    recipient = Recipient(PREVIEW_MEMBER_ID, user.email, user.name, topic_ids, "<preview@signpost.invalid>", utcnow())
    return renderer.render(recipient)


@router.get("/digests/{digest_id}/preview")
def preview_page(
    request: Request, digest_id: int, topic: list[int] = Query(default=[]), user: User = Depends(require_user)
):
    digest, community = _digest(request, user, digest_id)
    chosen = frozenset(topic or [t.id for t in community.topics])
    message = _preview_message(request, digest, user, chosen)
    text = message.get_body(preferencelist=("plain",)).get_content() if message else None
    query = "&".join(f"topic={topic_id}" for topic_id in sorted(chosen))
    return render(
        request,
        "preview.html",
        digest=digest,
        community=community,
        chosen=chosen,
        text=text,
        query=query,
        subject=message["Subject"] if message else "",
    )


@router.get("/digests/{digest_id}/preview/email.html")
def preview_email(
    request: Request, digest_id: int, topic: list[int] = Query(default=[]), user: User = Depends(require_user)
):
    digest, community = _digest(request, user, digest_id)
    chosen = frozenset(topic or [t.id for t in community.topics])
    message = _preview_message(request, digest, user, chosen)
    page = message.get_body(preferencelist=("html",)).get_content() if message else "<p>No items for these topics.</p>"
    # Shown in a sandboxed frame: styles only, no scripts, no forms, no plugins.
    headers = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; sandbox"
    }
    return HTMLResponse(page, headers=headers)
