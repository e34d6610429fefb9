"""`X-Forwarded-*` honoured from the proxies in TRUSTED_PROXIES only, for PROXY_FIX_HOPS hops."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

from eventio.settings import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The logger keeps its name from before the package moves: log filters match on it.
log = logging.getLogger("eventio.proxies")

# A proxy on the same host (nginx in front of gunicorn), as gunicorn's FORWARDED_ALLOW_IPS.
DEFAULT_TRUSTED_PROXIES = "127.0.0.1, ::1"
FORWARDED_HEADERS = tuple(
    f"HTTP_X_FORWARDED_{name}" for name in ("FOR", "PROTO", "HOST", "PORT", "PREFIX")
)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str | Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDRs, separated by commas or spaces (or a list); a typo fails at start."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items)
    except ValueError as error:
        raise ValueError(f"TRUSTED_PROXIES: {error}") from None


class TrustedProxies:
    """ProxyFix for a request whose peer is a trusted proxy; any other peer's
    `X-Forwarded-*` headers are removed, so nothing downstream can read them."""

    def __init__(self, app: WSGIApplication, networks: tuple[Network, ...], hops: int) -> None:
        self.app = app
        self.fixed = ProxyFix(
            app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
        # Peers repeat (the balancer's few addresses): each is judged once.
        self.trusted = lru_cache(maxsize=1024)(lambda peer: is_within(peer, networks))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        if self.trusted(environ.get("REMOTE_ADDR") or ""):
            return self.fixed(environ, start_response)
        for header in FORWARDED_HEADERS:
            environ.pop(header, None)
        return self.app(environ, start_response)


def is_within(peer: str, networks: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])  # no IPv6 zone
    except ValueError:
        return False  # a Unix socket's peer has no address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def middleware(settings: Settings) -> list[Callable[[WSGIApplication], WSGIApplication]]:
    """The wrapper when PROXY_FIX_HOPS says proxies stand in front; else none, and the
    headers are inert."""
    configured = settings.trusted_proxies
    networks = parse_networks(configured or DEFAULT_TRUSTED_PROXIES)
    hops = settings.proxy_fix_hops
    if not hops:
        if configured:
            log.warning("TRUSTED_PROXIES is set but PROXY_FIX_HOPS is 0: X-Forwarded-* ignored")
        return []
    return [lambda app: TrustedProxies(app, networks, hops)]
