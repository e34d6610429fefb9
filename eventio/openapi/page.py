"""The Swagger UI page and its start-up script, kept in Python so they ship with the package."""

from __future__ import annotations

from html import escape
from string import Template

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>EventIO API v2</title>
  <link rel="stylesheet" href="${assets}swagger-ui.css">
  <link rel="stylesheet" href="${assets}index.css">
  <link rel="icon" type="image/png" href="${assets}favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui" data-spec-url="${spec_url}"></div>
  <script src="${assets}swagger-ui-bundle.js"></script>
  <script src="${init_js}"></script>
</body>
</html>
""")

# No validator badge: it would send the document to validator.swagger.io.
INIT_JS = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""


def render(assets: str, spec_url: str, init_js: str) -> str:
    """The page; `assets` is the URL prefix of Swagger UI's files (ending in `/`)."""
    return PAGE.substitute(
        assets=escape(assets), spec_url=escape(spec_url), init_js=escape(init_js)
    )
