"""EventIO reporting API: a read-only HTTP API over an event and booking database."""

from eventio.app import create_app

__all__ = ["create_app"]
