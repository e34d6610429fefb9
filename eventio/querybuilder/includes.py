"""Includes: which relation paths a client may ask for, and their eager loading.

Each relation level is one statement (`WHERE key IN (…)` over the keys of the level
above), so the number of statements never grows with the page size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from eventio.querybuilder.resource import Relation, Resource

IncludeTree = dict[str, "IncludeTree"]
Scope = Callable[[Relation], Sequence[ColumnElement[bool]]]
# Keys per IN list; well under SQLite's and PostgreSQL's bound parameter limits.
KEYS_PER_STATEMENT = 10_000


def with_parents(names: Iterable[str]) -> list[str]:
    """`a.b.c` also allows `a` and `a.b`, as Spatie does."""
    expanded: dict[str, None] = {}
    for name in names:
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            expanded[".".join(parts[:depth])] = None
    return list(expanded)


def tree(names: Iterable[str]) -> IncludeTree:
    root: IncludeTree = {}
    for name in names:
        node = root
        for part in name.split("."):
            node = node.setdefault(part, {})
    return root


def relations(resource: Resource, include_tree: IncludeTree) -> Iterable[Relation]:
    """Every relation the tree walks, depth first."""
    for name, subtree in include_tree.items():
        relation = resource.relations[name]
        yield relation
        yield from relations(relation.target, subtree)


def check_paths(resource: Resource, names: Iterable[str]) -> None:
    """Fail at declaration time for an include path the resources cannot follow."""
    for name in names:
        node = resource
        for part in name.split("."):
            if part not in node.relations:
                raise KeyError(f"{resource.name} cannot include {name!r}: no relation {part!r}")
            node = node.relations[part].target


def load(
    session: Session | Connection,
    resource: Resource,
    rows: Sequence[Row[Any]],
    items: Sequence[dict[str, Any]],
    include_tree: IncludeTree,
    scope: Scope,
    fields: Mapping[str, frozenset[str]] | None = None,
) -> None:
    """Attach each included relation to `items` (the serialised `rows`), level by level.

    `fields` maps a resource type to the output fields to keep (sparse fieldsets).
    """
    fields = fields or {}
    for name, subtree in include_tree.items():
        relation = resource.relations[name]
        local = resource.index(relation.local_key)
        keys = list(dict.fromkeys(row[local] for row in rows if row[local] is not None))
        child_rows = _fetch(session, relation, keys, scope) if keys else []
        serialize = relation.target.serializer(fields.get(relation.target.type))
        child_items = [serialize(row) for row in child_rows]
        if subtree and child_rows:
            load(session, relation.target, child_rows, child_items, subtree, scope, fields)
        remote = relation.target.index(relation.remote_key)
        if relation.many:
            by_key: dict[Any, list[dict[str, Any]]] = defaultdict(list)
            for row, item in zip(child_rows, child_items, strict=True):
                by_key[row[remote]].append(item)
            for row, parent in zip(rows, items, strict=True):
                parent[name] = by_key.get(row[local], [])
        else:
            one = {row[remote]: item for row, item in zip(child_rows, child_items, strict=True)}
            for row, parent in zip(rows, items, strict=True):
                parent[name] = one.get(row[local])


def count_column(relation: Relation, parent: Resource, scope: Scope) -> Any:
    """`(SELECT count(*) …)` of a many relation, labelled `<name>_count` as Spatie does."""
    target = relation.target
    return (
        select(func.count())
        .select_from(target.table)
        .where(
            target.table.c[relation.remote_key] == parent.column(relation.local_key),
            *scope(relation),
        )
        .scalar_subquery()
        .label(count_key(relation.name))
    )


def count_key(name: str) -> str:
    """`eventUsers` -> `event_users_count`."""
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return f"{snake}_count"


def _fetch(
    session: Session | Connection, relation: Relation, keys: list[Any], scope: Scope
) -> list[Row[Any]]:
    target = relation.target
    key_column = target.column(relation.remote_key)
    fetched: list[Row[Any]] = []
    for start in range(0, len(keys), KEYS_PER_STATEMENT):
        chunk = keys[start : start + KEYS_PER_STATEMENT]
        statement = (
            target.select()
            .where(key_column.in_(chunk), *scope(relation))
            .order_by(target.table.c.id)
        )
        fetched.extend(session.execute(statement).all())
    return fetched
