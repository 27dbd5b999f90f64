"""Limits at the web boundary: admin login throttling, gradio's upload and file routes, and bounded exports
(question text cleaning is in test_textclean.py). The HTTP cases run the real gradio app on loopback (the
knowledge base is a stub: these limits sit in front of it)."""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace

from test_textclean import _get, _serve
from test_webui import _ctx, _fn

from kb.web import app as webui
from kb.web.guard import ExportJanitor, LoginThrottle, RateLimit, WebLimits


def test_login_throttle_waits_grow_per_client_and_reset() -> None:
    t = LoginThrottle(WebLimits(login_free_tries=2, login_base_wait_s=1.0, login_max_wait_s=8.0,
                                login_forget_s=100.0))
    assert t.failed("a", now=0.0) == 0.0 and t.wait_s("a", now=0.0) == 0.0
    assert t.failed("a", now=0.0) == 1.0 and t.wait_s("a", now=0.5) == 0.5
    assert t.failed("a", now=1.0) == 2.0 and t.failed("a", now=3.0) == 4.0
    assert [t.failed("a", now=10.0) for _ in range(3)] == [8.0, 8.0, 8.0]  # capped
    assert t.wait_s("b", now=10.0) == 0.0  # another client is not affected
    assert t.wait_s("a", now=200.0) == 0.0 and t.failed("a", now=200.0) == 0.0  # forgotten after a while
    t.failed("a", now=200.0)
    t.succeeded("a")
    assert t.wait_s("a", now=200.0) == 0.0


def test_rate_limit_window() -> None:
    r = RateLimit(2, 10.0, max_clients=2)
    assert [r.allow("a", now=0.0), r.allow("a", now=1.0), r.allow("a", now=2.0)] == [True, True, False]
    assert r.allow("a", now=10.5) and r.allow("b", now=0.0)


def test_wrong_logins_are_refused_at_once_and_throttled(tmp_path: Path) -> None:
    secret = "s3cret-口令"
    ctx = _ctx(tmp_path, secret)
    demo = webui.build_app(ctx)
    do_login = _fn(demo, "do_login")
    attacker = SimpleNamespace(client=SimpleNamespace(host="10.0.0.1"))
    admin = SimpleNamespace(client=SimpleNamespace(host="10.0.0.2"))
    messages = [do_login("wrong", attacker)[-1] for _ in range(ctx.limits.login_free_tries)]
    assert messages[0] == "密码错误，请重试。" and "秒后再试" in messages[-1]
    blocked = do_login(secret, attacker)  # even the right password waits until the delay is over
    assert blocked[0] is False and "尝试次数过多" in blocked[-1]
    assert do_login(secret, admin)[0] is True
    login = next(f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "do_login")
    assert login.queue is False  # outside the shared question queue


def _post_file(url: str, name: str, data: bytes) -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url + "/gradio_api/upload", data=body, method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def test_uploads_refused_without_admin(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    demo, url = _serve(ctx)
    try:
        status, body = _post_file(url, "a.txt", b"x" * 1000)
        assert status == 403 and "未开启上传" in json.loads(body)["error"]
        export = ctx.export_file("义务与期限.csv", "a,b\n")
        assert Path(export).is_relative_to(Path(demo.GRADIO_CACHE))  # served in place, never copied
        status, data = _get(url + "/gradio_api/file=" + export)
        assert status == 200 and data == b"a,b\n"
    finally:
        demo.close()


def test_uploads_bounded_and_never_served_back_with_admin(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, "pw")
    ctx.settings.max_upload_mb = 1
    ctx.limits = WebLimits(upload_per_window=3, upload_max_files=2)
    demo, url = _serve(ctx)
    try:
        status, body = _post_file(url, "a.txt", "正文".encode() * 10)
        assert status == 200, body
        path = json.loads(body)[0]
        assert Path(path).read_bytes() == "正文".encode() * 10
        status, _ = _get(url + "/gradio_api/file=" + path)
        assert status == 404  # an uploaded file is never served back, not even to its uploader
        # Refused from the headers, before a byte of the body is read.
        conn = http.client.HTTPConnection(urllib.parse.urlparse(url).netloc, timeout=30)
        conn.putrequest("POST", "/gradio_api/upload")
        conn.putheader("Content-Type", "multipart/form-data; boundary=x")
        conn.putheader("Content-Length", str(4 * 1024 * 1024))
        conn.endheaders()
        big = conn.getresponse()
        assert big.status == 413 and "上传内容过大" in big.read().decode("utf-8")
        conn.close()
        codes = [_post_file(url, "b.txt", b"y")[0] for _ in range(3)]
        assert codes[-1] == 429 and "上传过于频繁" in _post_file(url, "c.txt", b"z")[1]
    finally:
        demo.close()


def test_export_janitor_bounds_age_and_size(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    now = time.time()
    for i, (age, size) in enumerate([(7200, 10), (100, 400), (50, 400), (10, 400)]):
        sub = folder / f"e{i}"
        sub.mkdir(parents=True)
        f = sub / "x.csv"
        f.write_bytes(b"x" * size)
        os.utime(f, (now - age, now - age))
    janitor = ExportJanitor(folder, WebLimits(export_max_age_s=3600, export_max_bytes=1000))
    left = janitor.sweep(now=now)
    assert sorted(p.name for p in folder.iterdir()) == ["e2", "e3"] and left == 800
