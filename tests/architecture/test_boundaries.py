"""The shape docs/architecture.md promises, held by the sources themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from eventio import create_app
from eventio.settings import Settings, settings

EVENTIO = Path(__file__).resolve().parents[2] / "eventio"


def sources(under: Path = EVENTIO) -> list[Path]:
    return sorted(under.rglob("*.py"))


def offenders(pattern: str, under: Path = EVENTIO, allowed: tuple[str, ...] = ()) -> list[str]:
    found = re.compile(pattern)
    return [
        f"{path.relative_to(EVENTIO.parent)}:{number}"
        for path in sources(under)
        if path.name not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if found.search(line)
    ]


def test_only_the_settings_read_the_environment() -> None:
    assert offenders(r"os\.environ|getenv\(", allowed=("settings.py",)) == []


def test_nothing_keeps_request_state_in_flask_g() -> None:
    assert offenders(r"from flask import .*\bg\b|\bg\.(get\(|[a-z_]+ =)") == []


def test_the_query_builder_imports_no_flask() -> None:
    assert offenders(r"^\s*(from|import) flask\b", EVENTIO / "querybuilder") == []


def test_no_private_sqlalchemy_api_and_no_private_flask_hook_lists() -> None:
    private = r"_generate_cache_key|before_request_funcs|after_request_funcs"
    assert offenders(private) == []
    # The builder attaches nothing to every Engine of the process.
    assert offenders(r"listens_for\(Engine\b|event\.listen\(Engine\b") == []


def test_nothing_but_the_factory_and_the_settings_sits_at_the_top() -> None:
    loose = sorted(path.name for path in EVENTIO.glob("*.py"))
    assert loose == ["__init__.py", "app.py", "settings.py"]


def test_settings_are_typed_once_from_the_environment_and_the_overrides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOKEN_EXPIRATION_MINUTES", "90")
    monkeypatch.setenv("COUNT_CACHE_TTL", "7")
    app: Flask = create_app(
        {
            "DATABASE_URL": "sqlite://",
            "STATS_CACHE_TTL": "0",
            "CSV_NEUTRALISE_FORMULAS": "false",
            "RATE_LIMIT_ENABLED": "off",
        }
    )
    typed = settings(app)
    assert isinstance(typed, Settings)
    assert typed.token_expiration_minutes == 90
    assert typed.count_cache_ttl == 7
    assert typed.stats_cache_ttl == 0
    assert typed.csv_neutralise_formulas is False
    assert typed.rate_limit_enabled is False
    # Flask's extensions read the same values from app.config.
    assert app.config["COUNT_CACHE_TTL"] == 7
