"""Members' pages: subscribing with double opt-in, preferences by signed link, one-click unsubscribe (RFC 8058),
and suggesting a link for the curators."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse

from signpost.config.models import CONTROL_CHARACTERS
from signpost.digests import tokens
from signpost.digests.notices import MailError, send_email
from signpost.digests.render import safe_url
from signpost.store.communities import Community, list_communities
from signpost.store.members import (
    add_member,
    confirm_membership,
    get_member,
    join_community,
    member_topics,
    membership_status,
    set_topics,
    unsubscribe,
)
from signpost.store.review import add_suggestion
from signpost.store.suppressions import is_suppressed
from signpost.web import limits, security
from signpost.web.pages import check_csrf, redirect, render, web

router = APIRouter(dependencies=[Depends(check_csrf)])
# RFC 8058: mail providers POST here without cookies or forms of ours; the signed token is the authority.
one_click = APIRouter()
EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def community_by_slug(request: Request, slug: str) -> Community:
    for community in list_communities(web(request).engine):
        if community.slug == slug:
            return community
    raise HTTPException(status_code=404, detail="No such community.")


def community_by_id(request: Request, community_id: int) -> Community:
    for community in list_communities(web(request).engine):
        if community.id == community_id:
            return community
    raise HTTPException(status_code=404, detail="No such community.")


def _links(request: Request, member_id: int, community_id: int) -> dict[str, str]:
    context = web(request)
    secret, public = context.secret_key, context.settings.public_url
    return {
        "preferences": tokens.preferences_url(
            public, tokens.make_token(secret, tokens.PREFERENCES, member_id, community_id)
        ),
        "unsubscribe": tokens.unsubscribe_url(
            public, tokens.make_token(secret, tokens.UNSUBSCRIBE, member_id, community_id)
        ),
    }


def _chosen_topics(community: Community, topic_ids: list[int]) -> list[int]:
    allowed = {topic.id for topic in community.topics}
    return [topic_id for topic_id in topic_ids if topic_id in allowed]


@router.get("/c/{slug}/subscribe")
def subscribe_page(request: Request, slug: str):
    return render(request, "subscribe.html", community=community_by_slug(request, slug), error=None)


@router.post("/c/{slug}/subscribe")
def subscribe(
    request: Request, slug: str, email: str = Form(""), name: str = Form(""), topic: list[int] = Form(default=[])
):
    community = community_by_slug(request, slug)
    chosen = _chosen_topics(community, topic)
    email, name = email.strip(), " ".join(name.split())[:200]
    if not EMAIL.match(email) or len(email) > 320:
        return render(request, "subscribe.html", status_code=400, community=community, error="That email looks wrong.")
    if not chosen:
        return render(request, "subscribe.html", status_code=400, community=community, error="Choose a topic.")
    if CONTROL_CHARACTERS.search(name):
        error = "A name may not contain control characters."
        return render(request, "subscribe.html", status_code=400, community=community, error=error)
    limits.allow_requested_email(request, email)
    context = web(request)
    member_id = add_member(context.engine, email, name)
    status = membership_status(context.engine, member_id, community.id)
    # Mail to a suppressed address bounced or was reported: a fresh double opt-in (the link below) lifts that.
    suppressed = status == "confirmed" and is_suppressed(context.engine, member_id)
    if status == "confirmed" and not suppressed:
        # Topics change only from the member's own link, never from a form anyone can fill in with their address.
        links = _links(request, member_id, community.id)
        subject = f"You already follow {community.name}"
        body = f"You already get {community.name}'s digest. Change your topics here:\n\n{links['preferences']}\n"
    else:
        if not suppressed:
            join_community(context.engine, member_id, community.id, chosen)
        token = security.confirm_token(context.secret_key, member_id, community.id)
        link = f"{context.settings.public_url.rstrip('/')}/confirm/{token}"
        subject = f"Confirm your subscription to {community.name}"
        body = (
            f"Someone, hopefully you, asked to get {community.name}'s digest at this address.\n"
            f"Confirm within {context.settings.confirm_link_days} days:\n\n{link}\n\n"
            "If it was not you, ignore this email and nothing will be sent.\n"
        )
    try:
        send_email(context.settings, email, subject, body)
    except MailError as error:
        return render(
            request, "subscribe.html", status_code=503, community=community, error=f"Could not email you: {error}"
        )
    # The same answer whether the address was new, pending or confirmed: nobody learns who is subscribed.
    return render(
        request, "message.html", title="Check your email", message=f"We sent a message to {email} to confirm."
    )


def _confirm_target(request: Request, token: str) -> tuple[int, int]:
    context = web(request)
    found = security.read_confirm_token(context.secret_key, token, context.settings.confirm_link_days * 86400)
    if found is None:
        raise HTTPException(status_code=400, detail="This confirmation link has expired or is damaged; sign up again.")
    return found


@router.get("/confirm/{token}")
def confirm_page(request: Request, token: str):
    # A button, not a GET that changes things: link scanners in mail systems open every link.
    _member_id, community_id = _confirm_target(request, token)
    return render(request, "confirm.html", community=community_by_id(request, community_id), token=token)


@router.post("/confirm/{token}")
def confirm(request: Request, token: str):
    member_id, community_id = _confirm_target(request, token)
    community = community_by_id(request, community_id)
    confirm_membership(web(request).engine, member_id, community_id)
    links = _links(request, member_id, community_id)
    return render(
        request,
        "message.html",
        title="You are subscribed",
        message=f"You will get {community.name}'s digest for the topics you chose.",
        link=links["preferences"],
        link_text="Your preferences",
    )


def _preferences_target(request: Request, token: str) -> tuple[int, Community]:
    found = tokens.read_token(web(request).secret_key, tokens.PREFERENCES, token)
    if found is None:
        raise HTTPException(status_code=404, detail="This link is not valid.")
    member_id, community_id = found
    if membership_status(web(request).engine, member_id, community_id) is None:
        raise HTTPException(status_code=404, detail="This link is not valid.")
    return member_id, community_by_id(request, community_id)


@router.get("/preferences/{token}")
def preferences_page(request: Request, token: str):
    member_id, community = _preferences_target(request, token)
    engine = web(request).engine
    return render(
        request,
        "preferences.html",
        community=community,
        token=token,
        member=get_member(engine, member_id),
        status=membership_status(engine, member_id, community.id),
        followed=set(member_topics(engine, member_id, community.id)),
        unsubscribe_url=_links(request, member_id, community.id)["unsubscribe"],
    )


@router.post("/preferences/{token}")
def save_preferences(request: Request, token: str, topic: list[int] = Form(default=[])):
    member_id, community = _preferences_target(request, token)
    set_topics(web(request).engine, member_id, community.id, _chosen_topics(community, topic))
    return redirect(request, f"/preferences/{token}", flash="Your topics are saved.")


@router.post("/preferences/{token}/suggest")
def suggest(request: Request, token: str, url: str = Form(""), note: str = Form(""), topic_id: int = Form(0)):
    member_id, community = _preferences_target(request, token)
    url = url.strip()
    if safe_url(url) is None or len(url) > 2000:
        return redirect(request, f"/preferences/{token}#suggest", flash="Suggest an http:// or https:// link.")
    limits.allow_suggestion(request, member_id)
    topic = topic_id if topic_id in {t.id for t in community.topics} else None
    add_suggestion(
        web(request).engine, community.id, url, member_id=member_id, topic_id=topic, note=note.strip()[:1000]
    )
    return redirect(request, f"/preferences/{token}", flash="Thank you: the curators will look at your link.")


def _unsubscribe_target(request: Request, token: str) -> tuple[int, int]:
    found = tokens.read_token(web(request).secret_key, tokens.UNSUBSCRIBE, token)
    if found is None:
        raise HTTPException(status_code=404, detail="This link is not valid.")
    return found


@one_click.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str):
    _member_id, community_id = _unsubscribe_target(request, token)
    return render(request, "unsubscribe.html", community=community_by_id(request, community_id), token=token)


@one_click.post("/unsubscribe/{token}")
async def unsubscribe_one_click(request: Request, token: str):
    """RFC 8058: a POST whose body is ``List-Unsubscribe=One-Click`` unsubscribes at once, with no session."""
    member_id, community_id = _unsubscribe_target(request, token)
    form = await request.form()
    if form.get("List-Unsubscribe") != "One-Click":
        raise HTTPException(status_code=400, detail="Expected List-Unsubscribe=One-Click.")
    unsubscribe(web(request).engine, member_id, community_id)
    community = community_by_id(request, community_id)
    page = (
        web(request)
        .environment.get_template("message.html")
        .render(
            request=request,
            user=None,
            csrf_token="",
            flash=None,
            title="Unsubscribed",
            message=f"You will get no more email from {community.name}.",
        )
    )
    return HTMLResponse(page)
