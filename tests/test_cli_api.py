"""The `kb` command as a Unix tool, run as a real subprocess: batches with bad lines, exit codes, UTF-8 output."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PERMIT = "pollutant-discharge-permit-regs-2021"
STRAW = "秸秆收集利用率要在哪年达到多少？"
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def kb(*args: str) -> list[str]:
    """The `kb` command line run by this interpreter."""
    return [sys.executable, "-m", "kb.cli", *args]


def env_for(settings, **extra: str) -> dict[str, str]:
    """A `kb` subprocess environment over ``settings`` (no LLM, embedded Chroma)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(settings.data_dir), KB_CORPUS_DIR=str(settings.corpus_dir), **extra)
    return env


def strict_json(line: str) -> dict:
    """A JSON line parsed the strict way (NaN and Infinity are not JSON)."""
    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(line, parse_constant=refuse)


DEEP = "[" * 100_000 + "]" * 100_000
BATCH_LINES: list[bytes] = [
    b'\xef\xbb\xbf{"id": "a", "q": "' + STRAW.encode() + b'"}',  # a BOM at the start of the file
    b'{"id": "b", "q": "unterminated',
    b"[1, 2]",
    b'"just a string"',
    b'{"id": NaN, "q": "x"}',
    b'{"id": "deep", "q": ' + DEEP.encode() + b"}",
    # a lone surrogate, ESC and BEL inside the question: removed, the question still answered
    b'{"id": 7, "q": "\\u79f8\\u79c6\\ud800\\u001b\\u0007\\u6536\\u96c6\\u5229\\u7528\\u7387\\u8981\\u5728'
    b'\\u54ea\\u5e74\\u8fbe\\u5230\\u591a\\u5c11\\uff1f"}',
    b"",  # a blank line is skipped
    b'{"id": 1e999, "q": "x"}',
    b'{"q": "   "}',
    b'\xff\xfe{"q": "x"}',
    b'{"id": "z", "question": "\xe7\x8e\xaf\xe5\xa2\x83\xe4\xbf\x9d\xe6\x8a\xa4\xe7\xa8\x8e\xe7\x9a\x84\xe7\xba\xb3'
    b'\xe7\xa8\x8e\xe4\xba\xba\xe6\x98\xaf\xe8\xb0\x81\xef\xbc\x9f"}',
]
# (id, line, error substring or None for an answer) per non-blank line, in order
EXPECTED = [
    ("a", 1, None), (2, 2, "不是有效的 JSON（第 "), (3, 3, "应为 JSON 对象"), (4, 4, "而不是字符串"),
    (5, 5, "NaN"), (6, 6, "嵌套过深"), (7, 7, None), (None, 9, "非有限"), (10, 10, "问题为空"),
    (11, 11, "UTF-8"), ("z", 12, None),
]


def test_batch_from_stdin_answers_every_line_in_order(built_settings, tmp_path: Path) -> None:
    """`--batch -` as JSON, a batch file as text, and unknown --doc / --kind, in parallel (each loads the model)."""
    data = b"\n".join(BATCH_LINES) + b"\n"
    batch_file = tmp_path / "batch.jsonl"
    batch_file.write_bytes(data)
    env = env_for(built_settings)
    procs = {
        "json": subprocess.Popen(kb("ask", "--batch", "-", "--json"), cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "text": subprocess.Popen(kb("ask", "--batch", str(batch_file), "-o", str(tmp_path / "answers.txt")),
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "doc": subprocess.Popen(kb("ask", STRAW, "--doc", "no-such-doc", "--doc", PERMIT), cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "kind": subprocess.Popen(kb("ask", STRAW, "--kind", "laws"), cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE),
    }
    out = {name: p.communicate(data if name == "json" else None, timeout=900) for name, p in procs.items()}
    codes = {name: p.returncode for name, p in procs.items()}

    stdout, stderr = out["json"]
    assert codes["json"] == 1, stderr.decode("utf-8", "replace")[-3000:]
    assert b"Traceback" not in stderr
    rows = [strict_json(line) for line in stdout.decode("utf-8").splitlines()]
    assert [(r["id"], r["line"]) for r in rows] == [(i, n) for i, n, _ in EXPECTED]
    for row, (_, _, error) in zip(rows, EXPECTED, strict=True):
        if error is None:
            assert "error" not in row and not row["abstained"], row
        else:
            assert set(row) == {"id", "line", "error"} and error in row["error"], row
    assert "90%" in rows[0]["answer"] and "90%" in rows[6]["answer"]
    assert rows[6]["question"] == "秸秆收集利用率要在哪年达到多少？"
    assert "纳税人" in rows[-1]["answer"]
    assert "8 行出错" in stderr.decode("utf-8")

    assert codes["text"] == 1 and out["text"][0] == b""
    text = (tmp_path / "answers.txt").read_bytes().decode("utf-8")
    assert not RAW_CONTROL.search(text.replace("\n", "")), "raw control characters in text output"
    assert text.count("\n## ") + text.startswith("## ") == len(EXPECTED)
    assert "## a. " + STRAW in text and "## 7. 秸秆收集利用率" in text and "错误：第 2 行" in text

    for name, needle in (("doc", PERMIT), ("kind", "regulation")):
        stdout, stderr = out[name]
        message = stderr.decode("utf-8")
        assert codes[name] == 2 and stdout == b"", message[-2000:]
        assert "参数错误" in message and needle in message and "Traceback" not in message
    assert "no-such-doc" in out["doc"][1].decode() and "laws" in out["kind"][1].decode()


def test_cheap_refusals_exit_2_before_loading_anything(built_settings, tmp_path: Path) -> None:
    env = env_for(built_settings)
    version = subprocess.run(kb("--version"), cwd=ROOT, env=env, capture_output=True, text=True)
    from kb import __version__

    assert version.returncode == 0 and version.stdout.strip() == f"kb (xjenv-kb) {__version__}"
    for args, needle in (
        (("ask", ""), "问题不能为空"),
        (("ask", "\x1b\x07 \t"), "问题不能为空"),
        (("ask",), "请提供问题"),
        (("ask", "--batch", str(tmp_path / "missing.jsonl")), "无法读取批量问题文件"),
        (("ask", "--batch", str(tmp_path)), "无法读取批量问题文件"),
        (("obligations", "--doc", "no-such-doc"), PERMIT),
        (("obligations", "--domain", "不存在的领域"), "大气"),
        (("obligations", "--due-before", "2017/12/31"), "YYYY-MM-DD"),
        (("quiz", "--domain", "不存在的领域"), "大气"),
        (("quiz", "--doc", "no-such-doc"), "env-protection-law-2014"),
    ):
        done = subprocess.run(kb(*args), cwd=ROOT, env=env, capture_output=True, timeout=120)
        err = done.stderr.decode("utf-8")
        assert done.returncode == 2 and needle in err and "Traceback" not in err, (args, err[-2000:])
        assert done.stdout == b"", args


@pytest.mark.parametrize("locale_encoding", ["gbk", "ascii"])
def test_exports_are_utf8_whatever_the_locale(built_settings, tmp_path: Path, locale_encoding: str) -> None:
    """With a GBK or ASCII stdout, CSV keeps its BOM and ICS / JSON / tables stay UTF-8, on stdout and with -o."""
    env = env_for(built_settings, PYTHONIOENCODING=locale_encoding)
    csv_file = tmp_path / "子目录" / "义务.csv"

    def run(*args: str) -> bytes:
        done = subprocess.run(kb(*args), cwd=ROOT, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, (args, done.stderr.decode("utf-8", "replace")[-2000:])
        return done.stdout

    assert run("obligations", "--year", "2017", "--format", "csv", "-o", str(csv_file)) == b""
    data = csv_file.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and "黑臭水体" in data.decode("utf-8")
    stdout_csv = run("obligations", "--year", "2017", "--format", "csv")
    assert stdout_csv == data
    assert data.decode("utf-8").splitlines()[0].startswith("\ufeff记录编号,文件编号,文件,")  # Chinese headers for Excel
    raw_csv = run("obligations", "--year", "2017", "--format", "csv", "--columns", "raw").decode("utf-8")
    assert raw_csv.startswith("\ufeffob_id,doc_id,title,")
    assert raw_csv.splitlines()[1:] == data.decode("utf-8").splitlines()[1:]
    ics = run("obligations", "--year", "2017", "--format", "ics").decode("utf-8")
    assert "X-WR-CALNAME:环境保护义务与期限" in ics
    table = run("obligations", "--year", "2017").decode("utf-8")
    assert table.startswith("期限") and not RAW_CONTROL.search(table.replace("\n", ""))
    quiz_csv = tmp_path / "quiz.csv"
    assert run("quiz", "--n", "3", "--seed", "2", "--format", "csv", "-o", str(quiz_csv)) == b""
    assert quiz_csv.read_bytes().startswith("\ufeff题号,题型,考点类型,题干,".encode())
    raw_quiz = run("quiz", "--n", "3", "--seed", "2", "--format", "csv", "--columns", "raw").decode("utf-8")
    assert raw_quiz.startswith("\ufeffid,kind,fact_type,stem,")
    quiz_json = json.loads(run("quiz", "--n", "3", "--seed", "2", "--format", "json").decode("utf-8"))
    assert len(quiz_json) == 3 and all(item["stem"] for item in quiz_json)


def test_busy_port_names_kb_port_and_prints_no_url(built_settings) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(kb("serve", "--port", str(port)), cwd=ROOT, env=env_for(built_settings),
                              capture_output=True, timeout=300)
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert done.returncode == 1 and "KB_PORT" in err and "--port" in err and str(port) in err
    assert "http://" not in out + err and "GRADIO_SERVER_PORT" not in out + err and "Traceback" not in err
