"""Integers in paths, queries and forms are checked against the store's range before any route runs.

Python's int has no bounds but the store's Integer columns do (PostgreSQL's are 32-bit, SQLite's 64-bit), and a
value past them makes the database raise instead of finding nothing. One app-wide dependency reads which of the
matched route's parameters are integers, so every route, and every route added later, is covered: an id in the
path out of range is simply not found (404), one in a query or a form is a bad request (400).
"""

from __future__ import annotations

import typing

from fastapi import HTTPException, Request
from fastapi.routing import APIRoute

# PostgreSQL's INTEGER: the narrowest integer column of the store.
SMALLEST = -(2**31)
LARGEST = 2**31 - 1


def _is_int(annotation: object) -> bool:
    return annotation is int or any(_is_int(argument) for argument in typing.get_args(annotation))


def integer_parameters(route: APIRoute) -> dict[str, list[str]]:
    """The names of a route's integer parameters by where they come from: path, query, body (form)."""
    dependant = route.dependant
    return {
        kind: [field.name for field in getattr(dependant, f"{kind}_params") if _is_int(field.field_info.annotation)]
        for kind in ("path", "query", "body")
    }


def _out_of_range(values: list[str]) -> bool:
    for value in values:
        text = value.strip()
        if text.lstrip("+-").isdigit() and not SMALLEST <= int(text) <= LARGEST:
            return True
    return False


async def integers_in_range(request: Request) -> None:
    """Refuse a request whose integer parameters the store could not hold: 404 in the path, 400 elsewhere."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    names = integer_parameters(route)
    if _out_of_range([request.path_params.get(name, "") for name in names["path"]]):
        raise HTTPException(status_code=404, detail="Not found.")
    given = [value for name in names["query"] for value in request.query_params.getlist(name)]
    if names["body"] and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # parsed once: the route reads the same, cached form
        given += [value for name in names["body"] for value in form.getlist(name) if isinstance(value, str)]
    if _out_of_range(given):
        raise HTTPException(status_code=400, detail="A number in the request is out of range.")
