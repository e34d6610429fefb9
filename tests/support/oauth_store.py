"""On a Laravel-made database OAuth clients live on OAUTH_DATABASE_URL: the tests that
write clients through `db.session` reach that store too, as the API itself does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.session import Session

from eventio.models import OAuthClient


def is_oauth_clients(mapper: Any, clause: Any) -> bool:
    if mapper is not None:
        try:
            return sa.inspect(mapper).class_ is OAuthClient
        except sa.exc.NoInspectionAvailable:
            return False
    table = getattr(clause, "table", clause)
    return isinstance(table, sa.Table) and table.name == OAuthClient.__tablename__


@contextmanager
def clients_on_the_oauth_bind() -> Iterator[None]:
    """`db.session` sends what concerns `oauth_clients` to the `oauth` bind meanwhile.

    Only the tests' own writes and reads go through here: the API reads and writes
    clients through sessions of its own on that bind (eventio.oauth.store)."""
    original = Session.get_bind

    def get_bind(
        self: Session, mapper: Any = None, clause: Any = None, bind: Any = None, **kw: Any
    ) -> Any:
        if bind is None and is_oauth_clients(mapper, clause):
            return self._db.engines["oauth"]
        return original(self, mapper, clause, bind, **kw)

    Session.get_bind = get_bind  # type: ignore[method-assign]
    try:
        yield
    finally:
        Session.get_bind = original  # type: ignore[method-assign]
