"""Hostile inputs against every interface: the CLI (argv and --batch), the Python API and the running web app's
JSON endpoints. Counts tracebacks, crashes and server errors; a refusal with a Chinese message is the right outcome.

    python -m eval.hostile_probe --data-dir /path/to/KB_DATA_DIR [--no-write]

Writes its figures as a section of eval/LOAD.md unless --no-write. Not part of the test suite (a few minutes);
tests/test_hardening.py keeps a short version.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from eval.load_test import DEFAULT_OUT, free_port, machine, start_app, wait_http, write_section

REPO_ROOT = Path(__file__).resolve().parent.parent
START = "<!-- hostile_probe:start -->"
END = "<!-- hostile_probe:end -->"
REAL = "排污许可证有效期多长？"

# What surrounds or replaces a real question; each is used alone and wrapped around REAL.
NOISE = (
    "\x00", "\x1b[31m", "\x07\x08", "\ud800", "\udfff", "\u202e", "\u200b\u200d", "\ufeff", "\uffff", "\U0010ffff",
    "\r\n", "\t", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<b>", "</p>", "&lt;&amp;",
    "' OR 1=1 --", "'; DROP TABLE chunks; --", "{{7*7}}", "${jndi:ldap://x}", "%s%s%n", "../../etc/passwd",
    "file:///etc/passwd", "javascript:alert(1)", "NaN", "Infinity", "-1", "1e309", "9" * 400, "🚗💨👨‍👩‍👧",
    "z\u0301\u0302\u0303\u0304", "Ｈｅｌｌｏ", "问" * 3000, "？？？", "。", " ", "",
)
# Filters of `kb obligations` and the web API (field, value).
FILTER_FIELDS = ("party", "doc", "domain", "due_before", "year", "text", "binding")
# Batch lines that are not a question object.
BAD_LINES = ("{", "[]", "null", '"q"', '{"q": 1}', '{"id": NaN, "q": "水"}', '{"q": "' + "[" * 200 + '"}',
             "[" * 5000, "\ufeff" + json.dumps({"q": REAL}, ensure_ascii=False), '{"q": "水", "history": "x"}',
             '{"q": "水", "history": [1, 2]}', '{"id": {"a": 1}, "q": "水"}', "\x00\x01", "💥")


def questions() -> list[str]:
    """Every hostile question: each noise alone, before, after and around the real question."""
    out = []
    for n in NOISE:
        out += [n, n + REAL, REAL + n, f"{n}{REAL}{n}"]
    return out


def _run_kb(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    """Run `kb`; its exit code and stderr. Arguments go as bytes (a lone surrogate as its raw UTF-8 form, NUL
    dropped: argv cannot carry it), the way a shell would pass them."""
    argv = [a.replace("\x00", "").encode("utf-8", "surrogatepass") for a in args]
    data = stdin.encode("utf-8", "surrogatepass") if stdin is not None else None
    done = subprocess.run([sys.executable.encode(), b"-m", b"kb.cli", *argv], input=data, env=env,
                          capture_output=True, cwd=REPO_ROOT, timeout=600)
    return done.returncode, done.stderr.decode("utf-8", "replace")


def probe_cli(env: dict[str, str], tally: Counter) -> None:
    """`kb ask --batch` over every question and every bad line; argv questions and filters, a sample each."""
    qs = questions()
    lines = [json.dumps({"id": i, "q": q}) for i, q in enumerate(qs)] + list(BAD_LINES)
    rc, err = _run_kb(["ask", "--batch", "-", "--json"], env, "\n".join(lines) + "\n")
    tally["cli batch lines"] += len(lines)
    tally["tracebacks"] += err.count("Traceback")
    tally["crashes"] += rc not in (0, 1)
    for q in qs[::8]:
        rc, err = _run_kb(["ask", q], env)
        tally["cli argv"] += 1
        tally["tracebacks"] += err.count("Traceback")
        tally["crashes"] += rc not in (0, 2)
    for field, value in zip(itertools.cycle(FILTER_FIELDS), NOISE[::2], strict=False):
        rc, err = _run_kb(["obligations", f"--{field.replace('_', '-')}", value, "--format", "json"], env)
        tally["cli filters"] += 1
        tally["tracebacks"] += err.count("Traceback")
        tally["crashes"] += rc not in (0, 2)


def probe_python(data_dir: Path, tally: Counter) -> None:
    """The Python API: ask, obligations and quiz with hostile values; only ValueError (a refusal) may come out."""
    from indexing.config import Settings
    from kb import KnowledgeBase

    kb = KnowledgeBase(Settings(data_dir=data_dir))
    calls = [lambda q=q: kb.ask(q) for q in questions()]
    calls += [lambda f=f, v=v: kb.obligations(**{f: v}) for f in FILTER_FIELDS for v in NOISE[::3]]
    calls += [lambda v=v: kb.quiz(n=3, doc=v) for v in NOISE[::3]]
    calls += [lambda n=n: kb.quiz(n=n) for n in (-1, 0, 10**9)]
    for call in calls:
        tally["python calls"] += 1
        try:
            call()
        except ValueError:
            tally["refused"] += 1
        except Exception:  # anything else is what the probe looks for
            tally["crashes"] += 1


def probe_web(data_dir: Path, tally: Counter) -> None:
    """The running app's JSON endpoints (/ask, /obligations, /quiz) through gradio_client."""
    from gradio_client import Client

    port = free_port()
    log = Path(f"/tmp/kb-hostile-{port}.log")
    proc = start_app(data_dir, port, log)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, 600, proc)
        client = Client(url, verbose=False)
        calls = [("/ask", {"question": q}) for q in questions()[::2]]
        calls += [("/obligations", {f: v}) for f, v in zip(itertools.cycle(FILTER_FIELDS), NOISE, strict=False)
                  if f != "year"]
        calls += [("/quiz", {"doc": v}) for v in NOISE[::3]]
        for api, kwargs in calls:
            tally["web calls"] += 1
            try:
                client.predict(api_name=api, **kwargs)
            except Exception:  # a refusal arrives as an error with its Chinese message
                tally["refused"] += 1
        time.sleep(1)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
    tally["tracebacks"] += log.read_text(encoding="utf-8", errors="replace").count("Traceback")


INTERFACES = {"cli batch lines": "kb ask --batch 的行（含非法 JSON 行）", "cli argv": "kb ask 的命令行参数",
              "cli filters": "kb obligations 的筛选参数", "python calls": "Python API（ask、obligations、quiz）",
              "web calls": "网页 JSON 接口（/ask、/obligations、/quiz）"}


def render(tally: Counter, machine_line: str, started: str) -> str:
    """The LOAD.md section."""
    inputs = sum(tally[k] for k in INTERFACES)
    return "\n".join([
        START, "## 恶意与异常输入（eval/hostile_probe.py）", "",
        f"- 时间：{started}；机器：{machine_line}",
        "- 方式：控制字符、孤立代理项、方向控制符、零宽字符、HTML/脚本、SQL 与模板注入、路径、超长文本、数字边界等，"
        "单独出现或包在真实问题前后；经命令行（参数与 --batch，含非法 JSON 行）、Python API 与网页 JSON 接口"
        "（/ask、/obligations、/quiz）提交。被拒并给出中文说明算正确结果。", "",
        "| 接口 | 输入数 |", "|---|---|",
        *(f"| {label} | {tally[k]} |" for k, label in INTERFACES.items()),
        f"| 合计 | {inputs} |", "",
        f"结果：Traceback {tally['tracebacks']} 处，崩溃（意外退出码或非 ValueError 异常）{tally['crashes']} 次；"
        f"被拒绝并给出说明 {tally['refused']} 次。",
        END, "",
    ])


def main(argv: list[str] | None = None) -> int:
    """Run the probe; exit 1 when anything crashed or printed a traceback."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", required=True, help="KB_DATA_DIR of a built index")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["KB_DATA_DIR"] = str(data_dir)
    started, machine_line = time.strftime("%Y-%m-%d %H:%M:%S"), machine()
    tally: Counter = Counter()
    probe_cli(env, tally)
    probe_python(data_dir, tally)
    probe_web(data_dir, tally)
    print(json.dumps(tally, ensure_ascii=False, indent=1))
    if not args.no_write:
        write_section(Path(args.out), render(tally, machine_line, started))
    return 1 if tally["tracebacks"] or tally["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
