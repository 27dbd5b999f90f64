"""Mutation check of the end-to-end answer tests: break the answer step on purpose, in a scratch copy, and show that
the tests fail.

    python -m eval.mutations            # every mutation; exit 1 if one survives (its tests all pass)

Each mutation replaces one exact line of this checkout (taken with `git archive HEAD`, so uncommitted edits are not
seen) in a temporary copy, runs the named tests there with KB_TEST_CACHE passed through, and lists the tests that
failed. A mutation whose line is no longer in the code is reported, not skipped, so the list has to follow the code.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
E2E = "tests/test_routes_e2e.py"
RANKED = "    ranked = sorted(sentences, key=lambda s: (-s.score, s.hit, s.start))"
AGGREGATE = "records = None if filtered else answer_aggregate(self.register, nq.text)"


@dataclass(frozen=True)
class Mutation:
    """One deliberate bug: ``old`` (an exact, unique text of ``path``) becomes ``new``; ``tests`` must catch it."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...] = (E2E,)


MUTATIONS = (
    Mutation("wrong clause: the best passage is never quoted", "kb/ask/answer/compose.py", RANKED,
             RANKED + "\n    ranked = [s for s in ranked if s.hit != ranked[0].hit]"),
    Mutation("wrong clause: the second-best sentence quoted first", "kb/ask/answer/compose.py", RANKED,
             RANKED + "\n    ranked = ranked[1:2] + ranked[:1] + ranked[2:]"),
    Mutation("near miss answered: never abstain", "kb/ask/answer/compose.py", "    if verdict.abstain:",
             "    if False:"),
    Mutation("aggregate loses its last record", "kb/service.py", AGGREGATE,
             "records = None if filtered else (lambda r: r[:-1] if r else r)("
             "answer_aggregate(self.register, nq.text))"),
    Mutation("aggregate loses its first indicator-table row", "kb/service.py", AGGREGATE,
             "records = None if filtered else (lambda r: [x for x in r if x is not next("
             "(y for y in r if y.source == 'table'), None)] if r else r)(answer_aggregate(self.register, nq.text))"),
    Mutation("follow-up read alone", "kb/ask/dialogue.py", "    if not history or not history[-1].strip():",
             "    if True:", (E2E, "tests/test_dialogue.py", "tests/test_webui.py::test_follow_up_and_clear")),
)


def _scratch_copy(into: Path) -> None:
    """This checkout's HEAD, unpacked into ``into``."""
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def run_mutation(m: Mutation) -> list[str] | None:
    """The tests that fail under ``m`` (empty: it survived); None when its line is not in the code any more."""
    with tempfile.TemporaryDirectory(prefix="kb-mutant-") as tmp:
        root = Path(tmp)
        _scratch_copy(root)
        target = root / m.path
        text = target.read_text(encoding="utf-8")
        if text.count(m.old) != 1:
            return None
        target.write_text(text.replace(m.old, m.new), encoding="utf-8")
        env = {**os.environ, "KB_REQUIRE_BROWSER": os.environ.get("KB_REQUIRE_BROWSER", "1")}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", *m.tests],
                              cwd=root, env=env, capture_output=True, text=True, check=False)
        return re.findall(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", done.stdout, flags=re.M)


def main() -> int:
    """Run every mutation and print what caught it; exit 1 when one survives or no longer applies."""
    bad = 0
    for m in MUTATIONS:
        failed = run_mutation(m)
        if failed is None:
            print(f"✗ {m.name}: the line to mutate is no longer in {m.path}")
            bad += 1
        elif not failed:
            print(f"✗ {m.name}: survived ({', '.join(m.tests)} all pass)")
            bad += 1
        else:
            print(f"✓ {m.name}: {len(failed)} failed")
            for test in failed:
                print(f"    {test}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
