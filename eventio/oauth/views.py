"""`POST /oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 section 4.4)."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from urllib.parse import unquote

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from eventio.auth.guard import utcnow
from eventio.db.state import schema
from eventio.http.responses import json_response
from eventio.oauth import store
from eventio.oauth.clients import find_client, issue_access_token, verify
from eventio.oauth.store import OAuthUnavailable

bp = Blueprint("oauth", __name__)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An error answered in RFC 6749's body: `{"error", "error_description"}`."""

    def __init__(self, status: int, error: str, description: str, basic: bool = False) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.basic = status, error, description, basic


@bp.errorhandler(OAuthError)
def oauth_error(error: OAuthError) -> Response:
    response = json_response(
        {"error": error.error, "error_description": error.description}, error.status
    )
    response.headers.update(NO_STORE)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="eventio"'
    return response


@bp.errorhandler(OAuthUnavailable)
def oauth_unavailable(error: OAuthUnavailable) -> Response:
    """Not set up here: the contract's body saying what to set up, and RFC 6749's fields."""
    body = {
        "message": error.message,
        "errors": {},
        "error": "temporarily_unavailable",
        "error_description": error.message,
    }
    response = json_response(body, 503)
    response.headers.update(NO_STORE)
    response.headers["Retry-After"] = str(current_app.config["RETRY_AFTER_SECONDS"])
    return response


def basic_credentials() -> tuple[str, str] | None:
    """Client id and secret from HTTP Basic, each form-urlencoded as RFC 6749 2.3.1 says."""
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(401, "invalid_client", "Malformed HTTP Basic credentials.") from None
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise OAuthError(401, "invalid_client", "Malformed HTTP Basic credentials.")
    return unquote(client_id), unquote(secret)


def request_parameters() -> dict[str, str]:
    """The body's parameters (form or JSON); a parameter given twice is a bad request."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise OAuthError(400, "invalid_request", "The JSON body must be an object.")
        return {k: str(v) for k, v in body.items() if v is not None}
    parameters = {}
    for key, values in request.form.lists():
        if len(values) > 1:
            raise OAuthError(400, "invalid_request", f"The parameter `{key}` is repeated.")
        parameters[key] = values[0]
    return parameters


@bp.post("/oauth/token")
def token() -> Response:
    """Exchange a client's id and secret for a bearer token (client credentials grant)."""
    if {"client_secret", "client_id", "grant_type"} & set(request.args):
        raise OAuthError(
            400, "invalid_request", "Credentials go in the request body, never the query string."
        )
    parameters = request_parameters()
    grant_type = parameters.get("grant_type")
    if not grant_type:
        raise OAuthError(400, "invalid_request", "The `grant_type` parameter is required.")
    if grant_type != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "Only `client_credentials` is supported.")
    basic = basic_credentials()
    if basic and ("client_id" in parameters or "client_secret" in parameters):
        raise OAuthError(
            400, "invalid_request", "Use one way to send client credentials, not both."
        )
    client_id, secret = basic or (parameters.get("client_id"), parameters.get("client_secret"))
    if not client_id or not secret:
        raise OAuthError(400, "invalid_request", "`client_id` and `client_secret` are required.")
    now = utcnow()
    problem = store.problem(schema().get(), current_app.config)
    if problem is not None and problem != store.NOT_SET_UP:
        raise OAuthUnavailable(problem)  # a missing table is found by asking for it, below
    lifetime = timedelta(seconds=current_app.config["OAUTH_TOKEN_TTL"])
    try:
        with store.sessions() as (clients, tokens):
            client = find_client(clients, client_id)
            if client is None or not verify(client, secret, now):
                raise OAuthError(
                    401, "invalid_client", "Client authentication failed.", bool(basic)
                )
            access_token = issue_access_token(
                tokens, client, lifetime, now, current_app.config["TOKEN_PREFIX"]
            )
    except SQLAlchemyError as error:
        refused = store.unavailable(error)
        if refused is None:
            raise
        raise refused from None
    response = json_response(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": int(lifetime.total_seconds()),
        }
    )
    response.headers.update(NO_STORE)
    return response
