"""The dashboard's guard: Host allowlist (DNS rebinding) and security headers, with real HTTP and WebSocket
requests on 127.0.0.1 — first through the middleware around a small app, then against ``evfleet dashboard``."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from typer.testing import CliRunner

from evfleet._common.errors import InputError
from evfleet.cli import app
from evfleet.dashboard.guard import (
    DEFAULT_ALLOWED_HOSTS,
    GuardMiddleware,
    content_security_policy,
    host_allowed,
    host_name,
    inline_script_hashes,
    security_headers,
    streamlit_index_html,
)
from evfleet.dashboard.harness import free_port, serve
from evfleet.dashboard.launch import (
    ENV_DASHBOARD_ALLOWED_HOSTS,
    allowed_hosts,
    app_path,
    check_allowed_hosts,
)

runner = CliRunner()


def http_get(port: int, host_header: str, path: str = "/") -> tuple[int, dict[str, str], bytes]:
    """(status, headers in lower case, body) of a GET sent with exactly ``host_header``."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def ws_handshake(port: int, host_header: str, path: str, origin: str | None = None) -> int:
    """Status code of a WebSocket opening handshake (101 = accepted) sent with ``host_header``."""
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host_header}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: streamlit",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b"\r\n", 1)[0].split()[1])


# --- the rules -------------------------------------------------------------------------------------------------


def test_host_names_and_the_allowlist():
    assert host_name("127.0.0.1:8501") == "127.0.0.1" and host_name("[::1]:8501") == "::1"
    assert host_name("LocalHost.") == "localhost" and host_name("depot.example") == "depot.example"
    for bad in (None, "", "a b", "x:notaport", "x:99999", "user@127.0.0.1", "127.0.0.1/x", "h\x00"):
        assert host_name(bad) is None, bad
    allowed = DEFAULT_ALLOWED_HOSTS
    assert host_allowed("127.0.0.1:8501", allowed) and host_allowed("localhost:1", allowed)
    assert host_allowed("[::1]:8501", allowed)
    for bad in ("evil.example:8501", "127.0.0.1.evil.example", "localhost.evil.example", "", None, "evil@localhost"):
        assert not host_allowed(bad, allowed), bad
    assert host_allowed("a.depot.example", ["*.depot.example"]) and not host_allowed(
        "depot.example.evil", ["*.depot.example"]
    )
    assert host_allowed("anything.example", ["*"])


def test_allowlist_from_the_bound_address_the_environment_and_the_option(monkeypatch):
    monkeypatch.delenv(ENV_DASHBOARD_ALLOWED_HOSTS, raising=False)
    assert allowed_hosts("127.0.0.1") == ["127.0.0.1", "localhost", "::1"]
    assert allowed_hosts("0.0.0.0") == ["127.0.0.1", "localhost", "::1"]  # a wildcard bind names no host
    assert allowed_hosts("192.0.2.7")[-1] == "192.0.2.7"
    monkeypatch.setenv(ENV_DASHBOARD_ALLOWED_HOSTS, "Depot.Example, *.fleet.example")
    assert allowed_hosts("127.0.0.1", ["10.0.0.5"])[3:] == ["depot.example", "*.fleet.example", "10.0.0.5"]
    with pytest.raises(InputError, match=r"--allowed-host.*'evil host'"):
        check_allowed_hosts(["evil host"])
    monkeypatch.setenv(ENV_DASHBOARD_ALLOWED_HOSTS, "ok.example,bad/host")
    with pytest.raises(InputError, match=rf"{ENV_DASHBOARD_ALLOWED_HOSTS}.*'bad/host'"):
        allowed_hosts("127.0.0.1")


def test_cli_allowed_host_option(monkeypatch):
    monkeypatch.delenv(ENV_DASHBOARD_ALLOWED_HOSTS, raising=False)
    calls = []
    monkeypatch.setattr("evfleet.dashboard.launch.run_server", lambda *a: calls.append((a, allowed_hosts(a[2]))))
    res = runner.invoke(app, ["dashboard", "--allowed-host", "depot.example", "--allowed-host", "*.fleet.example"])
    assert res.exit_code == 0, res.output
    assert calls[0][0] == (str(app_path()), 8501, "127.0.0.1")
    assert calls[0][1][-2:] == ["depot.example", "*.fleet.example"]
    monkeypatch.delenv(ENV_DASHBOARD_ALLOWED_HOSTS, raising=False)
    res = runner.invoke(app, ["dashboard", "--allowed-host", "bad host"])
    assert res.exit_code == 2 and "--allowed-host" in res.output and "bad host" in res.output and len(calls) == 1


def test_content_security_policy_allows_the_inline_script_by_hash_only():
    html = streamlit_index_html()
    assert html is not None
    csp = content_security_policy(html)
    hashes = inline_script_hashes(html)
    assert hashes and all(h in csp for h in hashes)
    script = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "img-src 'self' data: blob:" in csp and "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
    assert "http:" not in csp and "https:" not in csp and "*" not in csp
    headers = security_headers(html)
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


# --- the middleware with real sockets --------------------------------------------------------------------------


@contextmanager
def guarded_app(allowed: list[str]) -> Iterator[int]:
    """A small Starlette app (one page, one WebSocket) behind the guard, served by uvicorn on 127.0.0.1."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route, WebSocketRoute

    async def page(request):
        return PlainTextResponse("page", headers={"X-Frame-Options": "ALLOWALL"})

    async def stream(ws):
        await ws.accept(subprotocol="streamlit")
        await ws.close()

    inner = Starlette(
        routes=[Route("/", page), WebSocketRoute("/_stcore/stream", stream)],
        middleware=[Middleware(GuardMiddleware, allowed_hosts=allowed, headers=security_headers())],
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(inner, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def test_middleware_refuses_a_foreign_host_and_adds_the_headers():
    with guarded_app(list(DEFAULT_ALLOWED_HOSTS)) as port:
        status, headers, body = http_get(port, f"127.0.0.1:{port}")
        assert status == 200 and body == b"page"
        assert headers["x-frame-options"] == "DENY"  # the app's own value is replaced
        assert (
            headers["x-content-type-options"] == "nosniff"
            and "frame-ancestors 'none'" in headers["content-security-policy"]
        )
        assert http_get(port, f"localhost:{port}")[0] == 200 and http_get(port, f"[::1]:{port}")[0] == 200
        status, headers, body = http_get(port, f"evil.example:{port}")
        assert status == 403 and b"Host not allowed" in body and headers["x-frame-options"] == "DENY"
        assert http_get(port, "")[0] in (400, 403)
        assert ws_handshake(port, f"127.0.0.1:{port}", "/_stcore/stream", f"http://127.0.0.1:{port}") == 101
        assert ws_handshake(port, f"evil.example:{port}", "/_stcore/stream", f"http://evil.example:{port}") == 403


# --- the real dashboard ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_dashboard_refuses_a_rebound_host_and_sends_the_headers():
    with serve(env={ENV_DASHBOARD_ALLOWED_HOSTS: "depot.example"}) as url:
        port = int(url.rsplit(":", 1)[1])
        status, headers, body = http_get(port, f"127.0.0.1:{port}", "/_stcore/health")
        assert status == 200 and body.strip() == b"ok"
        for name, value in security_headers(streamlit_index_html()).items():
            assert headers[name.lower()] == value
        status, headers, body = http_get(port, f"127.0.0.1:{port}", "/")
        assert status == 200 and b"<html" in body.lower() and headers["x-frame-options"] == "DENY"
        assert http_get(port, f"depot.example:{port}", "/_stcore/health")[0] == 200  # the configured name
        for path in ("/", "/_stcore/health", "/_stcore/host-config", "/static/index.html"):
            assert http_get(port, f"evil.example:{port}", path)[0] == 403, path
        stream = "/_stcore/stream"
        assert ws_handshake(port, f"127.0.0.1:{port}", stream, f"http://127.0.0.1:{port}") == 101
        assert ws_handshake(port, f"evil.example:{port}", stream, f"http://evil.example:{port}") == 403
        assert ws_handshake(port, f"evil.example:{port}", stream) == 403
