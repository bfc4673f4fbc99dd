"""The dashboard's HTTP guard: a Host allowlist and security headers, as a plain ASGI middleware.

Streamlit (>= 1.50) serves its pages with Starlette/uvicorn; :mod:`evfleet.dashboard.launch` wraps the app in
``st.App(..., middleware=[...])`` (Streamlit's public API for middleware), so every HTTP request and every
WebSocket handshake passes :class:`GuardMiddleware` first:

- a request whose ``Host`` header names a host outside the allowlist (DNS rebinding: a page of
  ``evil.example`` whose name now resolves to 127.0.0.1) is refused — HTTP ``403``, WebSocket closed before the
  handshake completes (uvicorn answers ``403``);
- every HTTP response carries :data:`SECURITY_HEADERS` (frames refused, no MIME sniffing, no referrer sent to
  other sites, a Content-Security-Policy that lets Streamlit's own page work and blocks every remote fetch).

No Streamlit import here (the module is used by the tests without starting a server).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_ALLOWED_HOSTS",
    "GuardMiddleware",
    "content_security_policy",
    "host_allowed",
    "host_name",
    "inline_script_hashes",
    "security_headers",
]

#: Host names accepted in the ``Host`` header when nothing else is configured (this machine only).
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def host_name(host_header: str | None) -> str | None:
    """The host name of a ``Host`` header value (lower case, port and trailing dot removed; IPv6 without
    brackets), or None when the value is missing or malformed."""
    if not host_header or any(c.isspace() or ord(c) < 0x21 for c in host_header):
        return None
    try:
        parts = urlsplit(f"//{host_header}")
        _ = parts.port  # a port that is not a number in 0-65535 raises ValueError
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or parts.path or parts.query or parts.fragment:
        return None
    name = (parts.hostname or "").rstrip(".")
    return name or None


def host_allowed(host_header: str | None, allowed: Iterable[str]) -> bool:
    """True if the ``Host`` header names one of ``allowed`` (exact names; ``*.example.org`` matches its
    sub-domains; ``*`` anything). The port is not compared (the server listens on one port only)."""
    name = host_name(host_header)
    if name is None:
        return False
    for pattern in allowed:
        p = pattern.strip().lower().strip("[]").rstrip(".")
        if p == "*" or p == name or (p.startswith("*.") and name.endswith(p[1:])):
            return True
    return False


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def inline_script_hashes(index_html: str) -> list[str]:
    """CSP source expressions (``'sha256-…'``) of the inline ``<script>`` blocks of a page."""
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"
        for body in _INLINE_SCRIPT.findall(index_html)
    ]


def content_security_policy(index_html: str | None = None) -> str:
    """The dashboard's Content-Security-Policy.

    Scripts only from the server itself (plus the exact inline scripts of Streamlit's ``index.html``, by hash);
    styles from the server and inline (Streamlit and Plotly style elements at run time); images, fonts, media
    and connections (HTTP and the WebSocket) only from the server, ``data:`` and ``blob:``; no plugin, no
    frame, never framed, forms posted only to the server. A remote image named in a text (``![x](http://…)``)
    is therefore never fetched, even where a text were rendered as Markdown.
    """
    hashes = " ".join(inline_script_hashes(index_html)) if index_html else ""
    script = " ".join(filter(None, ["'self'", hashes, "'wasm-unsafe-eval'"]))
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {script}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "media-src 'self' data: blob:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "frame-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def streamlit_index_html() -> str | None:
    """Text of the installed Streamlit's ``static/index.html`` (None if it cannot be found)."""
    import importlib.util

    spec = importlib.util.find_spec("streamlit")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "static" / "index.html"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def security_headers(index_html: str | None = None) -> dict[str, str]:
    """The headers added to every HTTP response of the dashboard."""
    return {
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": content_security_policy(index_html),
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    }


class GuardMiddleware:
    """ASGI middleware: refuse a request whose ``Host`` is not allowed; add ``headers`` to HTTP responses."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], headers: Mapping[str, str]) -> None:
        self.app = app
        self.allowed_hosts = tuple(allowed_hosts)
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        hosts = [v for k, v in scope.get("headers", []) if k == b"host"]
        host = hosts[0].decode("latin-1") if len(hosts) == 1 else None  # two Host headers: refused
        if not host_allowed(host, self.allowed_hosts):
            await self._refuse(kind, receive, send)
            return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        names = {k for k, _ in self.raw_headers}

        async def send_with_headers(message: Message) -> None:
            if message.get("type") == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message["headers"] = kept + self.raw_headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _refuse(self, kind: str, receive: Receive, send: Send) -> None:
        if kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # before accept: uvicorn answers HTTP 403
            return
        body = b"Host not allowed (evfleet dashboard: see --allowed-host)\n"
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    *self.raw_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
