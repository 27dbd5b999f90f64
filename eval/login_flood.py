"""A flood of wrong admin passwords against the running web app, as a browser would send them.

Used by ``python -m eval.load_test --login-flood 20`` (questions are asked meanwhile). The login event is
found in the app's /config by the 登录 button's elem_id; it is sent the way the page sends it: through the
queue (``/gradio_api/queue/join``) when the event is queued, else as a direct call (``/gradio_api/run/predict``).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter

LOGIN_BUTTON = "admin-login"


def find_login(url: str) -> tuple[int, bool]:
    """The login event's fn index and whether it is queued; LookupError when the app has no admin tab."""
    with urllib.request.urlopen(url.rstrip("/") + "/config", timeout=10) as r:
        config = json.load(r)
    button = next((c["id"] for c in config.get("components", [])
                   if c.get("props", {}).get("elem_id") == LOGIN_BUTTON), None)
    if button is None:
        raise LookupError("网页应用没有管理页（未设置 KB_ADMIN_PASSWORD）")
    for dep in config.get("dependencies", []):
        if any(t and t[0] == button for t in dep.get("targets", [])):
            return int(dep["id"]), bool(dep.get("queue", True))
    raise LookupError("找不到登录事件")


class LoginFlood:
    """Sends wrong passwords at ``rate`` per second until stopped, counting how each was answered."""

    def __init__(self, url: str, rate: float) -> None:
        self.url = url.rstrip("/")
        self.rate = rate
        self.outcomes: Counter[str] = Counter()
        self.latencies: list[float] = []
        self._lock = threading.Lock()
        self.fn_index, self.queued = find_login(self.url)

    def _send(self) -> None:
        t0 = time.monotonic()
        body = {"data": ["wrong-password"], "fn_index": self.fn_index, "session_hash": uuid.uuid4().hex[:10],
                "event_data": None, "trigger_id": None}
        route = "/gradio_api/queue/join" if self.queued else "/gradio_api/run/predict"
        req = urllib.request.Request(self.url + route, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode("utf-8", "replace")
            if "尝试次数过多" in text:
                outcome = "throttled"
            elif "密码错误" in text:
                outcome = "wrong"
            else:
                outcome = "queued" if self.queued else "other"
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            outcome = "queue full" if "Queue is full" in detail else f"HTTP {e.code}"
        except OSError as e:
            outcome = type(e).__name__
        with self._lock:
            self.outcomes[outcome] += 1
            self.latencies.append(time.monotonic() - t0)

    def run(self, deadline: float) -> None:
        """Send at the rate (each try in its own thread, as independent clients would) until ``deadline``."""
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        workers: list[threading.Thread] = []
        while next_at < deadline:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            worker = threading.Thread(target=self._send, daemon=True)
            worker.start()
            workers.append(worker)
            next_at += interval
        for worker in workers:
            worker.join(max(0.0, deadline + 30 - time.monotonic()))

    def figures(self) -> dict:
        """Counts per outcome and the login answer time."""
        from eval.load_test import percentile

        return {"rate_per_s": self.rate, "sent": sum(self.outcomes.values()), "outcomes": dict(self.outcomes),
                "queued": self.queued,
                "answer_s": {"p50": round(percentile(self.latencies, 50), 3),
                             "p95": round(percentile(self.latencies, 95), 3)}}
