"""Soak test: the running web app follows `kb index` runs made by other processes.

    python -m eval.reindex_soak --data-dir D --corpus-dir C [--minutes 10]

Works on copies of the given data and corpus folders. Starts app.py over them; two users ask questions about
the original content without pause; meanwhile `kb index` runs twice after an article is appended to a law
(each time the app is then asked about the new article until it answers, the seconds are recorded) and
`kb index --rebuild` runs twice; then the users go on until the time is up. Prints the figures as JSON and,
unless --no-write, writes them as a section of eval/LOAD.md. Not part of the test suite (minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from eval.load_test import DEFAULT_OUT, Sample, ask_once, free_port, machine, start_app, wait_http, write_section

REPO_ROOT = Path(__file__).resolve().parent.parent
OLD_QUESTIONS = ["规划实施后要不要做跟踪评价？", "环境保护税的纳税人是谁？"]
NEW = [("第九十一条 本条为测试新增：沙尘暴监测站每年校准一次。", "沙尘暴监测站多久校准一次？", "每年校准一次"),
       ("第九十二条 本条为测试新增：戈壁光伏电站每五年复核一次生态评估。", "戈壁光伏电站多久复核一次生态评估？",
        "每五年复核")]
START, END = "<!-- reindex_soak:start -->", "<!-- reindex_soak:end -->"


def _kb(env: dict[str, str], *args: str) -> float:
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kb.cli", "index", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"kb index {' '.join(args)} 失败：{done.stderr[-2000:]}")
    return time.monotonic() - t0


def _asker(url: str, stop: threading.Event, samples: list[Sample], lock: threading.Lock, n: int) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    i = 0
    while not stop.is_set():
        s = Sample(n, OLD_QUESTIONS[i % len(OLD_QUESTIONS)], time.monotonic())
        try:
            ask_once(client, s.question, 120, s)
        except Exception as e:
            s.error = f"{type(e).__name__}: {e}"[:200]
        with lock:
            samples.append(s)
        i += 1


def _until_answered(url: str, question: str, fact: str, timeout_s: float = 120) -> float:
    """Seconds until the app's answer to ``question`` contains ``fact``."""
    from gradio_client import Client

    client, t0 = Client(url, verbose=False), time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        answer = client.predict(question, api_name="/ask")  # the JSON answer of `kb ask --json`
        if fact in answer.get("answer", ""):
            return time.monotonic() - t0
        time.sleep(0.5)
    raise TimeoutError(f"{timeout_s:.0f} 秒内网页应用仍未回答出新内容：{question}")


def soak(data_dir: Path, corpus_dir: Path, minutes: float) -> dict:
    """Run the soak on copies of the folders; the figures."""
    work = Path(tempfile.mkdtemp(prefix="kb-soak-"))
    data, corpus = work / "data", work / "corpus"
    shutil.copytree(data_dir, data, symlinks=True, ignore=shutil.ignore_patterns(".lock", "readers"))
    shutil.copytree(corpus_dir, corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(data), KB_CORPUS_DIR=str(corpus))
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    os.environ["KB_CORPUS_DIR"] = str(corpus)
    proc = start_app(data, port, work / "app.log")
    samples: list[Sample] = []
    lock, stop = threading.Lock(), threading.Event()
    figures: dict = {"builds": []}
    try:
        wait_http(url, 900, proc)
        _until_answered(url, OLD_QUESTIONS[0], "跟踪评价", 900)
        t0 = time.monotonic()
        users = [threading.Thread(target=_asker, args=(url, stop, samples, lock, n), daemon=True) for n in range(2)]
        for u in users:
            u.start()
        law = next(corpus.rglob("planning-eia-regs-2009.md"))
        for text, question, fact in NEW:
            law.write_text(law.read_text(encoding="utf-8") + f"\n{text}\n", encoding="utf-8")
            build_s = _kb(env)
            figures["builds"].append({"kind": "incremental", "index_s": round(build_s, 1),
                                      "answered_after_s": round(_until_answered(url, question, fact), 1)})
        for _ in range(2):
            build_s = _kb(env, "--rebuild")
            figures["builds"].append({"kind": "rebuild", "index_s": round(build_s, 1),
                                      "answered_after_s": round(_until_answered(url, NEW[-1][1], NEW[-1][2]), 1)})
        while time.monotonic() - t0 < minutes * 60:
            time.sleep(1)
        stop.set()
        for u in users:
            u.join(180)
        figures["minutes"] = round((time.monotonic() - t0) / 60, 1)
    finally:
        stop.set()
        proc.terminate()
        proc.wait(30)
    log = (work / "app.log").read_text(encoding="utf-8", errors="replace")
    figures.update(questions=len(samples), failed=sum(1 for s in samples if s.error),
                   errors=sorted({s.error for s in samples if s.error}), tracebacks=log.count("Traceback"),
                   generations_left=sorted(p.name for p in (data / "index").glob("g-*")))
    shutil.rmtree(work, ignore_errors=True)
    return figures


def render(figures: dict, machine_line: str) -> str:
    """The LOAD.md section."""
    rows = [f"| {i + 1} | {'增量' if b['kind'] == 'incremental' else '完全重建'} | {b['index_s']} | "
            f"{b['answered_after_s']} |" for i, b in enumerate(figures["builds"])]
    return "\n".join([
        START, "## 服务中重建索引（eval/reindex_soak.py）", "",
        f"- 时间：{time.strftime('%Y-%m-%d %H:%M:%S')}；机器：{machine_line}",
        f"- 方式：网页应用运行中，另开 `kb index` 进程两次增量（各新增一条）、两次 `--rebuild`；两个用户在 "
        f"{figures.get('minutes')} 分钟内不停提问原有内容。",
        f"- 结果：提问 {figures['questions']} 次，失败 {figures['failed']} 次；应用日志中 Traceback "
        f"{figures['tracebacks']} 处。", "",
        "| 次序 | 索引方式 | `kb index` 用时（秒） | 索引完成后应用答出新内容（秒） |", "|---|---|---|---|", *rows,
        END,
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the soak."""
    p = argparse.ArgumentParser(description="网页应用运行中重建索引的耐久测试")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--corpus-dir", required=True)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    machine_line = machine()
    figures = soak(Path(args.data_dir), Path(args.corpus_dir), args.minutes)
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    if not args.no_write:
        write_section(DEFAULT_OUT, render(figures, machine_line))
    return 0 if figures["failed"] == 0 and figures["tracebacks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
