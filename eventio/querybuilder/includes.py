"""Includes: which relation paths a client may ask for, and their eager loading.

Each relation level is one statement (`WHERE key IN (…)` over the keys of the level
above), so the number of statements never grows with the page size.

A to-many include may carry at most `cap` rows per response: each such level reads at
most `cap + 1` rows (a `LIMIT` bound at execution) and raises `TooManyIncludedRows` when
it finds more, so an event of 200k bookings is never read whole for one answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from sqlalchemy import ARRAY, Connection, Integer, Select, and_, any_, bindparam, func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from eventio.querybuilder.resource import Relation, Resource

IncludeTree = dict[str, "IncludeTree"]
Kept = TypeVar("Kept")
Scope = Callable[[Relation], Sequence[ColumnElement[bool]]]
# Keys per IN list; well under SQLite's and PostgreSQL's bound parameter limits.
KEYS_PER_STATEMENT = 10_000
ROW_CAP = "row_cap"


class TooManyIncludedRows(Exception):
    """A to-many include holds more rows than one response may carry."""

    def __init__(self, path: str, relation: Relation, cap: int) -> None:
        super().__init__(f"include={path} carries more than {cap} rows")
        self.path = path
        self.relation = relation
        self.cap = cap


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
    rows: Sequence[Sequence[Any]],
    items: Sequence[dict[str, Any]],
    include_tree: IncludeTree,
    scope: Scope,
    fields: Mapping[str, frozenset[str]] | None = None,
    *,
    cap: int | None = None,
    path: str = "",
) -> None:
    """Attach each included relation to `items` (the serialised `rows`), level by level.

    A relation that holds one row, included under another include (`tickets.ticket`,
    `group.customer`), is joined into its parent's statement rather than fetched by one
    of its own. `fields` maps a resource type to the output fields to keep. A to-many
    level past `cap` rows raises `TooManyIncludedRows` (`path` names where the tree is).
    """
    fields = fields or {}
    for name, subtree in include_tree.items():
        relation = resource.relations[name]
        target = relation.target
        here = path + name
        local = resource.index(relation.local_key)
        keys = list(dict.fromkeys(row[local] for row in rows if row[local] is not None))
        joined: IncludeTree = {c: {} for c in subtree if joinable(target.relations[c])}
        separate = {child: tree_ for child, tree_ in subtree.items() if child not in joined}
        limit = cap if relation.many else None
        fetched = _fetch(session, relation, keys, scope, list(joined), limit) if keys else []
        if limit is not None and len(fetched) > limit:
            raise TooManyIncludedRows(here, relation, limit)
        width = len(target.keys)
        child_rows = [tuple(row[:width]) for row in fetched]
        serialize = target.serializer(fields.get(target.type))
        child_items = [serialize(row) for row in child_rows]
        # The joined children's columns follow the child's own in each fetched row.
        attach_joined(
            session,
            target,
            fetched,
            child_items,
            joined,
            subtree,
            width,
            scope,
            fields,
            cap=cap,
            path=here + ".",
        )
        if separate and child_rows:
            load(
                session,
                target,
                child_rows,
                child_items,
                separate,
                scope,
                fields,
                cap=cap,
                path=here + ".",
            )
        _attach(relation, name, rows, items, local, child_rows, child_items)


def join_to_one(
    statement: Select[Any], resource: Resource, include_tree: IncludeTree, scope: Scope
) -> tuple[Select[Any], IncludeTree]:
    """Join the tree's to-one includes from plain tables (and theirs, level after level)
    into the statement of `resource`'s own rows, scoped like any include; the joined part
    of the tree. For one row by key (`single`): its plan stays a lookup by key, and
    `group.customer` costs no statement of its own. A page keeps separate statements: a
    join there could change how the page itself is planned.

    The joins and their columns are built once per shape and scope, like an include's
    statement: building them took as long as running the statement they save."""
    steps, joined = joined_steps(resource, include_tree, scope)
    if not steps:
        return statement, {}
    key = steps_key(steps)

    def build() -> JoinPlan:
        return join_plan(resource, steps)

    plan = build() if key is None else join_plans.get((resource, key), build)
    return statement.add_columns(*plan.columns).select_from(plan.from_), joined


@dataclass(frozen=True)
class JoinStep:
    """One to-one relation joined: from `parent` (through `parent_alias`, None for the
    statement's own table), with the scope's conditions on the joined table."""

    parent: Resource
    name: str
    parent_alias: Any
    conditions: tuple[ColumnElement[bool], ...]


@dataclass(frozen=True)
class JoinPlan:
    from_: Any
    columns: tuple[Any, ...]


def joined_steps(
    resource: Resource, include_tree: IncludeTree, scope: Scope
) -> tuple[list[JoinStep], IncludeTree]:
    """The tree's relations that can be joined into a statement of `resource`'s rows, in
    the order of their columns, and the part of the tree they make up."""
    steps: list[JoinStep] = []
    joined: IncludeTree = {}
    _walk_joins(resource, include_tree, scope, None, joined, steps, set())
    return steps, joined


def steps_key(steps: Sequence[JoinStep]) -> tuple[Any, ...] | None:
    """What tells joins apart: each step's relation, where it hangs from and its scope's
    values (see `scope_key`); None when a scope cannot be told apart."""
    key = []
    for step in steps:
        scoped = scope_key(step.conditions)
        if scoped is None:
            return None
        alias = None if step.parent_alias is None else str(step.parent_alias.name)
        key.append((step.parent, step.name, alias, scoped))
    return tuple(key)


def _walk_joins(
    parent: Resource,
    subtree: IncludeTree,
    scope: Scope,
    parent_alias: Any,
    joined: IncludeTree,
    steps: list[JoinStep],
    aliases: set[str],
) -> None:
    """The joinable relations of the tree, depth first: the order of their columns."""
    for name, children in subtree.items():
        relation = parent.relations[name]
        if not joinable(relation):
            continue
        shape = joined_shape(parent, name)
        if shape.alias.name in aliases:
            continue
        aliases.add(shape.alias.name)
        steps.append(JoinStep(parent, name, parent_alias, tuple(scope(relation))))
        joined[name] = {}
        _walk_joins(relation.target, children, scope, shape.alias, joined[name], steps, aliases)


def join_plan(resource: Resource, steps: Sequence[JoinStep]) -> JoinPlan:
    """The `LEFT JOIN`s of `steps` onto what `resource` selects from, and their columns."""
    from_: Any = resource.table if resource.from_ is None else resource.from_
    columns: list[Any] = []
    for step in steps:
        shape = joined_shape(step.parent, step.name)
        on = shape.on
        if step.parent_alias is not None:
            on = ClauseAdapter(step.parent_alias).traverse(on)
        condition = and_(on, *(shape.adapt(c) for c in step.conditions))
        from_ = from_.outerjoin(shape.alias, condition)
        columns.extend(shape.columns)
    return JoinPlan(from_, tuple(columns))


def attach_joined(
    session: Session | Connection,
    resource: Resource,
    rows: Sequence[Sequence[Any]],
    items: Sequence[dict[str, Any]],
    joined: IncludeTree,
    include_tree: IncludeTree,
    offset: int,
    scope: Scope,
    fields: Mapping[str, frozenset[str]],
    *,
    cap: int | None = None,
    path: str = "",
) -> int:
    """Serialise the `joined` relations' columns, which follow each row's own from
    `offset` (added by `join_to_one`, or by `include_statement` to an include's rows), into
    `items`; then load what those relations include beyond the join. The offset after."""
    for name, joined_children in joined.items():
        relation = resource.relations[name]
        target = relation.target
        width = len(target.keys)
        remote = target.index(relation.remote_key)
        serialize = target.serializer(fields.get(target.type))
        # Many parents share one joined row (every line of a page names one of a few
        # tickets): each distinct row is serialised once, and its dict shared.
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        with_child: list[Sequence[Any]] = []
        child_items: list[dict[str, Any]] = []
        for row, parent in zip(rows, items, strict=True):
            joined_row = tuple(row[offset : offset + width])
            if joined_row[remote] is None:
                parent[name] = None
                continue
            item = found.get(joined_row)
            if item is None:
                item = found[joined_row] = serialize(joined_row)
            parent[name] = item
            with_child.append(row)
            child_items.append(item)
        subtree = include_tree[name]
        offset = attach_joined(
            session,
            target,
            with_child,
            child_items,
            joined_children,
            subtree,
            offset + width,
            scope,
            fields,
            cap=cap,
            path=f"{path}{name}.",
        )
        separate = {child: t for child, t in subtree.items() if child not in joined_children}
        if separate and found:
            load(
                session,
                target,
                list(found),
                list(found.values()),
                separate,
                scope,
                fields,
                cap=cap,
                path=f"{path}{name}.",
            )
    return offset


def joinable(relation: Relation) -> bool:
    """One row, from a plain table: it can ride along in the parent's statement."""
    return not relation.many and relation.target.from_ is None


def _attach(
    relation: Relation,
    name: str,
    rows: Sequence[Sequence[Any]],
    items: Sequence[dict[str, Any]],
    local: int,
    child_rows: Sequence[Sequence[Any]],
    child_items: Sequence[dict[str, Any]],
) -> None:
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


@cache
def joined_shape(parent: Resource, name: str) -> JoinedShape:
    """How `parent`'s to-one relation `name` joins into its statement, built once: an alias
    (the same table may already be in the statement) and the columns read through it."""
    child = parent.relations[name]
    alias = child.target.table.alias(f"{child.target.table.name}_{name}")
    adapt = ClauseAdapter(alias).traverse
    return JoinedShape(
        child=child,
        alias=alias,
        adapt=adapt,
        columns=tuple(adapt(column) for column in child.target.columns),
        on=alias.c[child.remote_key] == parent.column(child.local_key),
    )


@dataclass(frozen=True)
class JoinedShape:
    child: Relation
    alias: Any
    adapt: Callable[[Any], Any]
    columns: tuple[Any, ...]
    on: ColumnElement[bool]


KEYS = "keys"
# Include statements built once per shape and scope (see `include_statement`).
STATEMENTS_KEPT = 1024


def keys_match(column: ColumnElement[Any], dialect: str, one: bool) -> ColumnElement[bool]:
    """`column = ANY(:keys)` on PostgreSQL: one array parameter, so the statement's text is
    the same for any number of keys (and can be prepared); an expanding `IN (…)` elsewhere.
    The keys are bound at execution (`{"keys": […]}`, see `bound_keys`).

    One key is bound as one value (`column = :keys`): PostgreSQL prices its generic plan
    of `= ANY` for ten keys, so for one key it plans again on every execution (about
    0.2 ms, ten times what running it takes) instead of reusing the prepared plan."""
    if dialect != "postgresql":
        return column.in_(bindparam(KEYS, expanding=True))
    if one:
        return column == bindparam(KEYS, type_=column.type)
    return column == any_(bindparam(KEYS, type_=ARRAY(column.type)))


def single_key(keys: Sequence[Any], dialect: str) -> bool:
    """Whether `keys` is bound as one value (see `keys_match`)."""
    return dialect == "postgresql" and len(keys) == 1


def bound_keys(keys: Sequence[Any], dialect: str) -> dict[str, Any]:
    """The execution parameters of an include statement for `keys`."""
    return {KEYS: keys[0] if single_key(keys, dialect) else list(keys)}


def scope_key(conditions: Sequence[ColumnElement[bool]]) -> tuple[Any, ...] | None:
    """The scope's conditions by shape and by every value they bind, so that a statement
    built for one scope is never reused for another (another event, another caller);
    None when that cannot be told (an uncacheable clause, an unhashable value)."""
    key: list[Any] = []
    for condition in conditions:
        cache_key = condition._generate_cache_key()
        if cache_key is None:
            return None
        values = tuple(_hashable(b.effective_value) for b in cache_key.bindparams)
        try:
            hash(values)
        except TypeError:
            return None
        key.append((cache_key.key, values))
    return tuple(key)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class StatementCache(Generic[Kept]):
    """The include statements (or joins) already built, least recently used dropped first.

    Building a statement and deriving SQLAlchemy's cache key from it cost about as much as
    executing it; a statement object executed again reuses its memoised key."""

    def __init__(self, size: int = STATEMENTS_KEPT) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[Any, ...], Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], build: Callable[[], Kept]) -> Kept:
        with self._lock:
            statement = self._kept.get(key)
            if statement is not None:
                self._kept.move_to_end(key)
                return statement
        statement = build()
        with self._lock:
            self._kept[key] = statement
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return statement

    def __len__(self) -> int:
        return len(self._kept)


statements: StatementCache[Select[Any]] = StatementCache()
join_plans: StatementCache[JoinPlan] = StatementCache()


def include_statement(
    relation: Relation,
    joined: Sequence[str],
    scope: Scope,
    dialect: str,
    one: bool = False,
    capped: bool = False,
) -> Select[Any]:
    """The relation's rows for the bound `keys`, each followed by the columns of its joined
    relations, scoped like any include. A lookup by key: its plan is good for any event
    (prepared). Built once per relation, joins, dialect, scope values and whether it
    takes `one` key (see `keys_match`). A `capped` statement reads at most `row_cap` rows,
    bound at execution, so one statement serves any cap."""
    target = relation.target
    own = tuple(scope(relation))
    steps, _ = joined_steps(target, {name: {} for name in joined}, scope)
    own_key, joins_key = scope_key(own), steps_key(steps)

    def build() -> Select[Any]:
        statement = target.select()
        if steps:
            plan = join_plan(target, steps)
            statement = statement.add_columns(*plan.columns).select_from(plan.from_)
        statement = statement.where(
            keys_match(target.column(relation.remote_key), dialect, one), *own
        ).order_by(target.table.c.id)
        if capped:
            statement = statement.limit(bindparam(ROW_CAP, type_=Integer()))
        return statement.execution_options(prepare=True)

    if own_key is None or joins_key is None:
        return build()  # a scope that cannot be told apart is never shared
    return statements.get((relation, dialect, one, capped, own_key, joins_key), build)


def _fetch(
    session: Session | Connection,
    relation: Relation,
    keys: list[Any],
    scope: Scope,
    joined: Sequence[str] = (),
    cap: int | None = None,
) -> list[Row[Any]]:
    """The relation's rows for `keys` (see `include_statement`), in chunks of keys; with a
    `cap`, no more than `cap + 1` in all (one more tells that there are too many)."""
    dialect = (session.get_bind() if isinstance(session, Session) else session).dialect.name
    statements_by_one: dict[bool, Select[Any]] = {}
    fetched: list[Row[Any]] = []
    capped = cap is not None
    for start in range(0, len(keys), KEYS_PER_STATEMENT):
        chunk = keys[start : start + KEYS_PER_STATEMENT]
        one = single_key(chunk, dialect)
        if one not in statements_by_one:
            statements_by_one[one] = include_statement(
                relation, joined, scope, dialect, one, capped
            )
        parameters = bound_keys(chunk, dialect)
        if cap is not None:
            parameters[ROW_CAP] = cap + 1 - len(fetched)
        fetched.extend(session.execute(statements_by_one[one], parameters).all())
        if cap is not None and len(fetched) > cap:
            break
    return fetched
