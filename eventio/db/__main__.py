"""`python -m eventio.db`: what `make run` and `make serve` do before serving.

`flask --app eventio database migrate`, except that a DATABASE_URL the API cannot drive
at all is one line here (the Flask CLI would add its usage text to it)."""

from __future__ import annotations

import sys

import click

from eventio.db.problems import url_problem
from eventio.settings import configured_database_url, database_url


def main() -> int:
    url = configured_database_url()
    problem = url_problem(database_url(url, "")) if url else None
    if problem:
        click.echo(f"Error: {problem}", err=True)
        return 1
    from eventio import create_app
    from eventio.cli.database import migrate

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
