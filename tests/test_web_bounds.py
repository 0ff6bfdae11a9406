"""No input makes the web app answer 500: every route with an integer in its path or form, driven with integers
out of any column's range, answers 400 or 404 (the routes are read from the app, so new ones are covered)."""

from __future__ import annotations

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from test_web_support import post, sign_in

from signpost.store.digests import get_digest, load_items
from signpost.store.review import add_suggestion
from signpost.store.sources import list_sources
from signpost.web.app import create_app
from signpost.web.bounds import integer_parameters

pytest_plugins = ["test_web_support"]

HUGE = "99999999999999999999"
TOO_BIG = [HUGE, "-" + HUGE, "9223372036854775808", "2147483648", "-2147483649"]
OUT_OF_RANGE = [*TOO_BIG, "-1", "0"]


def api_routes(routes: list, prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, looking into included routers (FastAPI keeps them as branches)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes, prefix + getattr(route.include_context, "prefix", ""))
    return found


def integer_routes(app) -> list[tuple[str, str, dict[str, list[str]]]]:
    """(method, path, integer parameters by kind) of every route that takes integers."""
    found = []
    for path, route in api_routes(app.routes):
        ints = integer_parameters(route)
        if any(ints.values()):
            found += [(method, path, ints) for method in sorted(route.methods)]
    return found


def real_ids(seeded) -> dict[str, str]:
    """Ids that exist, so a test can put an out-of-range value in one place and a real one everywhere else."""
    engine = seeded.engine
    return {
        "digest_id": str(seeded.vol_digest),
        "topic_id": str(seeded.recruitment),
        "topic": str(seeded.recruitment),
        "item_id": str(load_items(engine, seeded.vol_digest)[0].id),
        "article_id": str(seeded.vol_articles[0]),
        "user_id": str(seeded.sam),
        "source_id": str(list_sources(engine)[0].id),
        "suggestion_id": str(add_suggestion(engine, seeded.vol.id, "https://x.example/s", member_id=None)),
        "items_per_topic": "3",
    }


TEXT_FIELDS = {
    "state": "approved",
    "direction": "up",
    "action": "dismiss",
    "url": "https://x.example/a",
    "when": "schedule",
    "scheduled_for": "2026-03-09T09:00",
    "enabled": "1",
    "title": "t",
    "blurb": "b",
    "email": "a@example.org",
    "name": "A",
    "slug": "vol",
    "timezone": "UTC",
}


def request(client, method: str, path: str, ints: dict[str, list[str]], given: dict[str, str]):
    # A parameter real_ids does not know yet (a route added later) gets 1: still covered, if less precisely.
    values = {name: given.get(name, "1") for kind in ints.values() for name in kind}
    for name in ints["path"]:
        path = path.replace("{" + name + "}", values[name])
    path = path.replace("{slug}", "vol").replace("{topic_slug}", "recruitment").replace("{token}", "x")
    params = {name: values[name] for name in ints["query"]}
    if method == "GET":
        return client.get(path, params=params, follow_redirects=False)
    return post(client, path, {**TEXT_FIELDS, **{name: values[name] for name in ints["body"]}}, params=params)


def test_every_integer_in_a_path_query_or_form_is_bounded(app_settings, seeded):
    ids = real_ids(seeded)
    # A crash answers 500 here instead of raising in the test, as it would for a browser.
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as client:
        routes = integer_routes(client.app)
        assert len(routes) >= 15, routes
        sign_in(client, "admin@example.org")
        wrong = []
        for method, path, ints in routes:
            for kind in ("path", "query", "body"):
                for name in ints[kind]:
                    for value in OUT_OF_RANGE:
                        response = request(client, method, path, ints, {**ids, name: value})
                        expected = {404} if kind == "path" else {400}
                        if response.status_code >= 500 or (value in TOO_BIG and response.status_code not in expected):
                            wrong.append((method, path, name, value, response.status_code))
        assert wrong == [], "\n".join(map(str, wrong))


def test_far_dates_and_sizes_are_refused_not_crashed(app_settings, seeded):
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as client:
        sign_in(client, "sam@example.org")
        for when in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-13-45T99:99"):
            approve = f"/review/digests/{seeded.vol_digest}/approve"
            response = post(client, approve, {"when": "schedule", "scheduled_for": when})
            assert response.status_code == 303, (when, response.status_code)
            assert "Give a date and time" in client.get(response.headers["location"]).text
        assert get_digest(seeded.engine, seeded.vol_digest).status == "draft"


def test_a_member_csv_with_a_huge_field_is_refused_with_the_reason(app_settings, seeded):
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as client:
        sign_in(client, "admin@example.org")
        huge = b"email,name\nnew@example.org," + b"x" * 200_000 + b"\n"
        response = post(client, "/admin/communities/vol/members", files={"file": ("m.csv", huge, "text/csv")})
        assert response.status_code == 303
        page = client.get(response.headers["location"]).text
        assert "Nothing imported: field larger than field limit" in page
