"""Links come from PUBLIC_BASE_URL, and `X-Forwarded-*` counts only from TRUSTED_PROXIES."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from eventio import create_app
from eventio.db.extensions import db
from tests.api.conftest import API
from tests.factories import TicketFactory

MakeApp = Callable[..., Flask]
STEERING = {
    "Host": "evil.example",
    "X-Forwarded-Host": "phish.example",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-Prefix": "/elsewhere",
    "X-Forwarded-Port": "8443",
}


@pytest.fixture
def make_app(app: Flask) -> Iterator[MakeApp]:
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        made.append(create_app({**app.config, **config}))
        return made[-1]

    yield make
    for each in made:
        with each.app_context():
            db.engine.dispose()


@pytest.fixture
def tickets(manager: dict[str, Any]) -> str:
    """Three pages of tickets (per_page=2): every kind of page link is present on page 2."""
    for _ in range(6):
        TicketFactory(event_id=manager["event"].id)
    return f"{API}/event/{manager['event'].id}/tickets"


def every_url(body: dict[str, Any]) -> list[str]:
    urls = [u for u in body["links"].values() if u]
    urls.append(body["meta"]["path"])
    urls += [link["url"] for link in body["meta"].get("links", []) if link["url"]]
    return urls


def listed(
    app: Flask, path: str, manager: dict[str, Any], peer: str = "127.0.0.1", **query: str
) -> TestResponse:
    return app.test_client().get(
        path,
        query_string={"per_page": "2", **query},
        headers={**manager["headers"], **STEERING},
        environ_base={"REMOTE_ADDR": peer},
    )


@pytest.mark.parametrize("hops", [0, 1])
def test_every_link_is_built_on_the_public_base_url_whatever_the_headers(
    make_app: MakeApp, tickets: str, manager: dict[str, Any], hops: int
) -> None:
    app = make_app(PUBLIC_BASE_URL="https://api.example.com/", PROXY_FIX_HOPS=hops)
    body = listed(app, tickets, manager, page="2").get_json()
    urls = every_url(body)
    assert len(urls) == 4 + 1 + 5  # first, last, prev, next; path; prev, pages 1-3, next
    expected = f"https://api.example.com{tickets}"
    assert body["meta"]["path"] == expected
    assert all(url.startswith(expected + "?") or url == expected for url in urls), urls
    cursor = listed(app, tickets, manager, cursor="").get_json()
    assert cursor["meta"]["path"] == expected
    assert cursor["links"]["next"].startswith(expected + "?")


def test_a_public_base_url_may_carry_a_path_prefix(
    make_app: MakeApp, tickets: str, manager: dict[str, Any]
) -> None:
    app = make_app(PUBLIC_BASE_URL="https://example.com/reporting")
    body = listed(app, tickets, manager).get_json()
    assert body["meta"]["path"] == f"https://example.com/reporting{tickets}"
    assert body["links"]["next"] == f"https://example.com/reporting{tickets}?per_page=2&page=2"


@pytest.mark.parametrize(
    "value",
    [
        "api.example.com",
        "ftp://api.example.com",
        "https://",
        "https://a.example/?x=1",
        "https://a.example/#top",
        "https://user:pw@a.example",
    ],
)
def test_a_malformed_public_base_url_fails_at_start(make_app: MakeApp, value: str) -> None:
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL"):
        make_app(PUBLIC_BASE_URL=value)


def forwarded(app: Flask, path: str, manager: dict[str, Any], peer: str, client: str) -> Any:
    headers = {
        **manager["headers"],
        "X-Forwarded-For": client,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "api.eventio.uk",
    }
    return app.test_client().get(path, headers=headers, environ_base={"REMOTE_ADDR": peer})


@pytest.mark.parametrize("peer", ["10.1.2.3", "::ffff:10.1.2.3", "fd00::7"])
def test_a_trusted_proxys_forwarded_headers_are_honoured(
    make_app: MakeApp, tickets: str, manager: dict[str, Any], peer: str
) -> None:
    app = make_app(PROXY_FIX_HOPS=1, TRUSTED_PROXIES="10.0.0.0/8, fd00::/8")
    body = forwarded(app, tickets, manager, peer, "203.0.113.9").get_json()
    assert body["meta"]["path"] == f"https://api.eventio.uk{tickets}"


@pytest.mark.parametrize("peer", ["192.0.2.50", "11.0.0.1", "fe80::1"])
def test_another_peers_forwarded_headers_are_ignored(
    make_app: MakeApp, tickets: str, manager: dict[str, Any], peer: str
) -> None:
    app = make_app(PROXY_FIX_HOPS=1, TRUSTED_PROXIES="10.0.0.0/8, fd00::/8")
    body = forwarded(app, tickets, manager, peer, "203.0.113.9").get_json()
    assert body["meta"]["path"] == f"http://localhost{tickets}"


def test_without_trusted_proxies_only_a_proxy_on_this_host_is_trusted(
    make_app: MakeApp, tickets: str, manager: dict[str, Any]
) -> None:
    app = make_app(PROXY_FIX_HOPS=1)
    local = forwarded(app, tickets, manager, "127.0.0.1", "203.0.113.9").get_json()
    assert local["meta"]["path"] == f"https://api.eventio.uk{tickets}"
    remote = forwarded(app, tickets, manager, "198.51.100.4", "203.0.113.9").get_json()
    assert remote["meta"]["path"] == f"http://localhost{tickets}"


def unauthenticated(app: Flask, peer: str, client: str) -> TestResponse:
    return app.test_client().get(
        f"{API}/user", headers={"X-Forwarded-For": client}, environ_base={"REMOTE_ADDR": peer}
    )


def test_the_client_address_of_rate_limits_comes_from_trusted_proxies_only(
    make_app: MakeApp,
) -> None:
    """An untrusted peer cannot pick a fresh address (a fresh budget) per request."""
    app = make_app(PROXY_FIX_HOPS=1, TRUSTED_PROXIES="10.0.0.5", RATE_LIMIT="2 per minute")
    statuses = [unauthenticated(app, "192.0.2.50", f"203.0.113.{n}").status_code for n in (1, 2, 3)]
    assert statuses == [401, 401, 429]
    # Through the trusted proxy each client has a budget of its own.
    statuses = [unauthenticated(app, "10.0.0.5", "198.51.100.1").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert unauthenticated(app, "10.0.0.5", "198.51.100.2").status_code == 401


@pytest.mark.parametrize("value", ["10.0.0.300", "proxy.internal", "10.0.0.0/33"])
def test_a_malformed_trusted_proxies_fails_at_start(make_app: MakeApp, value: str) -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        make_app(PROXY_FIX_HOPS=1, TRUSTED_PROXIES=value)
