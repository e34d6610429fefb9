"""One line for what is wrong with DATABASE_URL, and how to fix it: never a traceback."""

from __future__ import annotations

from flask.cli import NoAppException
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

SUPPORTED = ("postgresql", "mysql", "sqlite")


class UnusableDatabaseUrl(NoAppException):
    """DATABASE_URL names no database the API can drive (the Flask CLI prints it on one
    line; gunicorn's log ends with it)."""


# What eventio.settings.database_url adds to a bare URL: not shown, so it reads as it was set.
DRIVERS_ADDED = {"postgresql+psycopg": "postgresql", "mysql+pymysql": "mysql"}
CHARSET_ADDED = ("charset", "utf8mb4")


def shown(url: str | URL) -> str:
    """The URL as it was set (`postgresql://…`, not the driver's name), password hidden."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparsable>"
    if parsed.drivername in DRIVERS_ADDED:
        parsed = parsed.set(drivername=DRIVERS_ADDED[parsed.drivername])
    if parsed.query.get(CHARSET_ADDED[0]) == CHARSET_ADDED[1]:
        parsed = parsed.difference_update_query([CHARSET_ADDED[0]])
    return parsed.render_as_string(hide_password=True)


def url_problem(url: str, setting: str = "DATABASE_URL") -> str | None:
    """Why the API cannot drive this URL at all (before connecting), or None."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return (
            f"{setting} is not a database URL; use postgresql://user@host/db, "
            "mysql://user@host/db or sqlite:///path"
        )
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        dialect = None
    if dialect is None or dialect.name not in SUPPORTED:
        return (
            f"{setting}={shown(parsed)}: the {parsed.get_backend_name()} database is not "
            "supported; use postgresql://, mysql:// (or mariadb://) or sqlite:///"
        )
    try:
        dialect.import_dbapi()
    except ImportError:
        return (
            f"{setting}={shown(parsed)}: its driver ({parsed.get_driver_name()}) is not "
            'installed; run `pip install -e ".[dev]"` (or `make install`)'
        )
    return None


def check_url(url: str, setting: str = "DATABASE_URL") -> None:
    problem = url_problem(url, setting)
    if problem:
        raise UnusableDatabaseUrl(problem)


def createdb(url: URL) -> str:
    """PostgreSQL's `createdb` for the URL's database, on its server as its user."""
    options = [
        f"{flag} {value}"
        for flag, value in (("-h", url.host), ("-p", url.port), ("-U", url.username))
        if value
    ]
    return " ".join(["createdb", *options, url.database or ""])


def connection_problem(url: str | URL, error: BaseException, setting: str = "DATABASE_URL") -> str:
    """What a failed connection means, in one line with the fix."""
    parsed = make_url(url)
    where = f"{setting}={shown(parsed)}"
    orig = getattr(error, "orig", None) or error
    text = " ".join(str(orig).split())
    code = getattr(orig, "args", (None,))[0] if getattr(orig, "args", None) else None
    name = parsed.database or ""
    if parsed.get_backend_name() == "postgresql":
        if "does not exist" in text and "database" in text:
            return (
                f"{where}: the database {name} does not exist; create it with "
                f"`{createdb(parsed)}` (or `CREATE DATABASE {name};`), then try again"
            )
        if "password authentication failed" in text or (
            "role" in text and "does not exist" in text
        ):
            return f"{where}: the server refuses this user or password ({text[:120]})"
    if parsed.get_backend_name() == "mysql":
        if code == 1049:
            return (
                f"{where}: the database {name} does not exist; create it with "
                f"`CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;`"
                ", then try again"
            )
        if code in (1044, 1045):
            return f"{where}: the server refuses this user or password ({text[:120]})"
    if parsed.get_backend_name() == "sqlite":
        return f"{where}: cannot open the SQLite file ({text[:120]}); check the path and its folder"
    return (
        f"{where}: cannot reach the database ({text[:160]}); is the server running, "
        "and are the host and port right?"
    )
