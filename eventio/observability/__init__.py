"""Observability: a JSON access line per request, JSON logs, Prometheus metrics at `/metrics`.

eventio/http/pipeline.py installs them in the app's pipeline."""

from __future__ import annotations

from eventio.observability.metrics import child_exit

__all__ = ["child_exit"]
