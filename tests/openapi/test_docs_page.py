"""The docs page: served without a token or outside network, and rendered by Swagger UI."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.openapi.conftest import OPENAPI_URL
from tests.support.live_server import live_server

DOCS_URL = "/api/v2/docs"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_COPY = Path(__file__).resolve().parents[2] / "docs" / "img" / "docs-page.png"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,2000",
    "--virtual-time-budget=8000",
]


def test_the_document_and_the_page_need_no_token(client: FlaskClient) -> None:
    assert client.get(OPENAPI_URL).status_code == 200
    page = client.get(DOCS_URL)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert 'data-spec-url="/api/v2/openapi.json"' in page.get_data(as_text=True)


def test_the_page_loads_nothing_from_outside(client: FlaskClient) -> None:
    page = client.get(DOCS_URL)
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and "//" not in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith(DOCS_URL + "/"), url
        assert client.get(url).status_code == 200, url
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "connect-src 'self'" in policy


def test_swagger_ui_assets_come_from_the_installed_package(client: FlaskClient) -> None:
    response = client.get(f"{DOCS_URL}/assets/swagger-ui-bundle.js")
    assert response.status_code == 200
    assert "javascript" in (response.mimetype or "")
    assert b"SwaggerUIBundle" in response.get_data()


@pytest.mark.parametrize(
    "path", ["nope.js", "../views.py", "%2e%2e/%2e%2e/app.py", "..%2f..%2fapp.py"]
)
def test_an_unknown_asset_is_a_404_in_the_contract_body(client: FlaskClient, path: str) -> None:
    response = client.get(f"{DOCS_URL}/assets/{path}")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"message"} and body["message"]


def chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_the_page_renders_every_path_in_headless_chromium(
    app: Flask, document: dict[str, Any], tmp_path: Path
) -> None:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    screenshot = tmp_path / "docs-page.png"
    with live_server(app) as base_url:
        url = base_url + DOCS_URL
        dumped = chromium("--dump-dom", url, profile=tmp_path / "profile-dom")
        shot = chromium(f"--screenshot={screenshot}", url, profile=tmp_path / "profile-shot")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert shot.returncode == 0, shot.stderr[-2000:]
    dom = dumped.stdout
    for path in document["paths"]:
        assert f'data-path="{path}"' in dom, path
    assert 'data-path="/api/v2/event/{eventId}/bookings"' in dom
    assert "Failed to load API definition" not in dom
    assert "Unable to render this definition" not in dom
    assert png_size(screenshot) == (1280, 2000)
    assert screenshot.stat().st_size > 50_000, "the screenshot looks blank"
    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, SCREENSHOT_COPY)
