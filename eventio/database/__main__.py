"""`python -m eventio.database`: what `make run` and `make serve` do before serving.

`flask --app eventio database migrate`, except that a DATABASE_URL the API cannot drive
at all is one line here (the Flask CLI would add its usage text to it)."""

from __future__ import annotations

import os
import sys

import click

from eventio.config import database_url
from eventio.database.problems import url_problem


def main() -> int:
    url = os.environ.get("DATABASE_URL")
    problem = url_problem(database_url(url, "")) if url else None
    if problem:
        click.echo(f"Error: {problem}", err=True)
        return 1
    from eventio import create_app
    from eventio.database.commands import migrate

    app = create_app()
    with app.app_context():
        try:
            migrate.main(args=[], standalone_mode=False)
        except click.ClickException as error:
            error.show()
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
