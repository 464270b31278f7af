"""Refuse query parameters a route does not declare.

FastAPI reads only the parameters a route declares and ignores the rest, so a typo such as
`/v1/mrr?regoin=emea` answered 200 with unfiltered (company-wide) numbers: wrong data that looks
right. Every `/v1` router gets this one dependency (see `app.py`): it compares the request's
parameter names with the route's declared ones (its own and those of its dependencies, read from
the dependency tree FastAPI already built, so a new parameter is accepted as soon as it is
declared) and answers 422 in FastAPI's usual error shape, naming each unknown parameter and
listing the accepted ones.

It runs after authentication (401 first) and only on requests the response cache did not
answer; a refused request is never cached (only 200 answers are), so a hit cannot bypass it.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def declared_query_params(dependant: Dependant) -> set[str]:
    """Names (aliases) of the query parameters of `dependant` and all its sub-dependencies."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared_query_params(sub)
    return names


def reject_unknown_query_params(request: Request) -> None:
    """Dependency of every `/v1` route: 422 when the query string names a parameter the route
    does not declare. Walking the tree costs microseconds, and only requests that reach the
    database (cache misses) pay it, so it is not cached."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    accepted = sorted(declared_query_params(route.dependant))
    unknown = sorted(set(request.query_params.keys()) - set(accepted))
    if not unknown:
        return
    listing = f"accepted: {', '.join(accepted)}" if accepted else "this endpoint accepts no query parameters"
    raise RequestValidationError(
        [
            {
                "loc": ("query", name),
                "msg": f"unknown query parameter {name!r} ({listing})",
                "type": "extra_forbidden",
                "input": request.query_params.get(name),
            }
            for name in unknown
        ]
    )


KNOWN_QUERY_PARAMS_ONLY = Depends(reject_unknown_query_params)
