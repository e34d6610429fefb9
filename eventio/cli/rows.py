"""Fetching the rows a command names, failing with a click error when one is absent."""

from __future__ import annotations

from typing import TypeVar

import click

from eventio.db.extensions import db

Model = TypeVar("Model")


def fetch(model: type[Model], row_id: int, label: str) -> Model:
    """The row with this id, or a click error naming what is missing."""
    row = db.session.get(model, row_id)
    if row is None:
        raise click.ClickException(f"No {label} with id {row_id}.")
    return row
