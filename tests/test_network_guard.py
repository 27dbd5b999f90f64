"""The session-wide network guard (tests/conftest.py) blocks outbound connections and allows loopback."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import OutboundConnectionBlocked


@pytest.mark.parametrize(
    "address",
    [("203.0.113.7", 80), ("8.8.8.8", 53), ("example.com", 443), ("::ffff:93.184.216.34", 80)],
)
def test_create_connection_to_the_outside_is_blocked(address: tuple[str, int]) -> None:
    with pytest.raises(OutboundConnectionBlocked, match="network guard"):
        socket.create_connection(address, timeout=2)


def test_raw_socket_connect_and_connect_ex_are_blocked() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        with pytest.raises(OutboundConnectionBlocked):
            s.connect(("198.51.100.1", 443))
        with pytest.raises(OutboundConnectionBlocked):
            s.connect_ex(("198.51.100.1", 443))
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s, pytest.raises(OutboundConnectionBlocked):
        s.connect(("2001:db8::1", 53, 0, 0))


def test_http_client_to_the_outside_fails() -> None:
    with pytest.raises((urllib.error.URLError, OSError)) as info:
        urllib.request.urlopen("http://example.com/", timeout=2)
    reason = getattr(info.value, "reason", info.value)
    assert isinstance(reason, OutboundConnectionBlocked)


def test_loopback_and_unix_sockets_still_work(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def echo() -> None:
            conn, _ = server.accept()
            with conn:
                conn.sendall(conn.recv(16))

        t = threading.Thread(target=echo, daemon=True)
        t.start()
        with socket.create_connection(("localhost", port), timeout=5) as c:
            c.sendall(b"ping")
            assert c.recv(16) == b"ping"
        t.join(5)

    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            assert c.connect_ex(path) == 0
