"""Observability: a JSON access line per request, JSON logs, Prometheus metrics at `/metrics`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from eventio.observability.dev_server import quiet_request_lines
from eventio.observability.logs import configure_logging
from eventio.observability.metrics import child_exit, init_metrics
from eventio.observability.middleware import ObservedApp, capture_request

__all__ = ["child_exit", "init_app"]

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


def flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in TRUE + FALSE:
        raise ValueError(f"expected a boolean (true/false), not {value!r}")
    return text in TRUE


def metrics_enabled(config: Mapping[str, Any]) -> bool:
    """Off unless asked for: by METRICS_ENABLED, or by setting METRICS_TOKEN."""
    if config["METRICS_ENABLED"] is None:
        return bool(config["METRICS_TOKEN"])
    return flag(config["METRICS_ENABLED"])


def init_app(app: Flask) -> None:
    """Configure logging, observe every request, and serve `/metrics` when enabled."""
    app.config.setdefault("LOG_FORMAT", os.environ.get("LOG_FORMAT") or "json")
    app.config.setdefault("LOG_LEVEL", os.environ.get("LOG_LEVEL") or "INFO")
    app.config.setdefault("METRICS_TOKEN", os.environ.get("METRICS_TOKEN") or None)
    app.config.setdefault("METRICS_ENABLED", os.environ.get("METRICS_ENABLED") or None)
    configure_logging(app.config["LOG_FORMAT"].lower(), app.config["LOG_LEVEL"])
    # Under `flask run`, the access line is the request's only line.
    quiet_request_lines()
    enabled = metrics_enabled(app.config)
    app.teardown_request(capture_request)
    app.wsgi_app = ObservedApp(app.wsgi_app, record_metrics=enabled)  # type: ignore[method-assign]
    if enabled:
        init_metrics(app)
