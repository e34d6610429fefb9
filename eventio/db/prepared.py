"""Server-side prepared statements, for the statements whose plan never depends on size.

psycopg prepares nothing here on its own (`prepare_threshold` is set out of reach in
eventio.settings; `None` would also make psycopg ignore `prepare=True`): a plan prepared on
a small event and reused for the flagship made lists slow. A statement that looks rows up
by key (the token, one row, the rows of an include) has the same good plan everywhere, so
it may ask to be prepared with `.execution_options(prepare=True)`: PostgreSQL then parses
it once per connection instead of once per request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import ExecutionContext

from eventio.db.extensions import db

PREPARE = {"prepare": True}


def execute_prepared(
    cursor: Any, statement: str, parameters: Any, context: ExecutionContext
) -> bool | None:
    """SQLAlchemy's `do_execute`, with psycopg's `prepare=True` for a statement that asks."""
    if not context.execution_options.get("prepare"):
        return None
    cursor.execute(statement, parameters, prepare=True)
    return True


def watch(engine: Engine) -> None:
    if engine.dialect.driver == "psycopg" and not event.contains(
        engine, "do_execute", execute_prepared
    ):
        event.listen(engine, "do_execute", execute_prepared)


def init_app(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            watch(engine)
