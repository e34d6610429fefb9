"""Which schema the suite runs on (TEST_SCHEMA), and the tests that cannot apply there."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class SchemaMode:
    laravel: bool
    sanctum: int
    mariadb: bool = False

    def describe(self) -> str:
        if not self.laravel:
            return "the API's own migrations"
        return f"made by Laravel (Sanctum {self.sanctum} token table), no DDL from the API"


def read_mode(value: str, database_url: str) -> SchemaMode:
    """`TEST_SCHEMA`: empty or `migrations`, `laravel`, or `laravel-sanctum2`."""
    if value in ("", "migrations"):
        return SchemaMode(laravel=False, sanctum=3)
    if value not in ("laravel", "laravel-sanctum2"):
        raise pytest.UsageError(
            f"TEST_SCHEMA={value!r}: use 'migrations', 'laravel' or 'laravel-sanctum2'"
        )
    if not database_url.startswith(("postgresql", "postgres", "mysql", "mariadb")):
        raise pytest.UsageError(
            f"TEST_SCHEMA={value} needs TEST_DATABASE_URL on PostgreSQL or MariaDB/MySQL: "
            "Laravel's schema exists only for those (shared/design/laravel-schema/)"
        )
    return SchemaMode(
        laravel=True,
        sanctum=2 if value.endswith("sanctum2") else 3,
        mariadb=database_url.startswith(("mysql", "mariadb")),
    )


SCHEMA_MODE = read_mode(os.environ.get("TEST_SCHEMA", ""), os.environ.get("TEST_DATABASE_URL", ""))

# Tests that cannot apply to a database Laravel made, by node id prefix, each with why.
# Kept short: everything else runs there unchanged.
LARAVEL_SKIPS: dict[str, str] = {
    "tests/api/test_query_fuzz.py": (
        "the fuzzer's world holds NULL dates, prices and types, which Laravel's columns "
        "refuse (NOT NULL); its grammar runs on the API's own schema on every server"
    ),
    "tests/cli/test_demo.py": (
        "`demo` loads an empty database of the API's own; on PostgreSQL it drops and "
        "rebuilds indexes and foreign keys around COPY (DDL)"
    ),
    "tests/cli/test_demo_token.py": "it loads the demo world first (see tests/cli/test_demo.py)",
    "tests/production/test_migrations.py": "about the API's own migrations",
    "tests/production/test_health.py": (
        "it asserts the readiness body of a database the API migrated (`migrations`: ok, "
        "behind, unknown); tests/laravel and tests/existing_database check it on Laravel's"
    ),
    # These break or lock the one database that holds both tokens and OAuth clients; on
    # a Laravel-made one the clients live on OAUTH_DATABASE_URL, which stays up.
    **dict.fromkeys(
        (
            "tests/security/test_secrets.py::test_a_database_error_while_authenticating_",
            "tests/security/test_secrets.py::test_postgresql_cut_mid_request_while_authenticating",
            "tests/security/test_secrets.py::test_a_statement_timeout_while_authenticating",
        ),
        "it breaks or locks a database holding both tokens and OAuth clients",
    ),
    # PostgreSQL's timestamp(0) rounds: an UPDATE setting expires_at to now, microseconds
    # and all, may store the next second, and the token lives up to half a second more.
    # Laravel itself writes whole seconds; `expired-a-second-ago` covers expiry here.
    "tests/security/test_authentication_attacks.py::"
    "test_a_dead_token_gets_the_same_401_as_no_token[expires-now-": (
        "timestamp(0) rounds a sub-second expiry up to the next second"
    ),
}


# And on Sanctum 2's token table, which has no `expires_at` (a test that sets one skips
# by itself: tests/factories.py).
SANCTUM_2_SKIPS: dict[str, str] = {
    "tests/auth/": (
        "its helpers add token rows through the model, whose INSERT names expires_at; "
        "tests/api and tests/laravel authenticate through Sanctum 2's table"
    ),
    "tests/api/test_reference_examples.py": (
        "its plain SQL writes tokens with expires_at; tests/laravel writes the same world "
        "into Sanctum 2's table"
    ),
}


# And on MariaDB, whose `timestamp` (Laravel's type for expires_at) ends in January 2038.
MARIADB_SKIPS: dict[str, str] = dict.fromkeys(
    (
        "tests/cli/test_tokens.py::test_issue_expiring_at_a_time_stores_it_in_utc",
        "tests/cli/test_tokens.py::test_list_shows_tokens_but_never_their_secret_nor_hash",
        "tests/security/test_secrets.py::test_the_cli_shows_a_new_secret_once_and_never_lists",
    ),
    "it issues a token expiring in 2099, past the 2038 end of MariaDB's timestamp",
)


def skip_reason(nodeid: str) -> str | None:
    if not SCHEMA_MODE.laravel:
        return None
    skips = {
        **LARAVEL_SKIPS,
        **(SANCTUM_2_SKIPS if SCHEMA_MODE.sanctum == 2 else {}),
        **(MARIADB_SKIPS if SCHEMA_MODE.mariadb else {}),
    }
    for prefix, reason in skips.items():
        if nodeid.startswith(prefix):
            return f"on a Laravel-made schema (Sanctum {SCHEMA_MODE.sanctum}): {reason}"
    return None
