"""The login-flood benchmark in short (a few seconds, no timing assertions): while wrong admin passwords
arrive at 20 a second, every question is still answered, and the flood is throttled instead of queued.
The full run (60 s) is `python -m eval.load_test --login-flood 20`, figures in eval/LOAD.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_hardening import copy_small

from eval.load_test import measure, parse_args


def test_short_login_flood_leaves_questions_answered(small_index: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = copy_small(small_index, tmp_path / "kb")
    monkeypatch.setenv("KB_CORPUS_DIR", str(settings.corpus_dir))
    args = parse_args(["--data-dir", str(settings.data_dir), "--users", "2", "--duration", "4",
                       "--login-flood", "20", "--no-write", "--app-log", str(tmp_path / "app.log")])
    figures, *_ = measure(args)
    flood = figures["login_flood"]
    assert figures["requests"] > 0 and figures["errors"] == 0, figures["error_kinds"]
    assert flood["queued"] is False and flood["sent"] >= 20
    assert set(flood["outcomes"]) <= {"wrong", "throttled"}, flood["outcomes"]
    assert flood["outcomes"].get("throttled", 0) > 0
    assert "Traceback" not in (tmp_path / "app.log").read_text(encoding="utf-8")
