"""Incremental pulls: every list accepts `filter[updated_since]` and `sort=updated_at`."""

from __future__ import annotations

from eventio.querybuilder import AllowedFilter

# Inclusive, so a pipeline that stores the largest `updated_at` it saw loses no row.
UPDATED_SINCE = AllowedFilter.since("updated_since", "updated_at")
