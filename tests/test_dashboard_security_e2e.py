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


def test_an_uploaded_scenario_with_markdown_names_fetches_nothing(tmp_path):
    import json

    from evfleet.inputs.generate import generate_scenario

    d = json.loads(generate_scenario(vehicles=60, seed=3, start="2026-06-01").to_json())
    d["name"] = "![x](http://host.example/a.png) **bold**"
    d["vehicles"]["model"] = ["![m](http://host.example/m.png)"] * 60
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    with serve() as url, browser_page(1500, 1000) as page:
        page.add_init_script(RECORD_VIOLATIONS)
        requested = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(f"{url}/scenario")
        wait_ready(page, charts=0)
        page.get_by_role("tab", name="Upload").click()
        # the scenario uploader (the tariff editor on the first tab has its own, earlier in the page)
        uploader = page.locator("[data-testid=stFileUploader]").filter(has_text="Scenario file (JSON")
        uploader.locator("input[type=file]").set_input_files(str(path))
        page.wait_for_function(
            "() => document.body.innerText.includes('![x](http://host.example/a.png) **bold**')", timeout=60_000
        )
        page.locator("[data-testid=stSidebarNav] a[href$='/fleet']").first.click()  # same session
        page.wait_for_function(
            "() => document.body.innerText.includes('![m](http://host.example/m.png)')", timeout=60_000
        )
        assert not [u for u in requested if "host.example" in u]
        assert page.locator("img[src*='host.example']").count() == 0
        assert page.locator("strong", has_text="bold").count() == 0
