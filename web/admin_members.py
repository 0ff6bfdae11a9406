"""Admin pages for members: find one by email or name, see and change their topics, remove them, export the list."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request

from signpost.store.communities import list_communities
from signpost.store.members import set_topics
from signpost.store.roster import RosterMember, remove_member, roster_member, search_members
from signpost.store.users import User
from signpost.web.dashboard import Table, csv_response
from signpost.web.members import community_by_id, community_by_slug
from signpost.web.pages import check_csrf, redirect, render, require_admin, web

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
MAX_QUERY = 200
EXPORT_LIMIT = 1_000_000


def _found(request: Request, q: str, community: str, limit: int = 200) -> list[RosterMember]:
    community_id = community_by_slug(request, community).id if community else None
    return search_members(web(request).engine, q[:MAX_QUERY], community_id, limit=limit)


def members_table(found: list[RosterMember], community: str = "") -> Table:
    """One row per member and community (a member of none still gets a row)."""
    rows = []
    for member in found:
        memberships = [m for m in member.memberships if not community or m.community_slug == community]
        for membership in memberships:
            rows.append(
                (
                    member.email,
                    member.name,
                    membership.community_slug,
                    membership.status,
                    membership.joined_at.date().isoformat(),
                    membership.unsubscribed_at.date().isoformat() if membership.unsubscribed_at else "",
                    "; ".join(membership.topic_names),
                )
            )
        if not memberships:
            rows.append((member.email, member.name, "", "", "", "", ""))
    headers = ("email", "name", "community", "status", "joined", "unsubscribed", "topics")
    return Table("members", "Members", headers, rows)


@router.get("/members")
def members_page(request: Request, q: str = Query(""), community: str = Query(""), user: User = Depends(require_admin)):
    found = _found(request, q, community)
    query = urlencode({key: value for key, value in (("q", q[:MAX_QUERY]), ("community", community)) if value})
    return render(
        request,
        "admin_members.html",
        members=found,
        q=q[:MAX_QUERY],
        community=community,
        communities=list_communities(web(request).engine),
        export_url="/admin/members.csv" + (f"?{query}" if query else ""),
    )


@router.get("/members.csv")
def members_csv(request: Request, q: str = Query(""), community: str = Query(""), user: User = Depends(require_admin)):
    table = members_table(_found(request, q, community, limit=EXPORT_LIMIT), community)
    return csv_response(table, f"members{'-' + community if community else ''}.csv")


def _member(request: Request, member_id: int) -> RosterMember:
    member = roster_member(web(request).engine, member_id)
    if member is None:
        raise HTTPException(status_code=404, detail="No such member.")
    return member


@router.get("/members/{member_id}")
def member_page(request: Request, member_id: int, user: User = Depends(require_admin)):
    member = _member(request, member_id)
    communities = {m.community_id: community_by_id(request, m.community_id) for m in member.memberships}
    return render(request, "admin_member.html", member=member, communities=communities)


@router.post("/members/{member_id}/topics")
def member_topics_form(
    request: Request,
    member_id: int,
    community_id: int = Form(...),
    topic_id: list[int] = Form(default=[]),
    user: User = Depends(require_admin),
):
    member = _member(request, member_id)
    if community_id not in {m.community_id for m in member.memberships}:
        raise HTTPException(status_code=404, detail="Not a member of that community.")
    community = community_by_id(request, community_id)
    if set(topic_id) - {topic.id for topic in community.topics}:
        raise HTTPException(status_code=400, detail="Those are not all topics of this community.")
    set_topics(web(request).engine, member_id, community_id, topic_id)
    return redirect(request, f"/admin/members/{member_id}", flash=f"Topics in {community.name} saved.")


@router.post("/members/{member_id}/remove")
def remove_member_form(request: Request, member_id: int, sure: str = Form(""), user: User = Depends(require_admin)):
    member = _member(request, member_id)
    if sure != "1":
        return redirect(request, f"/admin/members/{member_id}", flash="Tick the box to confirm the removal.")
    remove_member(web(request).engine, member_id)
    return redirect(
        request,
        "/admin/members",
        flash=f"Removed {member.email}: what was sent to them still counts, without their address.",
    )
