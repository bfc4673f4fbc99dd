"""End-to-end tests in real headless Chromium (Debian ``chromium`` driven by Playwright) against
``evfleet dashboard`` started as a user would."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from evfleet.dashboard.harness import CHROMIUM, browser_page, serve, wait_ready
from evfleet.dashboard.i18n import strategy_label
from evfleet.strategies import REGISTRY
from french_check import english_in

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
    """The value of the card whose label starts with ``label`` (labels carry their unit: "Net cost (MAD)")."""
    card = page.locator("[data-testid=stMetric]").filter(has=page.get_by_text(re.compile("^" + re.escape(label)))).first
    return card.locator("[data-testid=stMetricValue]").inner_text()


def test_overview_loads_with_charts_drawn(url, page):
    page.goto(url)
    wait_ready(page, charts=2)
    titles = [t.text_content() for t in page.locator("[data-testid=stPlotlyChart] .gtitle").all()]
    assert any("Site load curve" in t for t in titles)
    assert page.locator("[data-testid=stPlotlyChart] .js-plotly-plot .scatterlayer .trace").count() >= 4
    assert re.fullmatch(r"[\d,.]+", metric_value(page, "Peak (kW)"))
    assert page.locator("[data-testid=stMetric]").count() >= 16


def test_changing_the_fleet_size_changes_the_kpis(url, page):
    page.goto(url)
    wait_ready(page, charts=2)
    before = metric_value(page, "Peak (kW)")
    slider = page.locator("[data-testid=stSidebar] [data-testid=stSlider] input[type=range]").first
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")  # +4 x 50 vehicles
    page.wait_for_function(
        "b => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => m.innerText.includes('Peak (kW)')"
        " && !m.innerText.includes(b))",
        arg=before,
        timeout=60_000,
    )
    wait_ready(page, charts=2)
    assert metric_value(page, "Peak (kW)") != before


@pytest.mark.skipif(len(REGISTRY) < 2, reason="needs a second registered strategy (strategies branch not merged)")
def test_changing_the_strategy_changes_the_kpis(url, page):
    page.goto(url)
    wait_ready(page, charts=2)
    current = page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.inner_text()
    other = next(n for n in REGISTRY if strategy_label(n) not in current.split("\n"))
    before = metric_value(page, "Net cost")
    page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first.click()
    page.get_by_role("option", name=strategy_label(other), exact=True).click()
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


# --- readable cards and full French (issue 16, item 6) -----------------------------------------------------------

#: every element of a metric card whose text is cut: wider content than its box, or sticking out of the card
TRUNCATED_JS = """() => [...document.querySelectorAll('[data-testid=stMetric]')].flatMap(card => {
  const box = card.getBoundingClientRect();
  return [card, ...card.querySelectorAll('*')]
    .filter(el => el.clientWidth > 0
      && (el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > box.right + 1))
    .map(el => card.innerText.replace(/\\n/g, ' | ')
      + ' [' + el.tagName + ' ' + el.scrollWidth + '>' + el.clientWidth + ']');
})"""
#: the visible text of the page: main area, sidebar, chart texts (SVG), tooltips are checked by AppTest; code
#: (command names quoted in a sentence: `evfleet run`) is not prose
TEXT_JS = """() => {
  const icons = new Set([...document.querySelectorAll('[data-testid=stIconMaterial]')].map(i => i.textContent));
  const codes = [...document.querySelectorAll('[data-testid=stMain] code, [data-testid=stSidebar] code')]
    .map(c => c.textContent).filter(c => c.trim());
  const parts = [];
  for (const sel of ['[data-testid=stMain]', '[data-testid=stSidebar]']) {
    const el = document.querySelector(sel);
    if (el) parts.push(...el.innerText.split('\\n').map(x => codes.reduce((y, c) => y.split(c).join(' '), x)));
  }
  parts.push(...[...document.querySelectorAll('.js-plotly-plot .main-svg text')].map(t => t.textContent));
  return parts.filter(x => x.trim() && !icons.has(x.trim()));  // icon ligatures ("upload") are not words
}"""
#: every input box (not sliders, checkboxes, files) whose text is a number written with a decimal point, and every
#: Streamlit number box (they always show "57.5"): none may be on a French page
DECIMAL_POINT_JS = """() => [
  ...[...document.querySelectorAll('[data-testid=stMain] input, [data-testid=stSidebar] input')]
    .filter(i => !['file', 'range', 'checkbox', 'radio'].includes(i.type)
      && /^\\s*[-\u2212+]?\\d[\\d\\s\u202f]*\\.\\d+\\s*$/.test(i.value))
    .map(i => (i.getAttribute('aria-label') || '?') + ' = ' + i.value),
  ...[...document.querySelectorAll('[data-testid=stNumberInput]')].map(n => 'number box: ' + n.innerText),
  ...[...document.querySelectorAll('[data-testid=stSliderThumbValue], [data-testid=stSliderTickBar]')]
    .filter(el => /\\d\\.\\d/.test(el.innerText))
    .map(el => 'slider: ' + el.innerText.replace(/\\n/g, ' | ')),
]"""
#: every text box whose text or placeholder is wider than the box (measured in the box's font), and every text
#: the page cuts with an ellipsis (buttons, toggles, select values, tags): the reader cannot see it all
CUT_TEXT_JS = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  const inputs = [...document.querySelectorAll('[data-testid=stMain] input, [data-testid=stSidebar] input')]
    .filter(i => ['text', 'search', 'password', 'number', ''].includes(i.type) && i.clientWidth > 0)
    .flatMap(i => {
      const cs = getComputedStyle(i);
      ctx.font = cs.font;
      const room = i.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      const text = i.value || i.placeholder || '';
      return text && ctx.measureText(text).width > room + 1
        ? [(i.getAttribute('aria-label') || '?') + ': "' + text + '" ' + Math.round(ctx.measureText(text).width)
           + '>' + Math.round(room)] : [];
    });
  const ellipsed = [...document.querySelectorAll('[data-testid=stMain] *, [data-testid=stSidebar] *')]
    .filter(el => el.clientWidth > 0 && el.innerText && el.innerText.trim()
      && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).textOverflow === 'ellipsis'
      && !el.closest('[data-testid=stMetric]'))  // cards: TRUNCATED_JS
    .map(el => 'ellipsis: "' + el.innerText + '" ' + el.scrollWidth + '>' + el.clientWidth);
  // chart texts (titles, legends, axis and polar labels) sticking out of their chart: Plotly clips them
  const charts = [...document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')].flatMap(plot => {
    const box = plot.getBoundingClientRect();
    return [...plot.querySelectorAll('.main-svg text, .legend text')]
      .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0
        && (t.getBoundingClientRect().right > box.right + 1 || t.getBoundingClientRect().left < box.left - 1))
      .map(t => 'chart: "' + t.textContent + '" ' + Math.round(t.getBoundingClientRect().right - box.right)
        + ' px out');
  });
  return [...inputs, ...ellipsed, ...charts];
}"""
#: page path -> charts to wait for (every page of the dashboard; live mode is walked after them)
PAGES = {"": 2, "fleet": 2, "plan": 1, "strategies": 0, "grid_quality": 2, "economics": 2, "history": 0,
         "scenario": 0, "depot": 0}  # fmt: skip
SIZES = ((1280, 800), (1400, 1000))
TARIFF_EXPANDER = {"en": "Tariff: view, edit, save", "fr": "Tarif\u202f: consulter, modifier, enregistrer"}
RUN_COMPARISON = {"en": "Run the comparison", "fr": "Lancer la comparaison"}


def _cut_at_sizes(page) -> list[str]:
    """Cut card texts, text boxes and ellipsed labels at each of :data:`SIZES` (the layout reflows without a
    rerun)."""
    found = []
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)
        found += [f"{width}px: {x}" for x in page.evaluate(TRUNCATED_JS) + page.evaluate(CUT_TEXT_JS)]
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    return found


def _open(page, url: str, path: str, lang: str, charts: int) -> None:
    page.goto(f"{url}/{path}?lang={lang}")
    wait_ready(page, charts=charts, timeout_ms=120_000)


def test_truncation_check_sees_a_cut_card(url):
    """The truncation check itself: a card given a label too long for it is reported."""
    with browser_page(1280, 800) as page:
        _open(page, url, "", "en", 2)
        assert page.evaluate(TRUNCATED_JS) == []
        page.evaluate(
            "() => { const l = document.querySelector('[data-testid=stMetricLabel] p');"
            " l.textContent = 'A label far too long to be read on one card at this width'.repeat(2); }"
        )
        assert page.evaluate(TRUNCATED_JS)


def test_cut_text_check_sees_a_cut_box_and_label(url):
    """The text check itself: a placeholder too long for its box and a toggle label too long for its column are
    reported (the page as drawn has neither)."""
    with browser_page(1280, 800) as page:
        _open(page, url, "fleet", "en", 2)
        assert page.evaluate(CUT_TEXT_JS) == []
        long = "'A text far too long to be read in this box at this width '.repeat(3)"
        page.evaluate(f"() => {{ const i = document.querySelector('[data-testid=stMain] input[type=text]');"
                      f" i.placeholder = {long}; }}")  # fmt: skip
        assert any(x.startswith("Search") for x in page.evaluate(CUT_TEXT_JS))
        page.reload()
        wait_ready(page, charts=2, timeout_ms=120_000)
        page.evaluate(f"() => {{ document.querySelector('[data-testid=stMain] [data-testid=stCheckbox] p')"
                      f".textContent = {long}; }}")  # fmt: skip
        assert any(x.startswith("ellipsis") for x in page.evaluate(CUT_TEXT_JS))


def test_cards_readable_and_french_pages_fully_french(url):
    """At 1280x800 and 1400x1000, in English and French, on every page, no metric card, text box (its text or
    placeholder) or label is cut; every French page (with its tabs, the tariff editor, the comparison run, live
    mode) shows no English word (the list in tests/french_check.py), no number box and no slider with a decimal
    point."""
    cut: dict[str, list[str]] = {}
    english: dict[str, dict[str, list[str]]] = {}
    points: dict[str, list[str]] = {}
    with browser_page(*SIZES[0]) as page:
        for lang in ("en", "fr"):
            for path, charts in PAGES.items():
                _open(page, url, path, lang, charts)
                where = f"{path or 'overview'} {lang}"
                found = _cut_at_sizes(page)
                texts = page.evaluate(TEXT_JS)
                decimal_points = page.evaluate(DECIMAL_POINT_JS)
                if lang == "en" and path in ("economics", "strategies"):
                    assert decimal_points  # the check sees English number boxes and sliders ("6.00", "0.50")
                if path == "scenario":  # the tariff editor (folded by default), then the other tabs
                    page.get_by_text(TARIFF_EXPANDER[lang]).click()
                    page.wait_for_timeout(300)
                    found += _cut_at_sizes(page)
                    texts += page.evaluate(TEXT_JS)
                    decimal_points += page.evaluate(DECIMAL_POINT_JS)
                    for tab in page.locator("[data-testid=stTab]").all()[1:]:
                        tab.click()
                        page.wait_for_timeout(300)
                        found += _cut_at_sizes(page)
                        texts += page.evaluate(TEXT_JS)
                        decimal_points += page.evaluate(DECIMAL_POINT_JS)
                if path == "strategies":  # the comparison's table, bars and curves
                    page.get_by_role("button", name=RUN_COMPARISON[lang]).click()
                    wait_ready(page, charts=2, timeout_ms=180_000)
                    found += _cut_at_sizes(page)
                    texts += page.evaluate(TEXT_JS)
                if found:
                    cut[where] = found
                if lang == "en":
                    continue
                if decimal_points:
                    points[where] = decimal_points
                if bad := english_in(texts):
                    english[where] = bad
        # live mode, in French: the clock, the live cards, the fleet table's "(en direct)"
        _open(page, url, "", "fr", 2)
        page.locator("[data-testid=stSidebar]").get_by_text("Lancer la simulation en direct").click()
        page.wait_for_selector("[data-testid=stAlert]:has-text('Horloge simulée')", timeout=60_000)
        wait_ready(page, charts=1, timeout_ms=60_000)
        if found := _cut_at_sizes(page):
            cut["overview live fr"] = found
        if bad := english_in(page.evaluate(TEXT_JS)):
            english["overview live fr"] = bad
        # the live fleet table, reached by the sidebar (a new URL would be a new session, live off)
        page.locator("[data-testid=stSidebarNav]").get_by_text("Flotte", exact=True).click()
        page.wait_for_selector("[data-testid=stCaptionContainer]:has-text('(en direct)')", timeout=60_000)
        wait_ready(page, charts=1, timeout_ms=60_000)
        if found := _cut_at_sizes(page):
            cut["fleet live fr"] = found
        if bad := english_in(page.evaluate(TEXT_JS)):
            english["fleet live fr"] = bad
    assert not cut, cut
    assert not english, english
    assert not points, points


#: each table's grid: [scrollable width, visible width] (wider than visible = the reader scrolls sideways)
TABLE_SCROLL_JS = """() => [...document.querySelectorAll('[data-testid=stDataFrame]')].map(df => {
  const s = df.querySelector('.dvn-scroller'); return s ? [s.scrollWidth, s.clientWidth] : null; })"""
REC_COMPUTE = {"en": "Simulate the missing strategies", "fr": "Simuler les stratégies manquantes"}


def test_recommendation_table_fits_without_scrolling_sideways(url):
    """At 1280x800 and 1400x1000, in both languages, the Strategies page's recommendation table (the first table)
    shows every column: its grid is no wider than its box."""
    wide: dict[str, list[int]] = {}
    with browser_page(*SIZES[0]) as page:
        for lang in ("en", "fr"):
            _open(page, url, "strategies", lang, 0)
            button = page.get_by_role("button", name=REC_COMPUTE[lang])
            if button.count():  # the strategies not yet simulated (the first language computes them)
                button.click()
                page.wait_for_timeout(1000)
                wait_ready(page, charts=0, timeout_ms=600_000)
            page.wait_for_selector("[data-testid=stDataFrame] .dvn-scroller", timeout=60_000)
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_timeout(600)
                scroll_w, client_w = page.evaluate(TABLE_SCROLL_JS)[0]
                if scroll_w > client_w + 1:
                    wide[f"{lang} {width}px"] = [scroll_w, client_w]
    assert not wide, wide
