"""Nothing the product prints names a file outside the repository (the design notes it was
built from live beside it, not in it): every string literal of its Python sources, and the
Makefile's and deploy/'s non-comment lines, name no `shared/…` nor `../…` path."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON_SOURCES = ("eventio", "migrations", "deploy", "gunicorn.conf.py", "wsgi.py")
OTHER_SOURCES = ("Makefile", "deploy/install-nginx", "deploy/nginx")
OUTSIDE = re.compile(r"(?<![\w.-])shared/|\.\./")


def python_files() -> Iterator[Path]:
    for name in PYTHON_SOURCES:
        path = ROOT / name
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def other_files() -> Iterator[Path]:
    for name in OTHER_SOURCES:
        path = ROOT / name
        yield from sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def literals(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def test_the_sources_are_found() -> None:
    files = [path.relative_to(ROOT).as_posix() for path in python_files()]
    assert "migrations/versions/0001_eventio_schema.py" in files
    assert "eventio/cli/demo.py" in files
    assert all((ROOT / name).is_file() for name in ("Makefile", "deploy/install-nginx"))


def test_no_string_of_a_python_source_names_a_path_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}"
        for path in python_files()
        for line, text in literals(path)
        if OUTSIDE.search(text)
    ]
    assert found == []


def test_no_makefile_or_deploy_line_names_a_path_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in other_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if not line.lstrip().startswith("#") and OUTSIDE.search(line)
    ]
    assert found == []
