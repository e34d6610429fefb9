"""The API as a newcomer meets it after `make run`: the demo world on a fresh SQLite file,
served over real HTTP, with a demo token that has every ability.

Made for the documentation's snippets (tests/docs) and the documented dlt configuration:
`environment()` is what a reader's shell holds after README's "Trying it"."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select
from sqlalchemy.orm import Session

from eventio import create_app
from eventio.auth.guard import utcnow
from eventio.cli.demo_world import DEMO_EMAIL
from eventio.cli.tokens import issue_token
from eventio.db.extensions import db
from eventio.models import User
from eventio.oauth.clients import create_client
from tests.support.live_server import live_server

# What would point a snippet's `flask` command or the server elsewhere than the demo world.
FOREIGN_SETTINGS = (
    "DATABASE_URL",
    "WRITE_DATABASE_URL",
    "OAUTH_DATABASE_URL",
    "REDIS_URL",
    "PUBLIC_BASE_URL",
    "SECRET_KEY",
    "TEST_DATABASE_URL",
    "TEST_REDIS_URL",
    "TEST_SCHEMA",
)
DOCUMENTED_ADDRESS = ("127.0.0.1:8000", "localhost:8000")


@dataclass(frozen=True)
class DemoServer:
    app: Flask
    base_url: str  # http://127.0.0.1:<port>
    database_url: str
    directory: Path  # the temporary folder holding the database and the snippets' files
    token: str  # the demo user's, abilities `*`
    user_id: int

    @property
    def api(self) -> str:
        return f"{self.base_url}/api/v2"

    def oauth_client(self, name: str = "snippets") -> tuple[str, str]:
        """A new OAuth client of the demo user with every ability: (client_id, secret)."""
        # A plain session on the demo world's engine: on a Laravel-made suite database,
        # tests/support/oauth_store.py sends db.session's clients to another store.
        with self.app.app_context(), Session(db.engine) as session:
            made = create_client(session, self.user_id, name, ["*"], utcnow())
        return made.client_id, made.secret

    def localised(self, text: str) -> str:
        """A documented command or script, aimed at this server instead of port 8000."""
        address = self.base_url.removeprefix("http://")
        for documented in DOCUMENTED_ADDRESS:
            text = text.replace(documented, address)
        return text

    def workspace(self, directory: Path) -> Path:
        """`directory`, made a reader's working copy enough for the docs' commands: `.venv`
        there is the project's, so `.venv/bin/flask` runs as the docs write it."""
        venv = directory / ".venv"
        if not venv.exists():
            venv.symlink_to(Path(sys.prefix), target_is_directory=True)
        return directory

    def environment(self, workspace: Path) -> dict[str, str]:
        """The environment a reader has after README's "Trying it": TOKEN and API set, the
        project's .venv/bin first on PATH, `flask` commands on the demo world's database;
        CLIENT_ID and CLIENT_SECRET a new OAuth client's (so that one snippet revoking its
        client leaves the others theirs), USER_ID the demo user's."""
        environment = {k: v for k, v in os.environ.items() if k not in FOREIGN_SETTINGS}
        venv_bin = str(Path(sys.prefix) / "bin")
        client_id, secret = self.oauth_client()
        environment.update(
            PATH=venv_bin + os.pathsep + environment.get("PATH", ""),
            TOKEN=self.token,
            API=self.api,
            CLIENT_ID=client_id,
            CLIENT_SECRET=secret,
            USER_ID=str(self.user_id),
            DATABASE_URL=self.database_url,
            EVENTIO_INSTANCE_PATH=str(self.directory / "instance"),
            # dlt keeps pipeline state under ~/.dlt unless told: keep it in the temp folder.
            DLT_DATA_DIR=str(workspace / "dlt"),
            RUNTIME__DLTHUB_TELEMETRY="false",
        )
        return environment


@contextmanager
def demo_server(directory: Path, bookings: int = 6000) -> Iterator[DemoServer]:
    """Migrate a fresh SQLite file in `directory`, load the demo world (`flask demo`, with
    its default 6000 bookings unless told), issue the demo token and serve."""
    directory.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{directory / 'demo.db'}"
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": None,
            "WRITE_DATABASE_URL": None,
            "OAUTH_DATABASE_URL": None,
            "PUBLIC_BASE_URL": None,
        }
    )
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["demo", "--bookings", str(bookings)])
        if result.exit_code != 0:
            raise RuntimeError(f"flask demo failed: {result.output}") from result.exception
        user_id = db.session.execute(select(User.id).where(User.email == DEMO_EMAIL)).scalar_one()
        now = utcnow()
        token = issue_token(db.session, user_id, "snippets", ["*"], now + timedelta(days=1), now)
        db.session.remove()
    with live_server(app) as base_url:
        yield DemoServer(app, base_url, database_url, directory, token, user_id)
    with app.app_context():
        db.engine.dispose()
