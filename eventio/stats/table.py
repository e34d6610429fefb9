"""The stats report as a CSV table: a header, one row per ticket type, a `Total` row.

Every column of the `Total` row is the sum of the column above it, so a spreadsheet's
own SUM agrees with it. The report's two totals are two of its cells:
`total_confirmed` under `total_confirmed_tickets_sold`, and `total_provisional`
(confirmed plus provisional, see report.py) under `confirmed_plus_provisional`, the one
column the JSON report has no per-ticket field for. The `Total` row is told apart by its
empty `id`.
"""

from __future__ import annotations

from typing import Any

HEADER = [
    "id",
    "participant_type",
    "title",
    "total_confirmed_tickets_sold",
    "total_provisional_tickets_sold",
    "confirmed_plus_provisional",
    "generated_at",
]
TEXT_COLUMNS = frozenset({"participant_type", "title"})
TOTAL_LABEL = "Total"


def rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The ticket rows of `report` (as `compute` returns it), then its `Total` row."""
    generated_at = report["generated_at"]
    tickets = [
        {
            **line,
            "confirmed_plus_provisional": line["total_confirmed_tickets_sold"]
            + line["total_provisional_tickets_sold"],
            "generated_at": generated_at,
        }
        for line in report["stats"]
    ]
    total = {
        "id": None,
        "participant_type": None,
        "title": TOTAL_LABEL,
        "total_confirmed_tickets_sold": report["total_confirmed"],
        "total_provisional_tickets_sold": sum(
            line["total_provisional_tickets_sold"] for line in report["stats"]
        ),
        "confirmed_plus_provisional": report["total_provisional"],
        "generated_at": generated_at,
    }
    return [*tickets, total]


def report_csv(report: dict[str, Any], neutralise: bool) -> bytes:
    """The table as the list exports write CSV (`\\r\\n`, empty cell for null, text cells
    that start like a formula neutralised when `neutralise`), without a BOM."""
    from eventio.api.export import to_csv  # the exports' writer; it imports the API

    text = TEXT_COLUMNS if neutralise else frozenset()
    return "".join(to_csv(iter([rows(report)]), HEADER, text)).encode()
