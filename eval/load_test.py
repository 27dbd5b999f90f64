"""Load test: simulated users asking questions of the running web app over loopback.

    python -m eval.load_test --data-dir /path/to/KB_DATA_DIR      # starts app.py on a free port itself
    python -m eval.load_test --url http://127.0.0.1:7860           # an app that is already running

Each user is a thread with its own Gradio session that asks the chat endpoint (``/chat``, the same
streamed call as the page) one question after another, from the dev question set, until the time is
up; a request still running then is awaited up to ``--timeout``. It reports the error rate, the
end-to-end latency (to the final answer with its sources) and the time to the first streamed update,
throughput, and the server's resident memory sampled throughout. The figures are written as a section of
eval/LOAD.md (replaced on each run). Not part of the test suite: it takes a minute or more.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "eval" / "LOAD.md"
QUESTIONS_FILE = REPO_ROOT / "eval" / "qa_dev.jsonl"
START = "<!-- load_test:start -->"
END = "<!-- load_test:end -->"
FLOOD_START = "<!-- load_test:login_flood:start -->"  # the section of a run with --login-flood
FLOOD_END = "<!-- load_test:login_flood:end -->"
# What a failed answer looks like on the page (kb/web/render.py).
ERROR_MARKERS = ("处理问题时出错", "索引尚未就绪", "索引失败")
FALLBACK_QUESTIONS = [
    "秸秆收集利用率要在哪年达到多少？",
    "环境保护税的纳税人是谁？",
    "规划环境影响评价应当在什么时候进行？",
    "到2020年全区细颗粒物浓度要下降多少？",
]


@dataclass
class Sample:
    """One request: when it started, when the first update and the final answer arrived, and how it ended."""

    user: int
    question: str
    start: float
    first: float | None = None
    end: float | None = None
    error: str | None = None


@dataclass
class Memory:
    """Resident memory of the server process (and its children), sampled during the run."""

    pid: int | None
    samples: list[tuple[float, int]] = field(default_factory=list)

    def rss(self) -> int | None:
        """Current RSS in bytes, or None when the process is gone or unknown."""
        if self.pid is None:
            return None
        import psutil

        try:
            proc = psutil.Process(self.pid)
            total = proc.memory_info().rss
            for child in proc.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            return total
        except psutil.Error:
            return None

    def sample_until(self, stop: threading.Event, every_s: float = 0.5) -> None:
        """Record RSS every ``every_s`` seconds until ``stop`` is set."""
        while not stop.is_set():
            value = self.rss()
            if value is not None:
                self.samples.append((time.monotonic(), value))
            stop.wait(every_s)


def load_questions() -> list[str]:
    """The dev set's questions (or a few built-in ones when it is missing)."""
    try:
        with open(QUESTIONS_FILE, encoding="utf-8") as fh:
            questions = [json.loads(line)["q"] for line in fh if line.strip()]
    except (OSError, ValueError, KeyError):
        questions = []
    return questions or FALLBACK_QUESTIONS


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout_s: float, proc: subprocess.Popen | None = None) -> None:
    """Wait until the app answers HTTP at ``url``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"网页应用已退出（退出码 {proc.returncode}）")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1.0)
    raise TimeoutError(f"{timeout_s:.0f} 秒内网页应用没有响应：{url}")


def server_pid_for(url: str) -> int | None:
    """The pid of the process listening on the URL's port (None when it cannot be seen)."""
    import psutil

    port = urlparse(url).port or 80
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid
    except (psutil.Error, OSError):
        pass
    return None


def ask_once(client, question: str, timeout_s: float, sample: Sample) -> None:
    """One streamed question through the chat endpoint; fills in ``sample``."""
    job = client.submit(question, [], "", api_name="/chat")  # message, chat history, document scope
    while not job.done():
        now = time.monotonic()
        if sample.first is None and job.outputs():
            sample.first = now
        if now - sample.start > timeout_s:
            job.cancel()
            raise TimeoutError(f"超过 {timeout_s:.0f} 秒未完成")
        time.sleep(0.05)
    result = job.result()
    sample.end = time.monotonic()
    if sample.first is None:
        sample.first = sample.end
    history, _, plain = result
    last = history[-1] if history else {}
    content = json.dumps(last.get("content", ""), ensure_ascii=False) if isinstance(last, dict) else str(last)
    if not plain or not str(plain).strip():
        raise RuntimeError("回答为空")
    for marker in ERROR_MARKERS:
        if marker in content or marker in str(plain):
            raise RuntimeError(f"回答报错：{marker}")


def user_loop(n: int, url: str, questions: list[str], deadline: float, timeout_s: float,
              out: list[Sample], lock: threading.Lock) -> None:
    """One simulated user: its own session, asking until the deadline."""
    from gradio_client import Client

    rng = random.Random(n)
    try:
        client = Client(url, verbose=False)
    except Exception as e:  # a user that cannot even connect counts as one failed request
        with lock:
            out.append(Sample(n, "", time.monotonic(), end=time.monotonic(), error=f"连接失败：{e}"))
        return
    while time.monotonic() < deadline:
        sample = Sample(n, rng.choice(questions), time.monotonic())
        try:
            ask_once(client, sample.question, timeout_s, sample)
        except Exception as e:
            sample.end = sample.end or time.monotonic()
            sample.error = f"{type(e).__name__}: {e}"[:300]
        with lock:
            out.append(sample)
        time.sleep(rng.uniform(0.0, 0.2))  # a little think time so users drift apart
    try:
        client.close()
    except Exception:
        pass


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize(samples: list[Sample], memory: Memory, args: argparse.Namespace, wall_s: float,
              idle_rss: int | None) -> dict:
    """The run's figures as a dict."""
    ok = [s for s in samples if s.error is None and s.end is not None]
    latency = [s.end - s.start for s in ok]
    first = [s.first - s.start for s in ok if s.first is not None]
    rss = [v for _, v in memory.samples]
    errors: dict[str, int] = {}
    for s in samples:
        if s.error:
            errors[s.error] = errors.get(s.error, 0) + 1
    mb = 1024 * 1024
    return {
        "users": args.users,
        "duration_s": args.duration,
        "wall_s": round(wall_s, 1),
        "requests": len(samples),
        "ok": len(ok),
        "errors": len(samples) - len(ok),
        "error_rate": round((len(samples) - len(ok)) / len(samples), 4) if samples else 1.0,
        "throughput_rps": round(len(ok) / wall_s, 2) if wall_s else 0.0,
        "latency_s": {
            "p50": round(percentile(latency, 50), 2),
            "p95": round(percentile(latency, 95), 2),
            "p99": round(percentile(latency, 99), 2),
            "max": round(max(latency), 2) if latency else 0.0,
            "mean": round(statistics.fmean(latency), 2) if latency else 0.0,
        },
        "first_update_s": {"p50": round(percentile(first, 50), 2), "p95": round(percentile(first, 95), 2)},
        "server_rss_mb": {
            "idle": round(idle_rss / mb) if idle_rss else None,
            "peak": round(max(rss) / mb) if rss else None,
            "end": round(rss[-1] / mb) if rss else None,
        },
        "ask_queued": getattr(args, "ask_queued", None),
        "error_kinds": errors,
        "questions": len({s.question for s in samples}),
    }


def ask_is_queued(url: str) -> bool | None:
    """Whether the app's /config puts the chat endpoint through the Gradio queue (None: unknown)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/config", timeout=10) as r:
            config = json.load(r)
    except (OSError, ValueError):
        return None
    for dep in config.get("dependencies", []):
        if dep.get("api_name") == "chat":
            return bool(dep.get("queue"))
    return None


def machine() -> str:
    """A one-line description of this machine and its load."""
    import psutil

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.machine()}，{os.cpu_count()} 个 CPU 核，内存 {psutil.virtual_memory().total / 2**30:.0f} GiB，"
            f"Python {platform.python_version()}；开始时 1/5/15 分钟平均负载 {load}")


def render(figures: dict, machine_line: str, url: str, started: str) -> str:
    """The LOAD.md section (Chinese, as the other results pages)."""
    lat, first, rss = figures["latency_s"], figures["first_update_s"], figures["server_rss_mb"]
    queued = {
        True: "经 Gradio 队列处理（应用 /config 中 queue=true）",
        False: "未经 Gradio 队列（/config 中 queue=false）",
        None: "是否经 Gradio 队列未能从 /config 读出",
    }[figures.get("ask_queued")]
    flood = figures.get("login_flood")
    lines = [
        FLOOD_START if flood else START,
        "## 错误密码洪水下的问答（eval/load_test.py --login-flood）" if flood
        else "## 并发负载测试（eval/load_test.py）",
        "",
        f"- 时间：{started}；被测地址：{url}（本机回环）",
        f"- 机器：{machine_line}",
        f"- 方式：{figures['users']} 个模拟用户，各自独立会话，连续调用问答接口 `/chat`（与网页相同的流式回答），"
        f"持续 {figures['duration_s']} 秒，到时仍在进行的请求等待其完成；问题取自 eval/qa_dev.jsonl"
        f"（共用到 {figures['questions']} 个不同问题）。",
        "",
        "| 指标 | 数值 |",
        "|---|---|",
        f"| 请求数（成功/失败） | {figures['requests']}（{figures['ok']}/{figures['errors']}） |",
        f"| 错误率 | {figures['error_rate']:.2%} |",
        f"| 吞吐量 | {figures['throughput_rps']} 个回答/秒 |",
        f"| 端到端延迟 p50 / p95 / p99 / 最大 | {lat['p50']} / {lat['p95']} / {lat['p99']} / {lat['max']} 秒 |",
        f"| 首个流式更新 p50 / p95 | {first['p50']} / {first['p95']} 秒 |",
        f"| 服务进程内存 RSS 空闲 / 峰值 / 结束 | {rss['idle']} / {rss['peak']} / {rss['end']} MB |",
        f"| 实际用时 | {figures['wall_s']} 秒 |",
        "",
        "端到端延迟从提交问题算到收到带来源的完整回答，包含排队时间和网页逐段显示回答的节奏。"
        f"问答接口{queued}；kb/web/tabs/chat.py 让它同时最多处理 4 个请求（`concurrency_limit=4`），其余请求在队列中"
        "等待（`demo.queue(max_size=256)`），所以超出处理能力的请求表现为等待变长，而不是报错。",
    ]
    if flood:
        outcomes = "，".join(f"{k} {v}" for k, v in sorted(flood["outcomes"].items()))
        lines += [
            "",
            f"同时另有一个攻击者以每秒 {flood['rate_per_s']} 次提交错误的管理员密码（共 {flood['sent']} 次；"
            f"结果：{outcomes}；登录请求{'经' if flood['queued'] else '不经'} Gradio 队列，应答时间 p50 / p95 "
            f"{flood['answer_s']['p50']} / {flood['answer_s']['p95']} 秒）。上表的问答延迟是在这一洪水之下测得的。",
        ]
    if figures["error_kinds"]:
        lines += ["", "错误类型："] + [f"- {k}：{v} 次" for k, v in sorted(figures["error_kinds"].items())]
    lines.append(FLOOD_END if flood else END)
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace the section of ``path`` this kind of run writes (or add it, creating the file): the one between the
    section's own first line, ``<!-- NAME:start -->``, and ``<!-- NAME:end -->``."""
    start = section.split("\n", 1)[0]
    end = start.replace(":start -->", ":end -->")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = "# 负载测试结果\n\n由 `python -m eval.load_test` 生成；每次运行替换下面的小节。\n\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def start_app(data_dir: Path, port: int, log_path: Path, admin: bool = False) -> subprocess.Popen:
    """Start app.py over ``data_dir`` on ``port`` (its output goes to ``log_path``); ``admin``: with a random
    admin password (so that the 管理 tab and its login exist)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_LLM_")}
    env.update(KB_DATA_DIR=str(data_dir), KB_HOST="127.0.0.1", KB_PORT=str(port))
    if admin:
        env["KB_ADMIN_PASSWORD"] = os.urandom(12).hex()
    log = open(log_path, "w", encoding="utf-8")  # stays open as long as the server runs
    return subprocess.Popen([sys.executable, str(REPO_ROOT / "app.py"), "--port", str(port)], cwd=REPO_ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def run(args: argparse.Namespace) -> int:
    """Run the load test and write the report; exit code 0 when no request failed."""
    figures, machine_line, url, started = measure(args)
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    if not args.no_write:
        write_section(Path(args.out), render(figures, machine_line, url, started))
        print(f"已写入 {args.out}")
    return 0 if figures["errors"] == 0 else 1


def measure(args: argparse.Namespace) -> tuple[dict, str, str, str]:
    """Start (or reach) the app, run the users (and the login flood); the figures, machine line, URL, start."""
    proc: subprocess.Popen | None = None
    url = args.url
    try:
        if url is None:
            port = free_port()
            url = f"http://127.0.0.1:{port}/"
            log_path = Path(args.app_log)
            print(f"启动网页应用：{url}（KB_DATA_DIR={args.data_dir}，日志 {log_path}）", flush=True)
            proc = start_app(Path(args.data_dir), port, log_path, admin=args.login_flood > 0)
        wait_http(url, args.start_timeout, proc)
        from gradio_client import Client

        print("预热：提一个问题，等待索引就绪……", flush=True)
        warm = Sample(-1, FALLBACK_QUESTIONS[0], time.monotonic())
        ask_once(Client(url, verbose=False), warm.question, args.start_timeout, warm)
        args.ask_queued = ask_is_queued(url)
        pid = proc.pid if proc is not None else (args.pid or server_pid_for(url))
        memory = Memory(pid)
        idle_rss = memory.rss()
        questions = load_questions()
        machine_line = machine()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{args.users} 个用户，{args.duration} 秒……", flush=True)

        samples: list[Sample] = []
        lock = threading.Lock()
        stop = threading.Event()
        sampler = threading.Thread(target=memory.sample_until, args=(stop,), daemon=True)
        sampler.start()
        t0 = time.monotonic()
        deadline = t0 + args.duration
        users = [
            threading.Thread(target=user_loop, args=(n, url, questions, deadline, args.timeout, samples, lock),
                             daemon=True)
            for n in range(args.users)
        ]
        flood = None
        if args.login_flood > 0:
            from eval.login_flood import LoginFlood

            flood = LoginFlood(url, args.login_flood)
            users.append(threading.Thread(target=flood.run, args=(deadline,), daemon=True))
        for u in users:
            u.start()
        hard_stop = deadline + args.timeout + 30
        for u in users:
            u.join(max(0.0, hard_stop - time.monotonic()))
        wall = time.monotonic() - t0
        stop.set()
        sampler.join(5)
        with lock:
            done = list(samples)
        stuck = sum(u.is_alive() for u in users)
        done += [Sample(-1, "", t0, end=time.monotonic(), error="用户线程未按时结束") for _ in range(stuck)]
        figures = summarize(done, memory, args, wall, idle_rss)
        if flood is not None:
            figures["login_flood"] = flood.figures()
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return figures, machine_line, url, started


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    return run(parse_args(argv))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options."""
    p = argparse.ArgumentParser(description="网页问答并发负载测试（本机回环）")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="已运行的网页应用地址，如 http://127.0.0.1:7860/")
    where.add_argument("--data-dir", help="KB_DATA_DIR：自行在空闲端口启动 app.py 并在结束时关闭")
    p.add_argument("--users", type=int, default=20, help="并发用户数（默认 20）")
    p.add_argument("--duration", type=float, default=60.0, help="持续秒数（默认 60）")
    p.add_argument("--timeout", type=float, default=120.0, help="单个请求的超时秒数（默认 120）")
    p.add_argument("--start-timeout", type=float, default=900.0, help="等待应用启动与索引就绪的秒数")
    p.add_argument("--pid", type=int, help="服务进程 pid（用于内存统计；默认按端口查找）")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="报告文件（默认 eval/LOAD.md）")
    p.add_argument("--app-log", default="/tmp/kb-load-test-app.log", help="自启动应用的日志文件")
    p.add_argument("--no-write", action="store_true", help="只打印，不写报告")
    p.add_argument("--login-flood", type=float, default=0.0, metavar="RATE",
                   help="同时每秒提交 RATE 次错误的管理员密码（应用须开启管理页；自启动时自动设置密码）")
    args = p.parse_args(argv)
    if args.users < 1 or args.duration <= 0:
        p.error("--users 须至少为 1，--duration 须大于 0")
    return args


if __name__ == "__main__":
    sys.exit(main())
