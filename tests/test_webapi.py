"""The JSON web API of the running app (tests/browser.py's app_server), called with the real gradio_client and
with curl, compared with the CLI's JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PERMIT = "pollutant-discharge-permit-regs-2021"
QUESTION = "排污许可证有效期多长？"


@pytest.fixture(scope="module")
def client(app_server):
    """A gradio_client session on the app."""
    gradio_client = pytest.importorskip("gradio_client")
    c = gradio_client.Client(app_server.url, verbose=False)
    yield c
    c.close()


def _cli_json(app_server, *args: str) -> object:
    """`kb … --format json` over the app's own index (the register needs no model: this is quick)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(KB_DATA_DIR=str(app_server.data_dir))
    done = subprocess.run([sys.executable, "-m", "kb.cli", *args, "--format", "json"], cwd=ROOT, env=env,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    return json.loads(done.stdout.decode("utf-8"))


def test_endpoints_are_documented_with_named_parameters(client) -> None:
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/ask", "/obligations", "/quiz", "/documents"} <= set(api)
    names = {ep: [p["parameter_name"] for p in api[ep]["parameters"]] for ep in ("/ask", "/obligations", "/quiz")}
    assert names == {
        "/ask": ["question", "doc_ids", "kinds", "k"],
        "/obligations": ["year", "due_before", "party", "doc", "domain", "text", "binding"],
        "/quiz": ["n", "seed", "kinds", "doc", "domain"],
    }
    for ep, spec in api.items():  # no UI endpoint with anonymous parameters is left in the documented API
        assert all(not p["parameter_name"].startswith("parameter_") for p in spec["parameters"]), ep


def test_ask_returns_the_answer_object(client) -> None:
    docs = client.predict(api_name="/documents")
    assert PERMIT in {d["doc_id"] for d in docs}
    ans = client.predict(question=QUESTION, doc_ids=[PERMIT], api_name="/ask")
    assert set(ans) >= {"id", "question", "answer", "abstained", "route", "citations", "timings_ms"}
    assert not ans["abstained"] and "5年" in ans["answer"]
    assert {c["doc_id"] for c in ans["citations"]} == {PERMIT}
    kinds = {d["doc_id"]: d["kind"] for d in docs}
    laws = client.predict(question=QUESTION, kinds=["law"], k=3, api_name="/ask")
    assert 0 < len(laws["citations"]) <= 3 and {kinds[c["doc_id"]] for c in laws["citations"]} == {"law"}


def test_bad_filters_are_refused_with_the_valid_values(client) -> None:
    from gradio_client.exceptions import AppError

    cases = [
        ({"question": QUESTION, "doc_ids": ["no-such-doc"], "api_name": "/ask"}, PERMIT),
        ({"question": QUESTION, "kinds": ["<b>laws</b>"], "api_name": "/ask"}, "regulation"),
        ({"question": "  \u0000 ", "api_name": "/ask"}, "问题不能为空"),
        ({"question": QUESTION, "k": 0, "api_name": "/ask"}, "k应在 1 到 20 之间"),
        ({"year": 2017, "domain": "不存在", "api_name": "/obligations"}, "大气"),
        ({"doc": "no-such-doc", "api_name": "/obligations"}, PERMIT),
        ({"due_before": "2017/12/31", "api_name": "/obligations"}, "YYYY-MM-DD"),
        ({"kinds": ["essay"], "api_name": "/quiz"}, "mcq"),
        ({"n": 0, "api_name": "/quiz"}, "题数"),
    ]
    for kwargs, needle in cases:
        with pytest.raises(AppError) as e:
            client.predict(**kwargs)
        message = str(e.value)
        assert needle in message and "Traceback" not in message, (kwargs, message)
        assert "<b>" not in message  # the caller's text comes back escaped


def test_obligations_and_quiz_equal_the_cli_json(client, app_server) -> None:
    """The year 2017 that the old UI endpoint refused, and a seeded quiz, equal the CLI's output exactly."""
    assert client.predict(year=2017, api_name="/obligations") == _cli_json(app_server, "obligations", "--year",
                                                                            "2017")
    water = client.predict(due_before="2018-12-31", domain="水", api_name="/obligations")
    assert water == _cli_json(app_server, "obligations", "--due-before", "2018-12-31", "--domain", "水")
    quiz = client.predict(n=5, seed=3, kinds=["mcq", "blank"], api_name="/quiz")
    assert quiz == _cli_json(app_server, "quiz", "--n", "5", "--seed", "3", "--kind", "mcq", "--kind", "blank")
    assert len(quiz) == 5 and {q["kind"] for q in quiz} == {"mcq", "blank"}


def test_chat_scope_accepts_a_real_document_through_the_api(client) -> None:
    """The chat's document dropdown no longer rejects real ids sent through the API (its choices fill at page load)."""
    def last_message(doc_id: str) -> str:
        history = client.predict(QUESTION, [], doc_id, api_name="/chat")[0]
        return json.dumps(history[-1]["content"], ensure_ascii=False)

    answered = last_message(PERMIT)
    assert "有效期为5年" in answered and "排污许可管理条例" in answered
    refused = last_message("no-such-doc")
    assert "检索范围有误" in refused and PERMIT in refused


def test_curl_example_of_the_readme(app_server) -> None:
    """The README's two curl calls, run as written (with this app's URL)."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("With curl", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    script = block.replace("http://127.0.0.1:7860", app_server.url)
    done = subprocess.run(["bash", "-c", script], capture_output=True, timeout=300)
    out = done.stdout.decode("utf-8")
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert "event: complete" in out, out[-2000:]
    data = out.split("event: complete", 1)[1].split("data: ", 1)[1].strip()
    (ans,) = json.loads(data)
    assert not ans["abstained"] and {c["doc_id"] for c in ans["citations"]} == {PERMIT} and "5年" in ans["answer"]
