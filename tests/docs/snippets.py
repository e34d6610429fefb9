"""The runnable snippets of README.md and docs/*.md, as docs/testing.md describes them.

A fenced block whose info string is `sh`, `bash` or `shell` runs in bash, one that is
`python` or `py` in the project's Python; an inline `curl …` span in a table row runs in
bash too. The line right before a fence may hold one marker:

    <!-- snippet: skip (why it must not run) -->
    <!-- snippet: expect-error -->

Anything else that starts `<!-- snippet:`, a marker not followed by a fence, a marker on
a block that would not run anyway and a `console` block are mistakes, listed by
`marker_problems` so that a typo cannot silently turn a test off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = {"sh": "shell", "bash": "shell", "shell": "shell", "python": "python", "py": "python"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)")
MARKER = re.compile(r"^\s*<!--\s*snippet:(?P<body>.*?)-->\s*$")
SKIP = re.compile(r"^skip \((?P<reason>.+)\)$")
INLINE_CURL = re.compile(r"`(curl [^`]+)`")


@dataclass(frozen=True)
class Snippet:
    path: str  # relative to the repository, e.g. docs/stats.md
    line: int  # of the opening fence (or of the table row), 1-based
    language: str  # shell or python
    code: str
    skip: str | None = None  # the reason, when marked skip
    expect_error: bool = False

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def documents(root: Path = ROOT) -> list[Path]:
    """README.md and every docs/*.md, in a stable order."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def parse(path: str, text: str) -> tuple[list[Snippet], list[Problem]]:
    """The snippets of one Markdown text, and the marker mistakes in it."""
    snippets: list[Snippet] = []
    problems: list[Problem] = []
    lines = text.splitlines()
    marker: tuple[int, str] | None = None  # (line, body) of a marker awaiting its fence
    dangling = "a snippet marker must be followed by a fence"
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if marker is not None and not FENCE.match(line):
            problems.append(Problem(path, marker[0], dangling))
            marker = None
        found = MARKER.match(line)
        if found:
            marker = (number, found.group("body").strip())
            continue
        fence = FENCE.match(line)
        if fence is None:
            snippets.extend(inline_curls(path, number, line))
            continue
        fence_line = number
        body, number = block_body(lines, number, fence.group("indent"), fence.group("fence"))
        info = fence.group("info").lower()
        snippet, problem = block(path, fence_line, info, body, marker)
        marker = None
        if snippet is not None:
            snippets.append(snippet)
        if problem is not None:
            problems.append(problem)
    if marker is not None:
        problems.append(Problem(path, marker[0], dangling))
    return snippets, problems


def block_body(lines: list[str], start: int, indent: str, fence: str) -> tuple[list[str], int]:
    """The lines of a block opened on line `start` (1-based), dedented by the fence's
    indentation, and the line number after its closing fence."""
    body: list[str] = []
    number = start
    while number < len(lines):
        line = lines[number]
        number += 1
        if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            return body, number
        body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
    return body, number


def block(
    path: str, line: int, info: str, body: list[str], marker: tuple[int, str] | None
) -> tuple[Snippet | None, Problem | None]:
    language = LANGUAGES.get(info)
    if info == "console":
        return None, Problem(
            path,
            line,
            "`console` blocks are not used: fence the commands as `sh` and their output "
            "as `text`, so that the commands run",
        )
    if marker is None:
        if language is None:
            return None, None
        return Snippet(path, line, language, "\n".join(body) + "\n"), None
    marker_line, text = marker
    if language is None:
        return None, Problem(
            path, marker_line, f"a snippet marker on a `{info or 'plain'}` block, which never runs"
        )
    skip = SKIP.match(text)
    if skip:
        reason = skip.group("reason").strip()
        return Snippet(path, line, language, "\n".join(body) + "\n", skip=reason), None
    if text == "expect-error":
        return Snippet(path, line, language, "\n".join(body) + "\n", expect_error=True), None
    return None, Problem(
        path,
        marker_line,
        f"unknown snippet marker {text!r}: write `skip (reason)` or `expect-error`",
    )


def inline_curls(path: str, number: int, line: str) -> Iterator[Snippet]:
    """`curl …` spans in a table row are whole commands (README's "Trying it")."""
    if not line.lstrip().startswith("|"):
        return
    for command in INLINE_CURL.findall(line):
        yield Snippet(path, number, "shell", command + "\n")


def collect(paths: Iterable[Path], root: Path = ROOT) -> tuple[list[Snippet], list[Problem]]:
    snippets: list[Snippet] = []
    problems: list[Problem] = []
    for path in paths:
        found, wrong = parse(path.relative_to(root).as_posix(), path.read_text(encoding="utf-8"))
        snippets.extend(found)
        problems.extend(wrong)
    return snippets, problems
