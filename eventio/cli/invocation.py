"""The admin command line as a person can paste it: `flask --app eventio` when the `flask`
on PATH is this environment's, else this environment's own (`.venv/bin/flask --app eventio`),
so a hint printed by `make run` (which does not activate the virtualenv) runs as printed."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def flask_command() -> str:
    """`<flask> --app eventio`, with the flask executable of the running interpreter."""
    executable = Path(sys.executable).with_name("flask")
    on_path = shutil.which("flask")
    if on_path is not None and Path(on_path).absolute() == executable.absolute():
        return "flask --app eventio"
    return f"{shown_path(executable)} --app eventio"


def shown_path(path: Path) -> str:
    """Relative to the working directory when under it (`.venv/bin/flask`), else absolute."""
    absolute = path.absolute()
    try:
        relative = absolute.relative_to(Path(os.getcwd()))
    except ValueError:
        return str(absolute)
    return str(relative) if relative.parent != Path() else f"./{relative}"
