"""End-to-end tests in real headless Chromium (Debian ``chromium`` driven by Playwright) against
``evfleet dashboard`` started as a user would."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from evfleet.dashboard.harness import CHROMIUM, browser_page, serve, wait_ready
from evfleet.strategies import REGISTRY

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (install it with `make browser`)"),
]


@pytest.fixture(scope="module")
def url():
    with serve() as u:
        yield u


@pytest.fixture
def page():
    with browser_page(1500, 1000) as p:
        yield p


def metric_value(page, label: str) -> str:
    card = page.locator("[data-testid=stMetric]").filter(has=page.get_by_text(label, exact=True)).first
    return card.locator("[data-testid=stMetricValue]").inner_text()


def test_overview_loads_with_charts_drawn(url, page):
    page.goto(url)
    wait_ready(page, charts=2)
    titles = [t.text_content() for t in page.locator("[data-testid=stPlotlyChart] .gtitle").all()]
    assert any("Site load curve" in t for t in titles)
    assert page.locator("[data-testid=stPlotlyChart] .js-plotly-plot .scatterlayer .trace").count() >= 4
    assert re.fullmatch(r"[\d,]+ kW", metric_value(page, "Peak import"))
    assert page.locator("[data-testid=stMetric]").count() >= 16


def test_changing_the_fleet_size_changes_the_kpis(url, page):
    page.goto(url)
    wait_ready(page, charts=2)
    before = metric_value(page, "Peak import")
    slider = page.locator("[data-testid=stSidebar] [data-testid=stSlider] input[type=range]").first
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")  # +4 x 50 vehicles
    page.wait_for_function(
        "b => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => m.innerText.includes('Peak import')"
        " && !m.innerText.includes(b))",
        arg=before,
        timeout=60_000,
    )
    wait_ready(page, charts=2)
    assert metric_value(page, "Peak import") != before


@pytest.mark.skipif(len(REGISTRY) < 2, reason="needs a second registered strategy (strategies branch not merged)")
def test_changing_the_strategy_changes_the_kpis(url, page):
    page.goto(url)
    wait_ready(page, charts=2)
    current = page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.inner_text()
    other = next(n for n in REGISTRY if n not in current.split("\n"))
    before = metric_value(page, "Net cost")
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name=other, exact=True).click()
    page.wait_for_function(
        "b => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => m.innerText.includes('Net cost')"
        " && !m.innerText.includes(b))",
        arg=before,
        timeout=120_000,
    )
    assert metric_value(page, "Net cost") != before


def test_live_mode_advances(url, page):
    page.goto(url)
    wait_ready(page, charts=2)
    page.locator("[data-testid=stSidebar]").get_by_text("Run live simulation").click()

    def steps() -> int:
        text = page.locator("[data-testid=stAlert]").filter(has_text="Simulated clock").first.inner_text()
        return int(re.search(r"(\d+) steps", text).group(1))

    page.wait_for_selector("[data-testid=stAlert]:has-text('Simulated clock')", timeout=60_000)
    first = steps()
    deadline = time.monotonic() + 30
    while steps() < first + 2 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert steps() >= first + 2  # x600: one 15-min step every 1.5 s, the fragment redraws every second
    wait_ready(page, charts=1)
