"""Includes: which relation paths a client may ask for, and the plan that loads them.

`plan_includes` makes an immutable `IncludePlan` once per request shape: each include is
a strategy (`JoinedInclude`: a to-one relation read from its parent's own row;
`FetchedInclude`: rows fetched by their parents' keys), knowing its columns by name, and
the plan serialises a request's rows itself (`plan.serialize(rows, on=…)`).

Each fetched level is one statement (`WHERE key IN (…)` over the keys of the level
above), so the number of statements never grows with the page size.

A to-many include may carry at most `cap` rows per response: each such level reads at
most `cap + 1` rows (a `LIMIT` bound at execution) and raises `TooManyIncludedRows` when
it finds more, so an event of 200k bookings is never read whole for one answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import ARRAY, Connection, Integer, Select, and_, any_, bindparam, func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from eventio.querybuilder.resource import Relation, Resource, Serializer
from eventio.querybuilder.scope import Scope

IncludeTree = dict[str, "IncludeTree"]
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
) -> None:
    """Attach each included relation to `items` (the serialised `rows`), level by level,
    with a plan built for this call alone (`plan_includes` builds one to keep)."""
    plan = plan_includes(resource, include_tree, scope, dialect_of(session), fields=fields)
    plan.attach(session, rows, items, cap)


def dialect_of(session: Session | Connection) -> str:
    return (session.get_bind() if isinstance(session, Session) else session).dialect.name


def joinable(relation: Relation) -> bool:
    """One row, from a plain table: it can ride along in the parent's statement."""
    return not relation.many and relation.target.from_ is None


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


Reader = Callable[[Sequence[Any]], tuple[Any, ...]]


def reader(layout: Sequence[str], names: Sequence[str]) -> Reader:
    """Read the columns `names` (in that order) from a row laid out as `layout`; the
    positions are found once, when the plan is made."""
    positions = [layout.index(name) for name in names]
    if len(positions) == 1:
        position = positions[0]
        return lambda row: (row[position],)
    return itemgetter(*positions)


def joined_labels(alias: Any, resource: Resource) -> tuple[str, ...]:
    """The names a joined relation's columns take in its parent's statement."""
    return tuple(f"{alias.name}__{key}" for key in resource.keys)


@dataclass(frozen=True)
class Join:
    """The `LEFT JOIN`s made into one statement, and the labelled columns they add."""

    from_: Any
    columns: tuple[Any, ...] = ()

    def then(self, shape: JoinedShape, parent_alias: Any, conditions: Sequence[Any]) -> Join:
        on = shape.on
        if parent_alias is not None:
            on = ClauseAdapter(parent_alias).traverse(on)
        condition = and_(on, *(shape.adapt(c) for c in conditions))
        labels = joined_labels(shape.alias, shape.child.target)
        labelled = tuple(c.label(n) for c, n in zip(shape.columns, labels, strict=True))
        return Join(self.from_.outerjoin(shape.alias, condition), self.columns + labelled)

    def into(self, statement: Select[Any]) -> Select[Any]:
        if not self.columns:
            return statement
        return statement.add_columns(*self.columns).select_from(self.from_)


@dataclass(frozen=True)
class JoinedInclude:
    """A to-one relation read from its parent's own row (its columns joined in)."""

    name: str
    own: Reader  # the relation's columns, in its resource's key order
    remote: int  # where its key is among them (None: no row)
    serialize: Serializer
    joined: tuple[JoinedInclude, ...]
    fetched: tuple[FetchedInclude, ...]

    def attach(
        self,
        session: Session | Connection,
        rows: Sequence[Sequence[Any]],
        items: Sequence[dict[str, Any]],
        cap: int | None,
    ) -> None:
        name, own, remote, serialize = self.name, self.own, self.remote, self.serialize
        # Many parents share one joined row (every line of a page names one of a few
        # tickets): each distinct row is serialised once, and its dict shared.
        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        with_child: list[Sequence[Any]] = []
        child_items: list[dict[str, Any]] = []
        for row, parent in zip(rows, items, strict=True):
            values = own(row)
            if values[remote] is None:
                parent[name] = None
                continue
            item = found.get(values)
            if item is None:
                item = found[values] = serialize(values)  # type: ignore[arg-type]
            parent[name] = item
            with_child.append(row)
            child_items.append(item)
        for joined in self.joined:
            joined.attach(session, with_child, child_items, cap)
        if self.fetched and found:
            child_rows = list(found)
            values_items = list(found.values())
            for fetched in self.fetched:
                fetched.load(session, child_rows, values_items, cap)


@dataclass(frozen=True)
class FetchedInclude:
    """A relation fetched by its parents' keys, in statements of its own (`KEYS_PER_STATEMENT`
    keys each), with its own to-one relations joined in."""

    name: str
    path: str  # `group.bookings`, for the error past the cap
    relation: Relation
    local: int  # where the parent's key is in the parent's rows
    remote: int  # where this relation's key is in its own columns
    own: Reader
    serialize: Serializer
    # By (one key bound as one value, capped): the statements, built once.
    statements: Mapping[tuple[bool, bool], Select[Any]]
    joined: tuple[JoinedInclude, ...]
    fetched: tuple[FetchedInclude, ...]

    def load(
        self,
        session: Session | Connection,
        rows: Sequence[Sequence[Any]],
        items: Sequence[dict[str, Any]],
        cap: int | None,
    ) -> None:
        local = self.local
        keys = list(dict.fromkeys(row[local] for row in rows if row[local] is not None))
        limit = cap if self.relation.many else None
        fetched = self._fetch(session, keys, limit) if keys else []
        if limit is not None and len(fetched) > limit:
            raise TooManyIncludedRows(self.path, self.relation, limit)
        own, serialize = self.own, self.serialize
        child_rows = [own(row) for row in fetched]
        child_items = [serialize(row) for row in child_rows]  # type: ignore[arg-type]
        for joined in self.joined:
            joined.attach(session, fetched, child_items, cap)
        if child_rows:
            for further in self.fetched:
                further.load(session, child_rows, child_items, cap)
        self._attach(rows, items, child_rows, child_items)

    def _fetch(
        self, session: Session | Connection, keys: list[Any], cap: int | None
    ) -> list[Row[Any]]:
        """The rows for `keys`, in chunks of keys; with a `cap`, no more than `cap + 1` in
        all (one more tells that there are too many)."""
        dialect = dialect_of(session)
        fetched: list[Row[Any]] = []
        capped = cap is not None
        for start in range(0, len(keys), KEYS_PER_STATEMENT):
            chunk = keys[start : start + KEYS_PER_STATEMENT]
            statement = self.statements[(single_key(chunk, dialect), capped)]
            parameters = bound_keys(chunk, dialect)
            if cap is not None:
                parameters[ROW_CAP] = cap + 1 - len(fetched)
            fetched.extend(session.execute(statement, parameters).all())
            if cap is not None and len(fetched) > cap:
                break
        return fetched

    def _attach(
        self,
        rows: Sequence[Sequence[Any]],
        items: Sequence[dict[str, Any]],
        child_rows: Sequence[Sequence[Any]],
        child_items: Sequence[dict[str, Any]],
    ) -> None:
        name, local, remote = self.name, self.local, self.remote
        if self.relation.many:
            by_key: dict[Any, list[dict[str, Any]]] = defaultdict(list)
            for row, item in zip(child_rows, child_items, strict=True):
                by_key[row[remote]].append(item)
            for row, parent in zip(rows, items, strict=True):
                parent[name] = by_key.get(row[local], [])
        else:
            one = {row[remote]: item for row, item in zip(child_rows, child_items, strict=True)}
            for row, parent in zip(rows, items, strict=True):
                parent[name] = one.get(row[local])


@dataclass(frozen=True)
class IncludePlan:
    """How the rows of one request shape are serialised: the resource's own fields (sparse
    fieldset applied), its counts, and each include by its strategy (joined into the
    statement, or fetched by keys). Made once per shape and kept; holds no request data."""

    resource: Resource
    serialize_row: Serializer
    # The row's own columns, when joined ones follow them (a page's rows are served as
    # they come: their serialiser reads its own columns and leaves the counts).
    own: Reader | None
    counts: tuple[tuple[str, int], ...]  # (output key, where in the row)
    joined: tuple[JoinedInclude, ...]
    fetched: tuple[FetchedInclude, ...]
    # The output keys set first, in the order the client named the includes (when some
    # are joined, they would otherwise come first).
    ordered: tuple[str, ...]
    # The joins a one-row statement takes (`into`), and the scope the plan was made with.
    join: Join | None
    conditions: Scope

    @property
    def loads(self) -> bool:
        """Whether serialising reads included rows (a connection is needed)."""
        return bool(self.joined or self.fetched)

    def serialize(
        self,
        rows: Sequence[Row[Any]],
        on: Session | Connection | None = None,
        cap: int | None = None,
    ) -> list[dict[str, Any]]:
        """The rows as items, their includes fetched `on` the connection (needed when the
        plan `loads`); a to-many include past `cap` rows raises `TooManyIncludedRows`."""
        serialize, own = self.serialize_row, self.own
        if own is None:
            items = [serialize(row) for row in rows]
        else:
            items = [serialize(own(row)) for row in rows]  # type: ignore[arg-type]
        if self.counts:
            for row, item in zip(rows, items, strict=True):
                for key, position in self.counts:
                    item[key] = row[position]
        if rows and self.loads:
            if on is None:
                raise ValueError("a plan that loads includes needs a connection")
            self.attach(on, rows, items, cap)
        return items

    def attach(
        self,
        session: Session | Connection,
        rows: Sequence[Sequence[Any]],
        items: Sequence[dict[str, Any]],
        cap: int | None = None,
    ) -> None:
        """Attach the includes of `rows` to their `items`."""
        if self.ordered:
            blank = dict.fromkeys(self.ordered)
            for item in items:
                item.update(blank)
        for joined in self.joined:
            joined.attach(session, rows, items, cap)
        for fetched in self.fetched:
            fetched.load(session, rows, items, cap)

    def into(self, statement: Select[Any]) -> Select[Any]:
        """The one-row statement with the joined includes' columns (see `plan_includes`)."""
        return statement if self.join is None else self.join.into(statement)


def plan_includes(
    resource: Resource,
    include_tree: IncludeTree,
    scope: Scope,
    dialect: str,
    *,
    fields: Mapping[str, frozenset[str]] | None = None,
    counts: Sequence[Relation] = (),
    join_root: bool = False,
) -> IncludePlan:
    """The plan of `resource`'s rows with `include_tree`, their `counts` and `fields`.

    A relation that holds one row, included under another include (`tickets.ticket`,
    `group.customer`), is joined into its parent's statement rather than fetched by one
    of its own. With `join_root` (one row by key) the to-one relations of the row itself
    are joined too, level after level: its plan stays a lookup by key, and
    `group.customer` costs no statement. A page keeps separate statements: a join there
    could change how the page itself is planned."""
    fields = fields or {}
    count_keys = [count_key(relation.name) for relation in counts]
    layout = [*resource.keys, *count_keys]
    join = Join(resource.table if resource.from_ is None else resource.from_)
    planner = _Planner(scope, dialect, fields)
    if join_root:
        joined, fetched, join = planner.branch(resource, include_tree, layout, join, None, "")
    else:
        joined, fetched = (), planner.fetched_all(resource, include_tree, "")
    return IncludePlan(
        resource=resource,
        serialize_row=resource.serializer(fields.get(resource.type)),
        own=reader(layout, resource.keys) if join.columns else None,
        counts=tuple((key, layout.index(key)) for key in count_keys),
        joined=joined,
        fetched=fetched,
        ordered=tuple(include_tree) if joined else (),
        join=join if join.columns else None,
        conditions=scope,
    )


@dataclass(frozen=True)
class _Planner:
    scope: Scope
    dialect: str
    fields: Mapping[str, frozenset[str]]

    def branch(
        self,
        parent: Resource,
        subtree: IncludeTree,
        layout: list[str],
        join: Join,
        parent_alias: Any,
        path: str,
        aliases: set[str] | None = None,
    ) -> tuple[tuple[JoinedInclude, ...], tuple[FetchedInclude, ...], Join]:
        """Join every to-one relation of `subtree` into the statement `join` makes (depth
        first, their columns named in `layout`); fetch the rest."""
        aliases = set() if aliases is None else aliases
        joined: list[JoinedInclude] = []
        fetched: list[FetchedInclude] = []
        for name, children in subtree.items():
            relation = parent.relations[name]
            shape = joined_shape(parent, name) if joinable(relation) else None
            if shape is None or shape.alias.name in aliases:
                fetched.append(self.fetched_one(parent, name, children, path))
                continue
            aliases.add(shape.alias.name)
            join = join.then(shape, parent_alias, tuple(self.scope(relation)))
            labels = joined_labels(shape.alias, relation.target)
            layout.extend(labels)
            inner_joined, inner_fetched, join = self.branch(
                relation.target, children, layout, join, shape.alias, f"{path}{name}.", aliases
            )
            joined.append(self.joined_one(relation, layout, labels, inner_joined, inner_fetched))
        return tuple(joined), tuple(fetched), join

    def joined_one(
        self,
        relation: Relation,
        layout: Sequence[str],
        labels: Sequence[str],
        joined: tuple[JoinedInclude, ...],
        fetched: tuple[FetchedInclude, ...],
    ) -> JoinedInclude:
        target = relation.target
        return JoinedInclude(
            name=relation.name,
            own=reader(layout, labels),
            remote=target.index(relation.remote_key),
            serialize=target.serializer(self.fields.get(target.type)),
            joined=joined,
            fetched=fetched,
        )

    def fetched_all(
        self, parent: Resource, subtree: IncludeTree, path: str
    ) -> tuple[FetchedInclude, ...]:
        return tuple(
            self.fetched_one(parent, name, children, path) for name, children in subtree.items()
        )

    def fetched_one(
        self, parent: Resource, name: str, subtree: IncludeTree, path: str
    ) -> FetchedInclude:
        """A relation in statements of its own, its direct to-one relations joined in (one
        level: theirs are fetched from the joined rows)."""
        relation = parent.relations[name]
        target = relation.target
        here = f"{path}{name}."
        layout = list(target.keys)
        join = Join(target.table if target.from_ is None else target.from_)
        aliases: set[str] = set()
        joined: list[JoinedInclude] = []
        fetched: list[FetchedInclude] = []
        for child, children in subtree.items():
            child_relation = target.relations[child]
            shape = joined_shape(target, child) if joinable(child_relation) else None
            if shape is None or shape.alias.name in aliases:
                fetched.append(self.fetched_one(target, child, children, here))
                continue
            aliases.add(shape.alias.name)
            join = join.then(shape, None, tuple(self.scope(child_relation)))
            labels = joined_labels(shape.alias, child_relation.target)
            layout.extend(labels)
            further = self.fetched_all(child_relation.target, children, f"{here}{child}.")
            joined.append(self.joined_one(child_relation, layout, labels, (), further))
        own = tuple(self.scope(relation))
        statements = {
            (one, capped): self.statement(relation, join, own, one, capped)
            for one in ((False, True) if self.dialect == "postgresql" else (False,))
            for capped in ((False, True) if relation.many else (False,))
        }
        return FetchedInclude(
            name=name,
            path=path + name,
            relation=relation,
            local=parent.index(relation.local_key),
            remote=target.index(relation.remote_key),
            own=reader(layout, target.keys),
            serialize=target.serializer(self.fields.get(target.type)),
            statements=statements,
            joined=tuple(joined),
            fetched=tuple(fetched),
        )

    def statement(
        self,
        relation: Relation,
        join: Join,
        conditions: Sequence[ColumnElement[bool]],
        one: bool,
        capped: bool,
    ) -> Select[Any]:
        """The relation's rows for the bound `keys`, each followed by its joined relations'
        columns, scoped. A lookup by key: its plan is good for any event (prepared). A
        `capped` statement reads at most `row_cap` rows, bound at execution, so one
        statement serves any cap."""
        target = relation.target
        statement = join.into(target.select()).where(
            keys_match(target.column(relation.remote_key), self.dialect, one), *conditions
        )
        statement = statement.order_by(target.table.c.id)
        if capped:
            statement = statement.limit(bindparam(ROW_CAP, type_=Integer()))
        return statement.execution_options(prepare=True)
