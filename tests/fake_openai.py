"""A tiny OpenAI-compatible HTTP server for tests: real HTTP on loopback, scripted completions.

    with FakeOpenAI() as server:
        server.reply("……[1]。")                  # next request gets this completion
        server.reply("……", delay_s=5)            # ... this one only after 5 s (to trigger timeouts)
        server.reply("", status=500)             # ... this one an HTTP 500
        settings.llm_base_url = server.base_url  # http://127.0.0.1:PORT/v1

POST /v1/chat/completions answers each request with the next scripted reply, as one JSON completion
or, when the request has "stream": true, as server-sent events (`data: {chunk}` lines, then
`data: [DONE]`). Requests are recorded in ``requests`` (JSON body) and ``headers``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    """One scripted reply."""

    text: str
    delay_s: float = 0.0  # wait before sending anything
    status: int = 200
    chunk_chars: int = 6  # streaming: characters per SSE chunk
    chunk_delay_s: float = 0.01  # streaming: pause between chunks


class FakeOpenAI:
    """Serve scripted chat completions on 127.0.0.1 at a free port, in a background thread."""

    def __init__(self) -> None:
        self._replies: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (ends in /v1)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def reply(self, text: str, **options: Any) -> None:
        """Queue the completion for the next request (options: see `Scripted`)."""
        with self._lock:
            self._replies.append(Scripted(text, **options))

    def start(self) -> FakeOpenAI:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; delayed replies still pending are abandoned."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Scripted:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self._replies:
                return self._replies.popleft()
        return Scripted("no scripted reply left", status=500)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                scripted = fake._next(body, {k.lower(): v for k, v in self.headers.items()})
                if fake._stopping.wait(scripted.delay_s):
                    return
                try:
                    if scripted.status != 200:
                        error = {"message": scripted.text or "scripted failure", "type": "server_error"}
                        self._send_json(scripted.status, {"error": error})
                    elif body.get("stream"):
                        self._send_stream(body, scripted)
                    else:
                        self._send_json(200, _completion(body, scripted.text))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (e.g. its timeout fired)

            def _send_json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_stream(self, body: dict[str, Any], scripted: Scripted) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                text, step = scripted.text, max(1, scripted.chunk_chars)
                deltas = [{"role": "assistant", "content": ""}]
                deltas += [{"content": text[i : i + step]} for i in range(0, len(text), step)]
                for delta in deltas:
                    self._event(_chunk(body, delta, None))
                    time.sleep(scripted.chunk_delay_s)
                self._event(_chunk(body, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(body: dict[str, Any], delta: dict[str, str], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
