"""One row by key (`single`): its statement built once per shape, the path's ids bound
at execution.

Building the statement of one booking with its joined includes (the view's `Select`, the
declaration applied, the to-one joins, the limit) and deriving SQLAlchemy's cache key
from it cost about a quarter of the request's CPU, for a statement whose shape depends only
on the endpoint, the event, the caller's role there, the includes' scope and the
`include` / `fields` parameters. So the view is called once per such shape with bound
parameters in place of the path's ids (`:path_booking_id`), the result is kept in the
app's plan cache (least recently used dropped first), and each request executes the kept
statement with its own ids: a statement object executed again reuses its memoised cache
key.

A `single` view therefore builds its statement from its arguments alone (the event's
access and the path's ids, as SQL values), never from the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam

from eventio.auth.permissions import EventAccess
from eventio.db.prepared import PREPARE
from eventio.querybuilder import BuiltQuery, QueryParams, QuerySpec
from eventio.querybuilder.includes import IncludePlan, plan_includes
from eventio.querybuilder.plan_cache import PlanCache
from eventio.querybuilder.scope import IncludeScope, ScopeRule

PATH_PARAMETER = "path_{}"


@dataclass(frozen=True)
class OneRowPlan:
    """What one row's request needs that depends only on its shape."""

    built: BuiltQuery
    statement: Select[Any]
    includes: IncludePlan


def argument_key(argument: Any) -> Any:
    """A view's positional argument, hashable: an `EventAccess` by everything it holds."""
    if isinstance(argument, EventAccess):
        ranks = sorted(argument.ranks.items())
        return (EventAccess, argument.event_id, argument.event_name, *ranks)
    return argument


class OneRowPlans:
    """The plans of one `single` endpoint (its declaration and its view), by shape."""

    def __init__(self, spec: QuerySpec, view: Callable[..., Select[Any]], rule: ScopeRule) -> None:
        self.spec = spec
        self.view = view
        self.rule = rule

    def plan(
        self,
        args: tuple[Any, ...],
        path: Mapping[str, Any],
        kept: tuple[tuple[str, str], ...],
        scope: IncludeScope,
        cache: PlanCache[Any],
        dialect: str,
    ) -> tuple[OneRowPlan, dict[str, Any]]:
        """The plan for this shape (built on first use) and the values to execute it with.

        `args` are the view's leading arguments (the event's access), `path` the route's
        ids, `kept` the request's `include` / `fields` parameters (an invalid one raises
        while building, and nothing is kept), `scope` the includes' scope."""
        values = {PATH_PARAMETER.format(name): value for name, value in path.items()}
        arguments = tuple(argument_key(a) for a in args)
        key = ("single", self.view, arguments, tuple(path), kept, scope)
        try:
            hash(key)
        except TypeError:  # an argument that cannot be told apart is never shared
            return self._build(args, path, kept, scope, dialect), values
        return cache.get(key, lambda: self._build(args, path, kept, scope, dialect)), values

    def _build(
        self,
        args: tuple[Any, ...],
        path: Mapping[str, Any],
        kept: tuple[tuple[str, str], ...],
        scope: IncludeScope,
        dialect: str,
    ) -> OneRowPlan:
        spec, resource = self.spec, self.spec.resource
        conditions = self.rule.bind(scope)
        built = spec.build(QueryParams.parse(list(kept)))
        placeholders = {name: bindparam(PATH_PARAMETER.format(name)) for name in path}
        statement = built.apply(self.view(*args, **placeholders), resource, conditions)
        includes = plan_includes(
            resource,
            built.include_tree,
            conditions,
            dialect,
            fields=built.fields,
            counts=built.counts,
            join_root=True,
        )
        statement = includes.into(statement).limit(1).execution_options(**PREPARE)
        return OneRowPlan(built, statement, includes)
