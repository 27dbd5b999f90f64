"""The package builds without warnings of our own, ships the whole corpus, and `kb --version` is its version."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_builds_cleanly_with_the_whole_corpus(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "app.py"):
        shutil.copy(ROOT / name, src / name)
    for name in ("kb", "indexing", "corpus", "eval"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "uploads"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(src), "-w",
         str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=600,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    for warning in ("Warning", "deprecated", "absent from"):
        assert warning not in log, log[-4000:]
    from kb import __version__

    wheel = next((tmp_path / "dist").glob("*.whl"))
    assert wheel.name.startswith(f"xjenv_kb-{__version__}-")
    shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("corpus/")}
    expected = {p.relative_to(ROOT).as_posix() for p in (ROOT / "corpus").rglob("*")
                if p.is_file() and p.suffix in (".md", ".txt", ".pdf", ".tsv") and "uploads" not in p.parts}
    assert expected and expected <= shipped
