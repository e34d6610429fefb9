"""OAuth 2.0 client credentials, issuing Sanctum-format tokens (see docs/oauth.md)."""

from __future__ import annotations

from flask import Flask

from eventio.oauth.commands import oauth_cli
from eventio.oauth.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(oauth_cli)
