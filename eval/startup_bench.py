"""Start-up and footprint, this checkout against another (e.g. main before issue 15), measured in one run.

    python -m eval.startup_bench --new-data DIR --old-src CHECKOUT --old-data DIR [--repeat 3] [--cold] [--app]
        [--first-run] [--publish]

For each side: `kb ask` wall time and peak RSS (a fresh process each time, over the built index in its data dir),
and optionally (``--app``) the web app's time to ready with that index and its RSS while serving, and (``--cold``)
a cold `kb index` of the shipped corpus into an empty data dir (with the shipped vectors, and for a checkout that has
them also without), and (``--first-run``) a fresh clone of this checkout from `make app` to its first answer
(eval/first_run_bench.py). `python -c "import torch"` is timed in the same run for scale. Every figure is printed
with the load average at the time; the JSON goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from eval.load_test import free_port

REPO = Path(__file__).resolve().parent.parent
QUESTION = "秸秆收集利用率要在哪年达到多少？"


def _env(src: Path, data: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(PYTHONPATH=str(src), KB_DATA_DIR=str(data), PYTHONUTF8="1", GRADIO_ANALYTICS_ENABLED="False")
    env.update(extra or {})
    return env


def timed(cmd: list[str], src: Path, data: Path, extra_env: dict[str, str] | None = None) -> dict:
    """Run a command to completion: wall seconds, peak RSS (MB), exit code, load average before."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=src, env=_env(src, data, extra_env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out, err = p.stdout.read().decode(errors="replace"), p.stderr.read().decode(errors="replace")
    p.stdout.close()
    p.stderr.close()
    return {"wall_s": wall, "rss_peak_mb": usage.ru_maxrss / 1024, "rc": os.waitstatus_to_exitcode(status),
            "load": load, "stdout": out[-400:], "stderr": err[-400:]}


def repeat(n: int, cmd: list[str], src: Path, data: Path) -> dict:
    """The median wall time and largest peak RSS of ``n`` runs."""
    runs = [timed(cmd, src, data) for _ in range(n)]
    return {"wall_s": statistics.median(r["wall_s"] for r in runs), "walls": [r["wall_s"] for r in runs],
            "rss_peak_mb": max(r["rss_peak_mb"] for r in runs), "rc": max(r["rc"] for r in runs),
            "load": statistics.mean(r["load"] for r in runs), "stderr": runs[-1]["stderr"]}



def app_ready(src: Path, data: Path, timeout: float = 600) -> dict:
    """Seconds from `python app.py` to the page answering HTTP 200 and the knowledge base ready; RSS serving."""
    import psutil

    port = free_port()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=src, env=_env(src, data),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    http_s = ready_s = None
    try:
        os.set_blocking(p.stdout.fileno(), False)
        raw, buf = b"", ""
        while time.perf_counter() - t0 < timeout and (http_s is None or ready_s is None):
            raw += p.stdout.read() or b""  # non-blocking: None when nothing has arrived
            buf = raw.decode("utf-8", "replace")
            if ready_s is None and "知识库已就绪" in buf:
                ready_s = time.perf_counter() - t0
            if http_s is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                        if r.status == 200:
                            http_s = time.perf_counter() - t0
                except OSError:
                    pass
            if p.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(2)
        proc = psutil.Process(p.pid)
        rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        m = re.search(r"知识库已就绪（([\d.]+) 秒）", buf)
    finally:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
    return {"http_200_s": http_s, "ready_s": ready_s, "serving_rss_mb": rss / 1e6, "load": load,
            "ready_reported_s": float(m.group(1)) if m else None}


def import_torch(n: int) -> dict:
    """`python -c "import torch"`, ``n`` times."""
    return repeat(n, [sys.executable, "-c", "import torch"], REPO, Path(tempfile.gettempdir()))


def side(name: str, src: Path, data: Path, args: argparse.Namespace) -> dict:
    """Every measure for one checkout."""
    out: dict = {"src": str(src), "data": str(data)}
    ask = [sys.executable, "-m", "kb.cli", "ask", QUESTION]
    timed(ask, src, data)  # warm the page cache; also builds the index if it is missing
    out["ask"] = repeat(args.repeat, ask, src, data)
    out["help"] = repeat(args.repeat, [sys.executable, "-m", "kb.cli", "--help"], src, data)
    if args.app:
        out["app"] = app_ready(src, data)
    if args.cold:
        # A checkout that ships the corpus's vectors is also timed without them: a truly cold build.
        shipped = (src / "corpus" / "vectors.npz").exists()
        for key, extra in (("cold_index", {}), ("cold_index_unshipped", {"KB_SHIPPED_VECTORS": "0"})):
            if extra and not shipped:
                continue
            cold = Path(tempfile.mkdtemp(prefix=f"kb-cold-{name}-"))
            try:
                out[key] = timed([sys.executable, "-m", "kb.cli", "index"], src, cold, extra)
            finally:
                shutil.rmtree(cold, ignore_errors=True)
    print(name, json.dumps(out, ensure_ascii=False)[:2000], file=sys.stderr, flush=True)
    return out


PUBLISHED = Path(__file__).resolve().parent / "startup.json"


def _cell(x: float | None, unit: str = "") -> str:
    return "–" if x is None else f"{x:.1f}{unit}"


def markdown(result: dict) -> list[str]:
    """The RESULTS.md section for a run written with ``--publish``."""
    lines = ["## Start-up and footprint (eval/startup_bench.py, issue 15)", "",
             f"Measured on {result.get('date', '?')} ({result['cpus']} CPU cores, Python {result['python']}); each "
             "figure is the median of the runs, with the load average when it was taken. \"new\" is this checkout "
             f"over its built index, \"old\" {result.get('old', {}).get('src', '–')} over its own.", "",
             "| measure | new | old | load (new / old) |", "|---|---|---|---|"]
    new, old = result["new"], result.get("old", {})
    for side_ in (new, old):
        if "help" in side_:
            side_["help"]["wall_ms"] = side_["help"]["wall_s"] * 1000
    rows = [("`kb ask`, wall s", "ask", "wall_s", ""), ("`kb ask`, peak RSS MB", "ask", "rss_peak_mb", ""),
            ("`kb --help`, wall ms", "help", "wall_ms", "")]
    for label, key, field, unit in rows:
        lines.append(f"| {label} | {_cell(new.get(key, {}).get(field), unit)} | "
                     f"{_cell(old.get(key, {}).get(field), unit)} | {_cell(new.get(key, {}).get('load'))} / "
                     f"{_cell(old.get(key, {}).get('load'))} |")
    for label, field in (("app: page answers HTTP 200, s", "http_200_s"), ("app: knowledge base ready, s", "ready_s"),
                         ("app: RSS while serving, MB", "serving_rss_mb")):
        lines.append(f"| {label} | {_cell(new.get('app', {}).get(field))} | {_cell(old.get('app', {}).get(field))} | "
                     f"{_cell(new.get('app', {}).get('load'))} / {_cell(old.get('app', {}).get('load'))} |")
    if "cold_index" in new:
        lines.append(f"| cold `kb index` of the shipped corpus, s | {_cell(new['cold_index']['wall_s'])} | "
                     f"{_cell(old.get('cold_index', {}).get('wall_s'))} | {_cell(new['cold_index']['load'])} / "
                     f"{_cell(old.get('cold_index', {}).get('load'))} |")
        lines.append(f"| cold `kb index`, peak RSS MB | {_cell(new['cold_index']['rss_peak_mb'])} | "
                     f"{_cell(old.get('cold_index', {}).get('rss_peak_mb'))} | |")
    if "cold_index_unshipped" in new:
        bare, old_bare = new["cold_index_unshipped"], old.get("cold_index_unshipped", {})
        lines.append(f"| cold `kb index` without the shipped vectors (`KB_SHIPPED_VECTORS=0`), s | "
                     f"{_cell(bare['wall_s'])} | {_cell(old_bare.get('wall_s'))} | {_cell(bare['load'])} / "
                     f"{_cell(old_bare.get('load'))} |")
    first = result.get("first_run")
    if first:
        for label, field in (("fresh clone `make app`: install done, s", "installed_s"),
                             ("fresh clone `make app`: knowledge base ready, s", "ready_s"),
                             ("fresh clone `make app`: first answer (`kb ask`), s", "first_answer_s")):
            lines.append(f"| {label} | {_cell(first.get(field))} | – | {_cell(first.get('load_start'))} / – |")
    torch = result["torch_import"]
    lines += ["", f"For scale, `python -c \"import torch\"` in the same run: {torch['wall_s']:.1f} s "
              f"(load {torch['load']:.1f}).", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Measure both sides and the torch import; write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--new-data", type=Path, required=True)
    p.add_argument("--old-src", type=Path)
    p.add_argument("--old-data", type=Path)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--app", action="store_true")
    p.add_argument("--cold", action="store_true")
    p.add_argument("--first-run", action="store_true", help="also time a fresh clone's `make app` to its first answer")
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "startup_bench.json")
    p.add_argument("--publish", action="store_true", help=f"also write {PUBLISHED} (rendered into RESULTS.md)")
    args = p.parse_args(argv)
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": len(os.sched_getaffinity(0)),
                    "python": sys.version.split()[0],
                    "torch_import": import_torch(args.repeat), "new": side("new", REPO, args.new_data, args)}
    if args.old_src:
        result["old"] = side("old", args.old_src, args.old_data, args)
    result["torch_import_after"] = import_torch(args.repeat)
    if args.first_run:
        from eval.first_run_bench import first_run

        root = Path(tempfile.mkdtemp(prefix="kb-first-run-"))
        try:
            result["first_run"] = first_run(REPO, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.publish:
        PUBLISHED.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
