"""Which schema the suite runs on (TEST_SCHEMA), and the tests that cannot apply there."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class SchemaMode:
    laravel: bool
    sanctum: int

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
    return SchemaMode(laravel=True, sanctum=2 if value.endswith("sanctum2") else 3)


SCHEMA_MODE = read_mode(os.environ.get("TEST_SCHEMA", ""), os.environ.get("TEST_DATABASE_URL", ""))

# Tests that cannot apply to a database Laravel made, by node id prefix, each with why.
# Kept short: everything else runs there unchanged.
LARAVEL_SKIPS: dict[str, str] = {}


def skip_reason(nodeid: str) -> str | None:
    if not SCHEMA_MODE.laravel:
        return None
    for prefix, reason in LARAVEL_SKIPS.items():
        if nodeid.startswith(prefix):
            return f"on a Laravel-made schema: {reason}"
    return None
