"""A fresh clone's first run, as a new user meets it: `make app` to the first answer, install included.

    python -m eval.first_run_bench [--src REPO] [--keep DIR]

Clones ``--src`` (default: this checkout's HEAD) into an empty folder, runs `make app` there with an empty data dir
and a free port, and records the seconds until the install is done (``.venv/.installed`` appears), the page answers
HTTP 200, the app reports the knowledge base ready, and a `kb ask` run right then returns its answer. Prints one JSON
object with the load average at the start; pip's cache and the machine's pip configuration are whatever this machine
has, which the note beside the figure should say.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from eval.load_test import free_port

REPO = Path(__file__).resolve().parent.parent
QUESTION = "秸秆收集利用率要在哪年达到多少？"



def _page_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def first_run(src: Path, root: Path, timeout: float = 1200) -> dict:
    """Clone, `make app`, and time each milestone up to the first answer."""
    clone, data = root / "clone", root / "data"
    subprocess.run(["git", "clone", "-q", str(src), str(clone)], check=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(data), KB_PORT=str(port), PYTHONUTF8="1")
    out: dict = {"load_start": os.getloadavg()[0], "port": port}
    t0 = time.perf_counter()
    log = (root / "make.log").open("wb")
    p = subprocess.Popen(["make", "app"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        while time.perf_counter() - t0 < timeout and p.poll() is None:
            now = time.perf_counter() - t0
            if "installed_s" not in out and (clone / ".venv" / ".installed").exists():
                out["installed_s"] = now
            if "http_200_s" not in out and "installed_s" in out and _page_up(port):
                out["http_200_s"] = now
            if "知识库已就绪" in (root / "make.log").read_text(encoding="utf-8", errors="replace"):
                out["ready_s"] = now
                break
            time.sleep(0.5)
        ask = subprocess.run([str(clone / ".venv" / "bin" / "kb"), "ask", QUESTION], cwd=clone, env=env,
                             capture_output=True, text=True, timeout=300)
        out["first_answer_s"] = time.perf_counter() - t0
        out["answer"] = ask.stdout.strip().splitlines()[:1]
        out["rc"] = ask.returncode
    finally:
        os.killpg(p.pid, 15)
        p.wait(timeout=30)
        log.close()
    out["log_tail"] = (root / "make.log").read_text(encoding="utf-8", errors="replace")[-600:]
    return out


def main(argv: list[str] | None = None) -> int:
    """Run one fresh-clone first run and print its JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", type=Path, default=REPO)
    p.add_argument("--keep", type=Path, help="work here and keep it (default: a temp folder, removed)")
    args = p.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="kb-first-run-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        result = first_run(args.src, root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    result.update(date=time.strftime("%Y-%m-%d %H:%M"), cpus=len(os.sched_getaffinity(0)))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
