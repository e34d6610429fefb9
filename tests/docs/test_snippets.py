"""Every shell and Python snippet of README.md and docs/*.md runs against a live demo server,
so that the examples cannot rot (the convention: docs/testing.md, "Documentation snippets").

One test per snippet, named by file and line; a snippet marked skip is reported skipped
with its reason. A snippet passes when it exits 0; in shell, `curl` fails on an HTTP
error (>= 400), and in a snippet marked `expect-error` every curl must get one."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.snippets import Snippet, collect, documents
from tests.support.demo_server import DemoServer, demo_server

SNIPPETS, PROBLEMS = collect(documents())
TIMEOUT_SECONDS = {"shell": 60, "python": 120}
TAIL_LINES = 40
TAIL_CHARACTERS = 3000  # a JSON answer is one long line
# Run before a shell snippet: an HTTP error (>= 400) fails curl (exit 22), named on stderr
# even under `-s`, and so the snippet.
FAILING_CURL = 'curl() { command curl --fail-with-body --show-error "$@"; }\n'
# Before an expect-error one: each curl must get an HTTP error; it then exits 0, as a
# reader's curl without --fail does. Any other failure (connection refused) still fails.
ERROR_EXPECTING_CURL = """curl() {
  local status=0
  command curl --fail-with-body --show-error "$@" || status=$?
  if [ "$status" -eq 0 ]; then
    echo "snippet marked expect-error, but this curl got no HTTP error: curl $*" >&2
    return 1
  fi
  [ "$status" -eq 22 ] || return "$status"
}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    with demo_server(tmp_path_factory.mktemp("snippets")) as running:
        yield running


def test_snippet_markers_are_well_formed() -> None:
    """A mistyped marker would silently run, or skip, the wrong thing."""
    assert not PROBLEMS, "\n".join(str(problem) for problem in PROBLEMS)


@pytest.mark.parametrize(
    "snippet",
    [
        pytest.param(
            snippet,
            id=snippet.id,
            marks=[pytest.mark.skip(reason=f"{snippet.id}: {snippet.skip}")]
            if snippet.skip
            else [],
        )
        for snippet in SNIPPETS
    ],
)
def test_snippet_runs(snippet: Snippet, server: DemoServer, tmp_path: Path) -> None:
    workspace = server.workspace(tmp_path)
    code = server.localised(snippet.code)
    if snippet.language == "shell":
        script = tmp_path / "snippet.sh"
        script.write_text((ERROR_EXPECTING_CURL if snippet.expect_error else FAILING_CURL) + code)
        command = ["bash", "-euo", "pipefail", str(script)]
    else:
        script = tmp_path / "snippet.py"
        script.write_text(code)
        command = [sys.executable, str(script)]
    try:
        completed = subprocess.run(
            command,
            cwd=workspace,
            env=server.environment(workspace),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS[snippet.language],
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(
            report(snippet, code, f"ran past {expired.timeout} s", expired.stdout, expired.stderr),
            pytrace=False,
        )
    if completed.returncode != 0:
        pytest.fail(
            report(
                snippet, code, f"exited {completed.returncode}", completed.stdout, completed.stderr
            ),
            pytrace=False,
        )


def report(snippet: Snippet, code: str, what: str, stdout: object, stderr: object) -> str:
    return "\n".join(
        [
            f"{snippet.id}: the {snippet.language} snippet {what} against the demo server.",
            "In shell, curl runs with --fail-with-body: an HTTP status >= 400 fails it.",
            "Fix the example (or mark it, see docs/testing.md). As run:",
            indented(code),
            "stdout (its end):",
            indented(tail(stdout)),
            "stderr (its end):",
            indented(tail(stderr)),
        ]
    )


def tail(output: object) -> str:
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    text = "\n".join(str(output or "").splitlines()[-TAIL_LINES:])
    if len(text) > TAIL_CHARACTERS:
        text = "…" + text[-TAIL_CHARACTERS:]
    return text or "(nothing)"


def indented(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip("\n").splitlines())
