"""Dashboard speed in real headless Chromium: initial display, parameter change, live refresh (default 2,000 EVs).

Run: ``PYTHONPATH=src python benchmarks/bench_dashboard.py [--vehicles 2000] [--repeat 3]``.
Needs /usr/bin/chromium (``make browser``) and playwright (dev extra). Prints wall-clock seconds [s] measured
from ``page.goto`` / the user's action to "script finished, no skeleton, all charts drawn", plus the machine's
load average (these figures depend on it: other processes share the 2 cores).

Targets (issue 5): initial display < 5 s, parameter change < 3 s, live refresh < 2 s at 2,000 vehicles.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import time

from evfleet.dashboard.harness import browser_page, serve, wait_ready


def _timed_load(page, url: str, charts: int) -> float:
    t0 = time.perf_counter()
    page.goto(url)
    wait_ready(page, charts=charts)
    return time.perf_counter() - t0


def _metric(page, label: str) -> str:
    card = page.locator("[data-testid=stMetric]").filter(has=page.get_by_text(label, exact=True)).first
    return card.locator("[data-testid=stMetricValue]").inner_text()


def _parameter_change(page, url: str, vehicles: int) -> float:
    """Move the fleet-size slider one notch (50 vehicles) and wait for new KPIs and redrawn charts."""
    page.goto(f"{url}/?vehicles={vehicles}")
    wait_ready(page, charts=2)
    before = _metric(page, "Peak (kW)")
    slider = page.locator("[data-testid=stSidebar] [data-testid=stSlider] input[type=range]").first
    slider.focus()
    t0 = time.perf_counter()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "b => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => m.innerText.includes('Peak (kW)')"
        " && !m.innerText.includes(b))",
        arg=before,
        timeout=120_000,
    )
    wait_ready(page, charts=2)
    return time.perf_counter() - t0


def _live(page, url: str, vehicles: int, seconds: float) -> dict[str, float]:
    """Turn live mode on and time each visible refresh of the live panel (step counter changes)."""
    page.goto(f"{url}/?vehicles={vehicles}")
    wait_ready(page, charts=2)
    page.locator("[data-testid=stSidebar]").get_by_text("Run live simulation").click()
    page.wait_for_selector("[data-testid=stAlert]:has-text('Simulated clock')", timeout=120_000)
    # record when the step counter text changes (a MutationObserver in the page: no polling bias)
    page.evaluate(
        """() => { window.__ticks = []; let last = '';
        const obs = new MutationObserver(() => {
          const el = [...document.querySelectorAll('[data-testid=stAlert]')]
            .find(e => e.innerText.includes('Simulated clock'));
          if (el && el.innerText !== last) { last = el.innerText; window.__ticks.push([performance.now(), last]); }
        });
        obs.observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
    )
    page.wait_for_timeout(seconds * 1000)
    ticks = page.evaluate("() => window.__ticks")
    steps = [(t, int(re.search(r"(\d+) steps", s).group(1))) for t, s in ticks if re.search(r"(\d+) steps", s)]
    gaps = [(b[0] - a[0]) / 1000 for a, b in itertools.pairwise(steps) if b[1] != a[1]]
    return {
        "updates": len(gaps),
        "steps_advanced": steps[-1][1] - steps[0][1] if steps else 0,
        "refresh_interval_mean_s": statistics.mean(gaps) if gaps else float("nan"),
        "refresh_interval_max_s": max(gaps) if gaps else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--live-seconds", type=float, default=15.0)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    n = args.vehicles
    out: dict[str, object] = {"vehicles": n, "load_average_start": os.getloadavg()}
    with serve() as url:
        with browser_page() as page:
            out["initial_cold_server_s"] = _timed_load(page, f"{url}/?vehicles={n}", 2)
        warm_new, warm_reload, fleet = [], [], []
        for _ in range(args.repeat):
            with browser_page() as page:  # a new browser: nothing cached on the client side
                warm_new.append(_timed_load(page, f"{url}/?vehicles={n}", 2))
                warm_reload.append(_timed_load(page, f"{url}/?vehicles={n}", 2))
                fleet.append(_timed_load(page, f"{url}/fleet?vehicles={n}", 3))
        out["initial_new_browser_s"] = warm_new
        out["initial_reload_s"] = warm_reload
        out["fleet_page_s"] = fleet
        changes = []
        with browser_page() as page:
            for _ in range(args.repeat):
                changes.append(_parameter_change(page, url, n))
        out["parameter_change_s"] = changes
        with browser_page() as page:
            out["live"] = _live(page, url, n, args.live_seconds)
    out["load_average_end"] = os.getloadavg()

    def fmt(xs: object) -> str:
        if isinstance(xs, list):
            return f"median {statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)})"
        return f"{xs:.2f} s" if isinstance(xs, float) else str(xs)

    print(f"evfleet dashboard benchmark, {n} vehicles, headless Chromium (load avg {out['load_average_start']})")
    for key in ("initial_cold_server_s", "initial_new_browser_s", "initial_reload_s", "fleet_page_s",
                "parameter_change_s"):  # fmt: skip
        print(f"  {key:24s} {fmt(out[key])}")
    live = out["live"]
    print(
        f"  live: {live['updates']} refreshes in {args.live_seconds:.0f} s, {live['steps_advanced']} steps; "
        f"interval mean {live['refresh_interval_mean_s']:.2f} s, max {live['refresh_interval_max_s']:.2f} s"
    )
    print(f"  load average at the end {out['load_average_end']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
