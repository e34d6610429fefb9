"""A table as the API shows it: the columns selected, how a row becomes a dict, its relations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Table, select
from sqlalchemy.engine import Row
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.elements import ColumnElement

Serializer = Callable[[Row[Any]], dict[str, Any]]
# Column keys of the row, and the output fields to keep (None: all) -> a serializer.
SerializerFactory = Callable[[Sequence[str], "frozenset[str] | None"], Serializer]
FieldLister = Callable[[], Sequence[str]]


@dataclass(frozen=True)
class Relation:
    """`parent.local_key == target.remote_key`; `many` gives a list, else one row or null."""

    name: str
    target: Resource
    local_key: str
    remote_key: str
    many: bool


@dataclass(eq=False)
class Resource:
    """What the API serves of one table.

    `columns` are what a row selects (table columns, or labelled expressions such as a
    customer's `full_name`); `serializer` is compiled once from the column keys.
    """

    name: str
    table: Table
    columns: Sequence[ColumnElement[Any]]
    serializer_factory: SerializerFactory
    area: str
    from_: FromClause | None = None
    # The output schema the rows follow, for documentation (OpenAPI); not used to serve.
    schema: Any = None
    # The output keys a sparse fieldset may keep.
    field_names: Sequence[str] = ()
    relations: dict[str, Relation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys: list[str] = [c.key for c in self.columns if c.key is not None]
        self._serializers: dict[frozenset[str] | None, Serializer] = {}
        self.serialize: Serializer = self.serializer(None)
        self._select: Select[Any] | None = None

    @property
    def type(self) -> str:
        """The name sparse fieldsets use: `fields[bookings]=id,status`."""
        return self.table.name

    def serializer(self, only: frozenset[str] | None) -> Serializer:
        """The row serializer keeping only the output fields `only` (all when None)."""
        if only not in self._serializers:
            self._serializers[only] = self.serializer_factory(self.keys, only)
        return self._serializers[only]

    def select(self) -> Select[Any]:
        """`SELECT <columns> FROM <table>`, built once: statements are immutable, and each
        request's `.where(…)` makes its own copy."""
        if self._select is None:
            self._select = select(*self.columns).select_from(
                self.from_ if self.from_ is not None else self.table
            )
        return self._select

    def index(self, key: str) -> int:
        return self.keys.index(key)

    def column(self, name: str) -> ColumnElement[Any]:
        """A table column, or a selected expression of that label."""
        if name in self.table.c:
            return self.table.c[name]
        for column in self.columns:
            if column.key == name:
                return column
        raise KeyError(f"{self.name} has no column {name!r}")

    def relate(
        self, name: str, target: Resource, local_key: str, remote_key: str, *, many: bool
    ) -> None:
        if local_key not in self.keys or remote_key not in target.keys:
            raise KeyError(f"{self.name}.{name}: keys must be selected columns")
        self.relations[name] = Relation(name, target, local_key, remote_key, many)
