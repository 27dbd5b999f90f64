"""Snapshot what the CLI says on every eval set, and diff two snapshots: a refactor must change nothing.

    python -m eval.diff_answers snapshot OUT_DIR     # kb ask --batch --json on every set, register, quizzes, roles
    python -m eval.diff_answers diff BEFORE AFTER    # exit 1 and list what differs

Run both snapshots on the same index (KB_DATA_DIR) so that only the code differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
SETS = ("qa_dev", "qa_test", "uv_train", "uv_dev", "uv_test")
ROLES = ("个人与居民", "农户与养殖户", "机动车车主", "餐饮与商户", "企业与排污单位", "建设单位", "政府部门")
VOLATILE = ("timings_ms", "elapsed_ms", "seconds", "generated_at")


def _kb(*args: str, stdin: str | None = None) -> str:
    """Run the kb CLI with this interpreter and return its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "kb.cli", *args], input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 3):
        raise SystemExit(f"kb {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def _batch_input(name: str) -> str:
    """The set as kb ask --batch lines: id, question and history."""
    lines = []
    for raw in (EVAL_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        if raw.strip():
            row = json.loads(raw)
            lines.append(json.dumps({"id": row["id"], "q": row["q"], "history": row.get("history") or []},
                                    ensure_ascii=False))
    return "\n".join(lines) + "\n"


def _strip(value: object) -> object:
    """Drop fields that legitimately change between runs (timings)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def snapshot(out: Path) -> None:
    """Write one file per output: every eval set's answers, the register, quizzes and the role views."""
    out.mkdir(parents=True, exist_ok=True)
    for name in SETS:
        rows = [_strip(json.loads(line)) for line in _kb("ask", "--batch", "-", "--json",
                                                         stdin=_batch_input(name)).splitlines() if line.strip()]
        (out / f"ask_{name}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "register.json").write_text(_kb("obligations", "--format", "json"), encoding="utf-8")
    (out / "register.csv").write_text(_kb("obligations", "--format", "csv"), encoding="utf-8")
    for role in ROLES:
        (out / f"role_{role}.json").write_text(_kb("obligations", "--role", role, "--format", "json"),
                                               encoding="utf-8")
    for kind in ("mcq", "blank", "judge"):
        (out / f"quiz_{kind}.json").write_text(_kb("quiz", "--n", "40", "--seed", "7", "--kind", kind,
                                                   "--format", "json"), encoding="utf-8")
    (out / "quiz_12th.md").write_text(_kb("quiz", "--n", "10", "--seed", "3", "--period", "12th", "--format", "md"),
                                      encoding="utf-8")


def diff(before: Path, after: Path) -> int:
    """Print each file (and each question id) that differs; return how many files differ."""
    changed = 0
    names = sorted({p.name for p in before.iterdir()} | {p.name for p in after.iterdir()})
    for name in names:
        a, b = before / name, after / name
        if not (a.exists() and b.exists()):
            print(f"{name}: only in {'after' if b.exists() else 'before'}")
            changed += 1
            continue
        if a.read_bytes() == b.read_bytes():
            continue
        changed += 1
        if name.startswith("ask_"):
            old = {r.get("id"): r for r in json.loads(a.read_text(encoding="utf-8"))}
            new = {r.get("id"): r for r in json.loads(b.read_text(encoding="utf-8"))}
            ids = [i for i in old.keys() | new.keys() if old.get(i) != new.get(i)]
            print(f"{name}: {len(ids)} answers differ: {', '.join(sorted(map(str, ids))[:20])}")
        else:
            print(f"{name}: differs")
    print("identical" if not changed else f"{changed} files differ")
    return changed


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("snapshot").add_argument("out", type=Path)
    d = sub.add_parser("diff")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "snapshot":
        snapshot(args.out)
        return 0
    return 1 if diff(args.before, args.after) else 0


if __name__ == "__main__":
    sys.exit(main())
