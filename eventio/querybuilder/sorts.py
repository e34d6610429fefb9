"""Sorts a client may ask for, by public name, each reading one column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AllowedSort:
    name: str
    internal_name: str

    @classmethod
    def field(cls, name: str, internal_name: str | None = None) -> AllowedSort:
        return cls(name, internal_name or name)


@dataclass(frozen=True)
class RequestedSort:
    sort: AllowedSort
    descending: bool


def split_direction(requested: str) -> tuple[str, bool]:
    """`-created_at` is `created_at`, descending."""
    if requested.startswith("-"):
        return requested[1:], True
    return requested, False
