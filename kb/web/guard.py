"""Limits at the web boundary that keep one client from stalling the server or filling its disk.

- ``LoginThrottle``: failed admin logins per client, answered at once with a growing wait (nothing sleeps).
- ``UploadGuard``: an ASGI middleware over gradio's own ``/gradio_api/upload`` and ``/gradio_api/file=``
  routes: uploads refused without an admin password, else bounded in size and rate per client; an uploaded
  file is never served back over HTTP.
- ``ExportJanitor``: deletes generated export files by age and keeps their total size under a bound.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebLimits:
    """Every web limit in one place (README, 部署 › 队列与限制)."""

    login_free_tries: int = 3  # wrong passwords a client may enter before it must wait
    login_base_wait_s: float = 2.0  # the first wait; doubles with each further failure
    login_max_wait_s: float = 300.0
    login_forget_s: float = 3600.0  # a client's failures are forgotten this long after the last one
    max_clients: int = 10_000  # clients remembered by the throttles (oldest forgotten first)
    upload_per_window: int = 20  # upload requests a client may send per window (admin instances only)
    upload_window_s: float = 600.0
    upload_max_files: int = 10  # with KB_MAX_UPLOAD_MB, bounds one upload request's size
    export_max_age_s: float = 3600.0
    export_max_bytes: int = 200 * 1024 * 1024
    export_sweep_s: float = 300.0


class LoginThrottle:
    """Failed admin logins per client: after ``login_free_tries`` each failure doubles the wait before the next."""

    def __init__(self, limits: WebLimits = WebLimits()) -> None:
        self.limits = limits
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()  # client -> (count, last failure)
        self._lock = threading.Lock()

    def _wait(self, count: int) -> float:
        over = count - self.limits.login_free_tries
        if over < 0:
            return 0.0
        return min(self.limits.login_max_wait_s, self.limits.login_base_wait_s * 2.0**over)

    def wait_s(self, client: str, now: float | None = None) -> float:
        """Seconds this client must still wait before its next try (0 when it may try now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, last = self._failures.get(client, (0, 0.0))
        if count and now - last > self.limits.login_forget_s:
            return 0.0
        return max(0.0, last + self._wait(count) - now) if count else 0.0

    def failed(self, client: str, now: float | None = None) -> float:
        """Record a wrong password; returns the wait before the next try."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, last = self._failures.pop(client, (0, 0.0))
            if now - last > self.limits.login_forget_s:
                count = 0
            self._failures[client] = (count + 1, now)
            while len(self._failures) > self.limits.max_clients:
                self._failures.popitem(last=False)
        return self._wait(count + 1)

    def succeeded(self, client: str) -> None:
        """Forget a client's failures after a correct password."""
        with self._lock:
            self._failures.pop(client, None)


class RateLimit:
    """At most ``n`` events per client in a sliding window."""

    def __init__(self, n: int, window_s: float, max_clients: int) -> None:
        self.n, self.window_s, self.max_clients = n, window_s, max_clients
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> bool:
        """Count one event for the client; False when it is over the limit (the event is not counted)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._events.pop(client, deque())
            while times and now - times[0] > self.window_s:
                times.popleft()
            ok = len(times) < self.n
            if ok:
                times.append(now)
            self._events[client] = times
            while len(self._events) > self.max_clients:
                self._events.popitem(last=False)
        return ok


def _client(scope: dict) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class UploadGuard:
    """ASGI middleware over gradio's upload and file routes (see the module docstring)."""

    def __init__(self, app, uploads: set[str], enabled: bool, max_file_mb: int,
                 limits: WebLimits = WebLimits()) -> None:
        self.app = app
        self.uploads = uploads  # gradio's Blocks.upload_file_set: the paths of every uploaded file
        self.enabled = enabled
        self.max_request_bytes = max_file_mb * 1024 * 1024 * limits.upload_max_files + 1024 * 1024
        self.rate = RateLimit(limits.upload_per_window, limits.upload_window_s, limits.max_clients)

    async def __call__(self, scope, receive, send) -> None:
        """Refuse or pass one request."""
        if scope.get("type") == "http":
            path, method = scope.get("path", ""), scope.get("method", "GET")
            if path.endswith("/gradio_api/upload") and method == "POST":
                problem = self._upload_problem(scope)
                if problem:
                    log.warning("upload refused (%s) from %s", problem[1], _client(scope))
                    await _refuse(send, *problem)
                    return
            elif "/gradio_api/file=" in path and method in ("GET", "HEAD") and self._is_upload(path):
                await _refuse(send, 404, "文件不存在。")
                return
        await self.app(scope, receive, send)

    def _upload_problem(self, scope: dict) -> tuple[int, str] | None:
        if not self.enabled:
            return 403, "此站点未开启上传。"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_request_bytes):
            return 413, "上传内容过大。"
        if not self.rate.allow(_client(scope)):
            return 429, "上传过于频繁，请稍后再试。"
        return None

    def _is_upload(self, path: str) -> bool:
        target = unquote(path.split("/gradio_api/file=", 1)[1])
        if not target:
            return False
        resolved = os.path.abspath(target)
        return target in self.uploads or resolved in self.uploads or any(
            os.path.abspath(p) == resolved for p in list(self.uploads))


class ExportJanitor:
    """Keeps a folder of generated exports small: files older than the age limit go, then the oldest until
    the total is under the size limit; runs ``sweep`` every ``export_sweep_s`` in a daemon thread."""

    def __init__(self, folder: Path, limits: WebLimits = WebLimits()) -> None:
        self.folder = folder
        self.limits = limits
        self._stop = threading.Event()

    def sweep(self, now: float | None = None) -> int:
        """Delete expired and excess export folders; returns the bytes left."""
        now = time.time() if now is None else now
        entries = []
        for sub in self.folder.iterdir() if self.folder.is_dir() else []:
            files = [p for p in sub.rglob("*") if p.is_file()] if sub.is_dir() else [sub]
            try:
                size = sum(p.stat().st_size for p in files)
                mtime = max((p.stat().st_mtime for p in files), default=sub.stat().st_mtime)
            except OSError:
                continue
            entries.append((mtime, size, sub))
        entries.sort()
        total = sum(size for _, size, _ in entries)
        for mtime, size, sub in entries:
            if now - mtime <= self.limits.export_max_age_s and total <= self.limits.export_max_bytes:
                continue
            if sub.is_dir():
                shutil.rmtree(sub, ignore_errors=True)
            else:
                sub.unlink(missing_ok=True)
            total -= size
        return total

    def start(self) -> threading.Thread:
        """Sweep on a schedule until ``stop``."""

        def loop() -> None:
            while not self._stop.wait(self.limits.export_sweep_s):
                try:
                    self.sweep()
                except OSError:
                    log.warning("export sweep failed", exc_info=True)

        thread = threading.Thread(target=loop, name="kb-export-janitor", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """End the schedule."""
        self._stop.set()
