"""Public pages: the communities, each one's archive of published digests, Atom feeds, and tracked links."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from signpost.digests import tokens
from signpost.digests.render import load_content, period_label, plain_text, safe_url
from signpost.store.communities import Community, list_communities
from signpost.store.db import utcnow
from signpost.store.review import click_target, feed_items, published_digests, record_click
from signpost.store.scores import record_decision
from signpost.web.members import community_by_slug
from signpost.web.pages import render, web

router = APIRouter()
ATOM = "application/atom+xml; charset=utf-8"


@router.get("/")
def home(request: Request):
    return render(request, "home.html", communities=list_communities(web(request).engine))


@router.get("/c/{slug}/archive")
def archive(request: Request, slug: str):
    community = community_by_slug(request, slug)
    digests = published_digests(web(request).engine, community.id, utcnow())
    for digest in digests:
        digest["label"] = period_label(digest["period_start"], digest["period_end"])
    return render(request, "archive.html", community=community, digests=digests)


@router.get("/c/{slug}/digests/{digest_id}")
def archived_digest(request: Request, slug: str, digest_id: int):
    community = community_by_slug(request, slug)
    engine = web(request).engine
    published = {digest["id"] for digest in published_digests(engine, community.id, utcnow(), limit=100000)}
    if digest_id not in published:
        raise HTTPException(status_code=404, detail="No such digest.")
    content = load_content(engine, digest_id)
    return render(
        request,
        "digest_public.html",
        community=community,
        content=content,
        label=period_label(content.period_start, content.period_end),
    )


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag(public_url: str, path: str) -> str:
    """A tag: URI (RFC 4151) that stays the id of a feed or entry whatever its title or link become."""
    host = urlsplit(public_url).hostname or "localhost"
    return f"tag:{host},2026:{path}"


def _atom(request: Request, community: Community, title: str, path: str, items: list[dict]) -> Response:
    public_url = web(request).settings.public_url.rstrip("/")
    updated = max((item["updated_at"] for item in items), default=None) or utcnow()
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{escape(_tag(public_url, path))}</id>",
        f"<title>{escape(title)}</title>",
        f"<updated>{_stamp(updated)}</updated>",
        f'<link rel="self" href={quoteattr(public_url + path)}/>',
        f'<link rel="alternate" href={quoteattr(f"{public_url}/c/{community.slug}/archive")}/>',
        f"<author><name>{escape(plain_text(community.name))}</name></author>",
    ]
    for item in items:
        entry_title = plain_text(item["title"]) or "Untitled"
        url = safe_url(item["url"]) or f"{public_url}/c/{community.slug}/digests/{item['digest_id']}"
        entry_id = _tag(public_url, f"digest-item-{item['id']}")
        lines += [
            "<entry>",
            f"<id>{escape(entry_id)}</id>",
            f"<title>{escape(entry_title)}</title>",
            f'<link rel="alternate" href={quoteattr(url)}/>',
            f"<updated>{_stamp(item['published_at'] or item['updated_at'])}</updated>",
            f"<summary>{escape(plain_text(item['blurb']) or entry_title)}</summary>",
            "</entry>",
        ]
    lines.append("</feed>")
    return Response("\n".join(lines), media_type=ATOM)


@router.get("/c/{slug}/feed.atom")
def community_feed(request: Request, slug: str):
    community = community_by_slug(request, slug)
    items = feed_items(web(request).engine, community.id, utcnow())
    return _atom(request, community, plain_text(community.name), f"/c/{slug}/feed.atom", items)


@router.get("/c/{slug}/topics/{topic_slug}/feed.atom")
def topic_feed(request: Request, slug: str, topic_slug: str):
    community = community_by_slug(request, slug)
    # An archived topic's feed still serves what was published under it.
    topic = next((t for t in community.every_topic if t.slug == topic_slug), None)
    if topic is None:
        raise HTTPException(status_code=404, detail="No such topic.")
    items = feed_items(web(request).engine, community.id, utcnow(), topic_id=topic.id)
    title = f"{plain_text(community.name)}: {plain_text(topic.name)}"
    return _atom(request, community, title, f"/c/{slug}/topics/{topic_slug}/feed.atom", items)


@router.get("/r/{token}")
def tracked_link(request: Request, token: str):
    """Count the click (when the community tracks clicks) and send the reader on to the item's stored URL."""
    context = web(request)
    found = tokens.read_click_token(context.secret_key, token)
    target = click_target(context.engine, found[0]) if found else None
    url = safe_url(target["url"]) if target else None
    if found is None or target is None or url is None:
        raise HTTPException(status_code=404, detail="No such link.")
    item_id, member_id = found
    if target["click_tracking"]:
        first = record_click(context.engine, item_id, member_id)
        if first:
            # One label per reader and item: repeated clicks count as traffic, not as more votes.
            record_decision(context.engine, target["topic_id"], target["article_id"], "click", actor=None)
    response = RedirectResponse(url, status_code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
