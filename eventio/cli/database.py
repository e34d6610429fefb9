"""`flask --app eventio database check | attach | migrate`: look before serving, add the
API's own parts to an existing database, and migrate only a database the API manages."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from eventio.cli.invocation import flask_command
from eventio.db.attach import Step, own_table_steps, plan
from eventio.db.extensions import db
from eventio.db.inspection import Inspection, inspect_database, required_tables
from eventio.db.problems import connection_problem, shown
from eventio.oauth import store

database_cli = AppGroup("database", help="Check, attach or migrate DATABASE_URL.")


def fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def look() -> Inspection:
    """Inspect DATABASE_URL; a connection that fails is one line saying why."""
    try:
        with db.engine.connect() as connection:
            return inspect_database(connection)
    except DBAPIError as error:
        raise fail(connection_problem(db.engine.url, error)) from None


def oauth_store_state() -> str | None:
    """With OAUTH_DATABASE_URL: whether its `oauth_clients` table is there (None: not set)."""
    if not current_app.config.get("OAUTH_DATABASE_URL"):
        return None
    engine = db.engines["oauth"]
    try:
        with engine.connect() as connection:
            there = inspect(connection).has_table("oauth_clients")
    except DBAPIError as error:
        return connection_problem(engine.url, error, "OAUTH_DATABASE_URL")
    return "ok" if there else f"no oauth_clients table yet: run `{flask_command()} database attach`"


def report(inspection: Inspection) -> Iterator[str]:
    """The check's lines, in the order a person reads them."""
    yield f"Database: {shown(db.engine.url)} ({inspection.dialect})"
    if inspection.managed:
        yield f"Migrations: managed by the API (`{flask_command()} db upgrade`)"
    else:
        yield "Migrations: not managed (no alembic_version): an existing database, served as it is"
    yield "Required tables and columns:"
    for table in required_tables():
        states = [c for c in inspection.columns if c.table == table.name]
        if table.name not in inspection.tables:
            yield f"  {table.name}: table missing"
            continue
        present = [c.column for c in states if c.state == "present"]
        yield f"  {table.name}: present: {', '.join(present)}"
        for column in states:
            if column.state == "missing":
                note = "" if column.required else " (optional)"
                yield f"  {table.name}.{column.column}: missing{note}"
            elif column.state != "present":
                yield (
                    f"  {table.name}.{column.column}: unexpected type "
                    f"({column.found}, expected {column.expected})"
                )
    if inspection.sanctum == 2:
        yield (
            "Token table: Sanctum 2 (no expires_at): tokens expire only by TOKEN_EXPIRATION_MINUTES"
        )
    elif inspection.sanctum == 3:
        yield "Token table: Sanctum 3 or later (expires_at present)"
    if inspection.read_only:
        yield f"Connection: read-only ({inspection.read_only})"
    else:
        yield "Connection: writable"
    if inspection.missing_indexes:
        yield f"Recommended indexes: {len(inspection.missing_indexes)} missing:"
        with db.engine.connect() as connection:
            if any(index.trigram for index in inspection.missing_indexes):
                yield "  CREATE EXTENSION IF NOT EXISTS pg_trgm;"
            for index in inspection.missing_indexes:
                yield f"  {index.create_sql(connection)};"
    else:
        yield "Recommended indexes: all present"
    yield from limits(inspection)


def limits(inspection: Inspection) -> Iterator[str]:
    """What will not work, and the verdict."""
    config = current_app.config
    will_not: list[str] = []
    oauth = store.problem(inspection, config)
    elsewhere = oauth_store_state()
    if oauth:
        will_not.append(f"OAuth (POST /oauth/token, `oauth` commands): {oauth}")
    elif elsewhere not in (None, "ok"):
        will_not.append(
            f"OAuth (POST /oauth/token, `oauth` commands): OAUTH_DATABASE_URL: {elsewhere}"
        )
    if inspection.read_only and not config["WRITE_DATABASE_URL"]:
        will_not.append(
            "tokens' last_used_at is not recorded (read-only; set WRITE_DATABASE_URL to record it)"
        )
    if will_not:
        yield "Will not work:"
        for line in will_not:
            yield f"  - {line}"
    if inspection.can_serve:
        yield "Verdict: the API can serve this database."
    else:
        yield f"Verdict: the API cannot serve this database: {inspection.summary()}."


@database_cli.command("check")
def check() -> None:
    """Report what DATABASE_URL holds and lacks; exit 1 when the API cannot serve it."""
    inspection = look()
    for line in report(inspection):
        click.echo(line)
    if not inspection.can_serve:
        sys.exit(1)


@database_cli.command("attach")
@click.option("--sql", "print_sql", is_flag=True, help="Print the SQL instead of running it.")
def attach(print_sql: bool) -> None:
    """Add the API's own tables and the recommended indexes an existing database lacks;
    nothing else is changed. Running it again adds nothing."""
    inspection = look()
    if inspection.managed and "alembic_version" in inspection.tables:
        raise fail(
            "DATABASE_URL is migrated by the API (alembic_version): "
            f"`{flask_command()} db upgrade` keeps it complete"
        )
    if inspection.managed:
        raise fail(
            "DATABASE_URL holds none of the EventIO tables: "
            f"`{flask_command()} database migrate` builds them"
        )
    oauth_here = not current_app.config.get("OAUTH_DATABASE_URL")
    with db.engine.connect() as connection:
        steps = plan(connection, inspection, oauth_here)
    if not oauth_here:
        steps = oauth_store_steps() + steps
    if print_sql:
        for step in steps:
            click.echo(f"{step.sql};")
        if not steps:
            click.echo("-- nothing to add")
        return
    if not steps:
        click.echo("Nothing to add: the API's own tables and the recommended indexes are there.")
        return
    oauth_steps = [step for step in steps if step.elsewhere]
    here = [step for step in steps if not step.elsewhere]
    if oauth_steps:
        with db.engines["oauth"].begin() as connection:
            for step in oauth_steps:
                connection.execute(text(step.sql))
                click.echo(f"added {step.adds}")
    if here and inspection.read_only:
        raise fail(
            f"DATABASE_URL is read-only ({inspection.read_only}): run attach against the "
            "primary, or print the SQL with --sql for a DBA"
        )
    run_steps(here)


def oauth_store_steps() -> list[Step]:
    """The `oauth_clients` table on OAUTH_DATABASE_URL, when it is not there yet."""
    engine = db.engines["oauth"]
    with engine.connect() as connection:
        tables = frozenset(inspect(connection).get_table_names())
        steps = own_table_steps(connection, tables)
    return [Step(f"{step.adds} on OAUTH_DATABASE_URL", step.sql, elsewhere=True) for step in steps]


def run_steps(steps: list[Step]) -> None:
    """Each statement on DATABASE_URL in a transaction of its own: what was added stays."""
    with db.engine.connect() as connection:
        for step in steps:
            try:
                with connection.begin():
                    connection.execute(text(step.sql))
            except SQLAlchemyError as error:
                if step.trigram:
                    click.echo(f"skipped {step.adds}: {type(error.orig or error).__name__}")
                    continue
                raise fail(f"{step.adds} could not be added: {error.orig or error}") from None
            click.echo(f"added {step.adds}")


@database_cli.command("migrate")
def migrate() -> None:
    """Migrate DATABASE_URL when the API manages it (empty, or with alembic_version); an
    existing database is served as it is and nothing is migrated."""
    inspection = look()
    if inspection.managed:
        try:
            upgrade()
        except SQLAlchemyError as error:
            raise fail(f"migrating {shown(db.engine.url)} failed: {error.orig or error}") from None
        return
    if not inspection.can_serve:
        raise fail(
            f"DATABASE_URL lacks what the API needs: {inspection.summary()}; "
            f"run `{flask_command()} database check`"
        )
    flask = flask_command()
    click.echo(
        f"{shown(db.engine.url)} is an existing EventIO database (no alembic_version): "
        f"served as it is, nothing migrated; `{flask} database check` reports "
        f"what it lacks, `{flask} database attach` adds the API's own tables and indexes."
    )
