"""The dashboard works in headless Chromium under its Content-Security-Policy: every page draws, and the
browser reports no policy violation."""

from __future__ import annotations

from pathlib import Path

import pytest

from evfleet.dashboard.harness import CHROMIUM, browser_page, serve, wait_ready

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (install it with `make browser`)"),
]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_every_page_works_under_the_content_security_policy():
    with serve() as url, browser_page(1500, 1000) as page:
        page.add_init_script(RECORD_VIOLATIONS)
        console = []
        page.on("console", lambda m: console.append(m.text))
        headers = {}
        page.on("response", lambda r: headers.update(r.headers) if r.url.rstrip("/") == url else None)
        page.goto(url)
        wait_ready(page, charts=2)
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert page.evaluate("() => window.__csp") == []
        for name in ("fleet", "strategies", "grid_quality", "economics", "scenario"):
            page.goto(f"{url}/{name}")
            wait_ready(page, charts=0)
            page.wait_for_timeout(800)
            assert page.evaluate("() => window.__csp") == [], name
        assert not [m for m in console if "Content Security Policy" in m]
