"""Admin commands, under `flask --app eventio …`."""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    """Attach every admin command group to the app's CLI."""
