"""The docs page: served without a token or outside network, and rendered by Swagger UI."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ALL_AREAS
from tests.factories import BookingFactory, EventFactory, UserFactory, grant, issue_token
from tests.openapi.conftest import OPENAPI_URL
from tests.support.cdp import HEADLESS_FLAGS, chromium_page
from tests.support.live_server import live_server

DOCS_URL = "/api/v2/docs"
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT_COPY = Path(__file__).resolve().parents[2] / "docs" / "img" / "docs-page.png"
CHROMIUM_FLAGS = [*HEADLESS_FLAGS, "--window-size=1280,2000", "--virtual-time-budget=8000"]


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


def require_chromium() -> None:
    """Skip where Chromium is missing, except in CI (`CI` set), where that fails the test."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def test_the_page_renders_every_path_in_headless_chromium(
    app: Flask, document: dict[str, Any], tmp_path: Path
) -> None:
    require_chromium()
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


OPERATION = "#operations-Bookings-list_bookings"
# Text nodes that show a Markdown code mark as a literal backtick.
RAW_BACKTICKS = """[...(function* () {
  const walker = document.createTreeWalker(document.querySelector("#swagger-ui"), 4);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent.includes("`")) yield node.textContent.trim().slice(0, 120);
  }
})()]"""


def row(name: str) -> str:
    return f"{OPERATION} tr[data-param-name='{name}']"


def test_a_newcomer_authorizes_and_runs_a_filtered_list_in_the_page(
    app: Flask, document: dict[str, Any], tmp_path: Path
) -> None:
    """Authorize, Try it out, pick `confirmed`, Execute: the request and the rows it got."""
    require_chromium()
    user = UserFactory()
    event = EventFactory()
    grant(user.id, event.id, dict.fromkeys(ALL_AREAS, "admin"))
    BookingFactory(event_id=event.id, booking_reference="EVT-CONF01", status="confirmed")
    BookingFactory(event_id=event.id, booking_reference="EVT-PROV01", status="provisional")
    token = issue_token(user.id)
    bookings = document["paths"]["/api/v2/event/{eventId}/bookings"]["get"]
    status = next(p for p in bookings["parameters"] if p["name"] == "filter[status]")
    with live_server(app) as base_url, chromium_page(CHROMIUM, tmp_path / "profile") as page:
        page.navigate(base_url + DOCS_URL)
        page.wait_for_selector(OPERATION)
        assert page.evaluate(RAW_BACKTICKS) == []  # summaries, tags, the intro

        page.click(".auth-wrapper .btn.authorize")
        assert "the token alone" in page.text(".modal-ux .auth-container")
        page.type("#auth-bearer-value", token)
        page.click(".modal-ux button[aria-label='Apply credentials']")
        page.wait_for(
            "[...document.querySelectorAll('.modal-ux button')]"
            ".some(b => b.innerText.trim() === 'Logout')"
        )
        page.click(".modal-ux .close-modal")
        page.wait_for("!document.querySelector('.modal-ux')")

        page.click(f"{OPERATION} .opblock-summary-control")
        documented = f"{OPERATION} .responses-table tr.response[data-code='200'] .highlight-code"
        example = page.text(documented)
        assert '"EVT-ABC123"' in example and '"string"' not in example
        page.click(f"{OPERATION} .try-out__btn")
        page.type(f"{row('eventId')} input", str(event.id))
        assert page.exists(f"{row('filter[reference]')} input")  # a text box, empty
        assert not page.exists(f"{OPERATION} button.json-schema-form-item-add")  # no `string`
        if status["schema"].get("type") == "array":  # a closed set: a choice
            assert "confirmed" in status["schema"]["items"]["enum"]
            page.choose(f"{row('filter[status]')} select", ["confirmed"])
        else:  # until the filter declares its choices: the text box
            page.type(f"{row('filter[status]')} input", "confirmed")
        page.choose(f"{row('sort')} select", ["id", "-created_at"])  # two: a comma list
        page.click(f"{OPERATION} .btn.execute")

        url = page.text(f"{OPERATION} .request-url pre")
        code = page.text(f"{OPERATION} .live-responses-table tbody .response-col_status")
        body = page.text(f"{OPERATION} .live-responses-table tbody .highlight-code")
        curl = page.text(f"{OPERATION} .curl-command .curl")
        assert page.evaluate(RAW_BACKTICKS) == []  # the operation's descriptions too
    split = urlsplit(url)
    assert (split.scheme + "://" + split.netloc, split.path) == (
        base_url,
        f"/api/v2/event/{event.id}/bookings",
    )
    query = parse_qs(split.query)
    assert (query["filter[status]"], query["sort"]) == (["confirmed"], ["id,-created_at"])
    assert "string" not in url
    assert code == "200"
    assert "EVT-CONF01" in body and "EVT-PROV01" not in body
    assert f"Authorization: Bearer {token}" in curl
