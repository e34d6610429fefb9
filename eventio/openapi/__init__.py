"""The OpenAPI document of `/api/v2`, collected from the views' declarations, and its docs page."""

from eventio.openapi.views import init_app

__all__ = ["init_app"]
