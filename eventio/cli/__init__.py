"""Admin commands, under `flask --app eventio …`."""

from __future__ import annotations

import functools
from typing import Any

import click
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy.exc import DBAPIError

from eventio.cli import assignments, demo, demo_token, prune, roles, tokens, users
from eventio.cli.database import database_cli
from eventio.db.problems import connection_problem


def unreachable_database_in_one_line(command: click.Command) -> None:
    """A database the command cannot connect to is one line saying why and how to fix it
    (as `python -m eventio.db` says it), not the driver's traceback."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            unreachable_database_in_one_line(sub)
        return
    callback = command.callback
    if callback is None:
        return

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except DBAPIError as error:
            if error.statement is not None:  # connected: a failure of its own
                raise
            app = click.get_current_context().ensure_object(ScriptInfo).load_app()
            url = app.config["SQLALCHEMY_DATABASE_URI"]
            raise click.ClickException(connection_problem(url, error)) from None

    command.callback = run


def register_commands(app: Flask) -> None:
    """Attach every admin command group to the app's CLI."""
    tokens.tokens_cli.add_command(prune.prune_expired)
    for command in (
        users.users_cli,
        roles.roles_cli,
        assignments.assignments_cli,
        tokens.tokens_cli,
        demo.demo,
        demo_token.demo_token,
        database_cli,
    ):
        app.cli.add_command(command)
    for command in app.cli.commands.values():
        if command.name != "db":  # Flask-Migrate's, not ours
            unreachable_database_in_one_line(command)
