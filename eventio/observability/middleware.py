"""The WSGI wrapper that times each request once, from start to last byte, and reports it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import request
from werkzeug.wsgi import get_path_info

from eventio.http.state import ENVIRON_KEY, RequestState, state
from eventio.observability.logs import log_access
from eventio.observability.metrics import observe_request
from eventio.observability.redact import redact_path
from eventio.observability.request_id import REQUEST_ID_HEADER, request_id_from

CACHE_STATUSES = ("hit", "miss")


@dataclass
class Observation:
    """What one request did; the app fills in endpoint, token and cache at teardown."""

    request_id: str
    method: str
    path: str
    started: float
    status: int = 500
    endpoint: str = "unmatched"
    token_id: int | None = None
    cache: str | None = None
    finished: bool = False


def capture_request(error: BaseException | None) -> None:
    """Teardown: copy what only the app knows (the request's state, the url rule) into the
    observation."""
    found = state()
    observation: Observation | None = found.observation
    if observation is None:
        return
    if request.url_rule is not None:
        observation.endpoint = request.url_rule.rule
    token_id = getattr(found.caller, "token_id", None)
    observation.token_id = token_id if isinstance(token_id, int) else None
    cache = found.cache_status
    observation.cache = cache if cache in CACHE_STATUSES else None


class ObservedBody:
    """The response body, calling `finish` once: when exhausted or closed."""

    def __init__(self, body: Iterable[bytes], finish: Callable[[], None]) -> None:
        self._body = body
        self._chunks = iter(body)
        self._finish = finish

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self._finish()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()


class ObservedApp:
    """Wraps `app.wsgi_app`: request id in and out, one access line and the metrics per request."""

    def __init__(self, wsgi_app: WSGIApplication, record_metrics: bool) -> None:
        self.wsgi_app = wsgi_app
        self.record_metrics = record_metrics

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        observation = Observation(
            request_id=request_id_from(environ.get("HTTP_X_REQUEST_ID")),
            method=environ.get("REQUEST_METHOD", "GET"),
            path=get_path_info(environ),
            started=time.perf_counter(),
        )
        # The request's state starts here, before Flask sees the request.
        environ[ENVIRON_KEY] = RequestState(
            request_id=observation.request_id, observation=observation
        )

        def observed_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            observation.status = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()]
            headers.append((REQUEST_ID_HEADER, observation.request_id))
            return start_response(status, headers, exc_info)

        def finish() -> None:
            self.finish(observation, environ)

        try:
            body = self.wsgi_app(environ, observed_start_response)
        except BaseException:
            observation.status = 500
            finish()
            raise
        return ObservedBody(body, finish)

    def finish(self, observation: Observation, environ: WSGIEnvironment) -> None:
        if observation.finished:
            return
        observation.finished = True
        seconds = time.perf_counter() - observation.started
        log_access(
            {
                "request_id": observation.request_id,
                "method": observation.method,
                # Never the query string; a token pasted into the path loses its secret.
                "path": redact_path(observation.path),
                "endpoint": observation.endpoint,
                "status": observation.status,
                "duration_ms": round(seconds * 1000, 3),
                "token_id": observation.token_id,
                "cache": observation.cache,
                # Read last: a ProxyFix anywhere in the stack has rewritten it by now.
                "remote_addr": environ.get("REMOTE_ADDR"),
            }
        )
        if self.record_metrics:
            observe_request(observation.endpoint, observation.status, seconds, observation.cache)
