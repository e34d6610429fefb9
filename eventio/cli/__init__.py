"""Admin commands, under `flask --app eventio …`."""

from __future__ import annotations

from flask import Flask

from eventio.cli import assignments, demo, demo_token, prune, roles, tokens, users
from eventio.database.commands import database_cli


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
