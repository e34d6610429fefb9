"""The API in this process: SQL statements per request and where its time goes."""

from __future__ import annotations

import os
import time
from contextlib import redirect_stderr
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from settings import DEEP_ROWS, Settings


@dataclass
class InProcess:
    """One request served in-process by the Flask test client, with its SQL."""

    statements: int
    total_ms: float
    sql_ms: float
    sql: list[tuple[str, Any, float]] = field(default_factory=list)


class InProcessApi:
    """The API app in this process, with a statement recorder on its engine."""

    def __init__(self, settings: Settings, token: str) -> None:
        os.environ.update(settings.server_env())
        from sqlalchemy import event

        from eventio import create_app
        from eventio.db.extensions import db

        self.app = create_app()
        self.client = self.app.test_client()
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.recorded: list[tuple[str, Any, float]] = []
        with self.app.app_context():
            engine = db.engine

        def before(
            conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any
        ) -> None:
            conn.info["bench_started"] = time.perf_counter()

        def after(
            conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any
        ) -> None:
            elapsed = time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())
            self.recorded.append((statement, params, elapsed * 1000))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)

    def get(self, path: str) -> Any:
        # The access log is written (its cost counts) but not shown.
        with open(os.devnull, "w") as devnull, redirect_stderr(devnull):
            response = self.client.get(path, headers=self.headers)
        if response.status_code != 200:
            raise SystemExit(
                f"In-process {path}: {response.status_code} {response.get_data()[:300]!r}"
            )
        return response

    def measure(self, path: str, runs: int = 5) -> InProcess:
        """The median of `runs` after one warm-up (which also writes `last_used_at`)."""
        self.get(path)
        samples = []
        for _ in range(runs):
            self.recorded = []
            started = time.perf_counter()
            self.get(path)
            total = (time.perf_counter() - started) * 1000
            samples.append((total, sum(s[2] for s in self.recorded), list(self.recorded)))
        samples.sort(key=lambda s: s[0])
        total, sql_ms, recorded = samples[len(samples) // 2]
        return InProcess(len(recorded), total, sql_ms, recorded)

    def deep_cursor(self, event: int) -> str:
        """The API's own cursor after DEEP_ROWS rows, walked in pages of 1000."""
        query = {"filter[status]": "confirmed", "sort": "-created_at", "per_page": "1000"}
        cursor = ""
        for _ in range(DEEP_ROWS // 1000):
            path = f"/api/v2/event/{event}/bookings?{urlencode({**query, 'cursor': cursor})}"
            body = self.get(path).get_json()
            cursor = body["meta"]["next_cursor"]
        return cursor
