"""How far included rows may reach, as plain data the caller builds from its access.

The builder never reads the request: the caller (the list and one-row decorators) turns
its access into an `IncludeScope`, a frozen value the include plans are kept by, and an
endpoint declares the `ScopeRule` that turns that value into SQL conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Table
from sqlalchemy.sql.elements import ColumnElement

from eventio.querybuilder.resource import Relation

# The conditions an include of `relation` gets: a bound rule, as the loaders take it.
Scope = Callable[[Relation], Sequence[ColumnElement[bool]]]


@dataclass(frozen=True)
class IncludeScope:
    """Whose rows an include may reach.

    `event_id` is the event in the path (included rows stay within it); `user_id` and
    `abilities` (those of the rule's abilities the caller's token holds) are filled for
    a rule that narrows by the caller, as `/events` narrows its bookings."""

    event_id: int | None = None
    user_id: int | None = None
    abilities: frozenset[str] = frozenset()


Narrowing = Callable[[Relation, IncludeScope], Sequence[ColumnElement[bool]]]


def within_event(relation: Relation, scope: IncludeScope) -> Sequence[ColumnElement[bool]]:
    """Included rows never reach beyond the event in the path."""
    table = relation.target.table
    if scope.event_id is None or "event_id" not in table.c:
        return ()
    return event_condition(table, scope.event_id)


@lru_cache(maxsize=4096)
def event_condition(table: Table, event_id: int) -> tuple[ColumnElement[bool], ...]:
    """`table.event_id = :event_id`, one object per table and event: a statement that
    reuses it finds its cache key already derived."""
    return (table.c.event_id == event_id,)


@dataclass(frozen=True)
class ScopeRule:
    """An endpoint's narrowing of its includes: `narrow(relation, scope)`, a function of
    the scope's data alone; `abilities` are the token abilities it asks about (the scope
    then carries the caller's id and which of them the token holds)."""

    narrow: Narrowing = within_event
    abilities: tuple[str, ...] = ()

    def bind(self, scope: IncludeScope) -> Scope:
        """The conditions of each relation under `scope`."""
        narrow = self.narrow

        def conditions(relation: Relation) -> Sequence[ColumnElement[bool]]:
            return narrow(relation, scope)

        return conditions


WITHIN_EVENT = ScopeRule()
