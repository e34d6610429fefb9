"""`make test` says why tests were skipped: one line per reason, with its count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_database() -> None:
    """A pytest run of its own, on no database."""


def test_skips_are_summed_up_by_reason(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "@pytest.mark.parametrize('n', range(3))\n"
        "def test_a(n):\n"
        "    pytest.skip('needs PostgreSQL')\n"
        "@pytest.mark.skip(reason='needs Redis')\n"
        "def test_b():\n"
        "    pass\n"
        "def test_c():\n"
        "    pytest.skip('needs PostgreSQL')\n"
        "def test_d():\n"
        "    pass\n"
    )
    config = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT)]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *config, str(tmp_path / "test_sample.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.split("5 skipped, by reason", 1)[1].splitlines()[1:3]
    assert summary == ["   4  needs PostgreSQL", "   1  needs Redis"], result.stdout
