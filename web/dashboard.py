"""The admin's dashboard: per community its last weeks as charts and a table, per digest its delivery and clicks;
every table is also a CSV download, built from the same rows the page shows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from signpost.store.communities import Community, list_communities
from signpost.store.dashboard import DigestFigures, click_breakdown, community_figures, digest_figures
from signpost.store.digests import get_digest
from signpost.store.users import User
from signpost.web.charts import bar_chart
from signpost.web.members import community_by_slug
from signpost.web.pages import render, require_admin, web

router = APIRouter(prefix="/admin/dashboard")
# Outbox states by the words an admin reads; states this does not know yet show under their own name.
STATE_WORDS = {"sent": "delivered", "failed": "failed", "pending": "waiting", "sending": "sending"}
STATE_ORDER = ("sent", "failed", "bounced", "complained", "pending", "sending")
WEEKS = 12


@dataclass(frozen=True)
class Table:
    """A table as the page shows it and the CSV download holds it."""

    name: str
    caption: str
    headers: tuple[str, ...]
    rows: list[tuple]


def csv_response(table: Table, filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    writer.writerows([_cell(value) for value in row] for row in table.rows)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def _cell(value: object) -> object:
    # A name starting with = + - @ would run as a formula in a spreadsheet: quote it as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _states(figures: list[DigestFigures]) -> list[str]:
    seen = {state for row in figures for state in row.states}
    return [state for state in STATE_ORDER if state in seen] + sorted(seen - set(STATE_ORDER))


def _week(row: DigestFigures) -> str:
    return row.period_start.strftime("%d %b")


def weeks_table(community: Community, figures: list[DigestFigures]) -> Table:
    states = _states(figures)
    headers = (
        "week",
        "sent at",
        "members it went to",
        *(STATE_WORDS.get(state, state) for state in states),
        "unsubscribed after it",
        "clicks",
        "members who clicked",
    )
    rows = [
        (
            row.period_start.date().isoformat(),
            row.sent_at.strftime("%Y-%m-%d %H:%M") if row.sent_at else "",
            row.members,
            *(row.states.get(state, 0) for state in states),
            row.unsubscribed,
            row.clicks,
            row.clickers,
        )
        for row in figures
    ]
    caption = (
        f"{community.name}: the last {len(figures)} digests" if len(figures) != 1 else f"{community.name}: the digest"
    )
    return Table("weeks", caption, headers, rows)


def _topic_names(figures: list[DigestFigures]) -> list[str]:
    return list(dict.fromkeys(name for row in figures for name in row.topic_clicks))


def topic_weeks_table(community: Community, figures: list[DigestFigures]) -> Table:
    names = _topic_names(figures)
    rows = [
        (row.period_start.date().isoformat(), *(row.topic_clicks.get(name, 0) for name in names)) for row in figures
    ]
    return Table("topics", f"{community.name}: clicks per topic", ("week", *names), rows)


def _charts(figures: list[DigestFigures]):
    labels = [_week(row) for row in figures]
    delivery = [("went to", [row.members for row in figures])] + [
        (STATE_WORDS.get(state, state), [row.states.get(state, 0) for row in figures]) for state in _states(figures)
    ]
    engagement = [
        ("clicks", [row.clicks for row in figures]),
        ("members who clicked", [row.clickers for row in figures]),
        ("unsubscribed", [row.unsubscribed for row in figures]),
    ]
    by_topic = [(name, [row.topic_clicks.get(name, 0) for row in figures]) for name in _topic_names(figures)]
    charts = (
        ("Delivery by week", delivery),
        ("Clicks and unsubscriptions by week", engagement),
        ("Clicks per topic by week", by_topic),
    )
    return [(title, bar_chart(title, labels, series)) for title, series in charts if series]


def digest_tables(engine, figures: DigestFigures) -> list[Table]:
    states = _states([figures])
    by_state = [(STATE_WORDS.get(state, state), figures.states.get(state, 0)) for state in states]
    rows = [("went to", figures.members), *by_state, ("unsubscribed after it", figures.unsubscribed)]
    delivery = Table("delivery", "Delivery", ("state", "members"), rows)
    clicks = click_breakdown(engine, figures.digest_id)
    return [
        delivery,
        Table(
            "items",
            "Clicks per item",
            ("item", "topic · source", "clicks", "members who clicked"),
            [(row.name, row.detail, row.clicks, row.members) for row in clicks.items],
        ),
        Table(
            "topics",
            "Clicks per topic",
            ("topic", "items", "clicks", "members who clicked"),
            [(row.name, row.items, row.clicks, row.members) for row in clicks.topics],
        ),
        Table(
            "sources",
            "Clicks per source",
            ("source", "items", "clicks", "members who clicked"),
            [(row.name, row.items, row.clicks, row.members) for row in clicks.sources],
        ),
    ]


@router.get("")
def dashboard_home(request: Request, user: User = Depends(require_admin)):
    engine = web(request).engine
    rows = [(community, community_figures(engine, community.id, WEEKS)) for community in list_communities(engine)]
    return render(request, "dashboard_home.html", communities=rows)


@router.get("/{slug}")
def community_dashboard(request: Request, slug: str, user: User = Depends(require_admin)):
    community = community_by_slug(request, slug)
    figures = community_figures(web(request).engine, community.id, WEEKS)
    return render(
        request,
        "dashboard.html",
        community=community,
        figures=figures,
        charts=_charts(figures) if figures else [],
        tables=[weeks_table(community, figures), topic_weeks_table(community, figures)],
    )


@router.get("/{slug}/{name}.csv")
def community_csv(request: Request, slug: str, name: str, user: User = Depends(require_admin)):
    community = community_by_slug(request, slug)
    figures = community_figures(web(request).engine, community.id, WEEKS)
    tables = {table.name: table for table in (weeks_table(community, figures), topic_weeks_table(community, figures))}
    if name not in tables:
        raise HTTPException(status_code=404, detail="No such table.")
    return csv_response(tables[name], f"{community.slug}-{name}.csv")


def _digest_figures(request: Request, slug: str, digest_id: int) -> tuple[Community, DigestFigures]:
    community = community_by_slug(request, slug)
    figures = digest_figures(web(request).engine, community.id, digest_id)
    if figures is None:
        raise HTTPException(status_code=404, detail="No such digest sent for this community.")
    return community, figures


@router.get("/{slug}/digests/{digest_id}")
def digest_dashboard(request: Request, slug: str, digest_id: int, user: User = Depends(require_admin)):
    community, figures = _digest_figures(request, slug, digest_id)
    engine = web(request).engine
    return render(
        request,
        "dashboard_digest.html",
        community=community,
        digest=get_digest(engine, digest_id),
        figures=figures,
        tables=digest_tables(engine, figures),
    )


@router.get("/{slug}/digests/{digest_id}/{name}.csv")
def digest_csv(request: Request, slug: str, digest_id: int, name: str, user: User = Depends(require_admin)):
    community, figures = _digest_figures(request, slug, digest_id)
    table = next((t for t in digest_tables(web(request).engine, figures) if t.name == name), None)
    if table is None:
        raise HTTPException(status_code=404, detail="No such table.")
    return csv_response(table, f"{community.slug}-{figures.period_start.date().isoformat()}-{name}.csv")
