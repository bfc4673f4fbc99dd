"""Screenshots of every dashboard page in headless Chromium, for ``docs/screenshots/``.

Run: ``PYTHONPATH=src python benchmarks/screenshots.py [--out docs/screenshots] [--vehicles 500]``.
Needs /usr/bin/chromium and playwright. The figures on the pictures are whatever the simulation gives today.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evfleet.dashboard.harness import browser_page, full_screenshot, serve, wait_ready

WIDTH = 1600


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/screenshots")
    ap.add_argument("--vehicles", type=int, default=500)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    q = f"?vehicles={args.vehicles}"
    with serve() as url, browser_page(WIDTH, 1000) as page:
        shots = [("overview", "", 2), ("fleet", "fleet", 3), ("grid_quality", "grid_quality", 2),
                 ("economics", "economics", 2), ("scenario", "scenario", 0)]  # fmt: skip
        for name, path, charts in shots:
            page.set_viewport_size({"width": WIDTH, "height": 1000})
            page.goto(f"{url}/{path}{q}")
            wait_ready(page, charts=charts)
            page.wait_for_timeout(800)
            full_screenshot(page, out / f"{name}.png", WIDTH)
            print("wrote", out / f"{name}.png")
        # strategies: run the comparison (offline and online side by side)
        page.set_viewport_size({"width": WIDTH, "height": 1000})
        page.goto(f"{url}/strategies{q}")
        wait_ready(page, charts=0)
        page.get_by_text("Offline optimum and online side by side").click()
        wait_ready(page, charts=0)
        page.get_by_role("button", name="Run the comparison").click()
        wait_ready(page, charts=2, timeout_ms=600_000)
        page.wait_for_timeout(800)
        full_screenshot(page, out / "strategies.png", WIDTH)
        print("wrote", out / "strategies.png")
        # French fleet table
        page.set_viewport_size({"width": WIDTH, "height": 1000})
        page.goto(f"{url}/fleet{q}&lang=fr")
        wait_ready(page, charts=3)
        page.wait_for_timeout(800)
        full_screenshot(page, out / "fleet_fr.png", WIDTH)
        print("wrote", out / "fleet_fr.png")
        # live mode after a few steps
        page.set_viewport_size({"width": WIDTH, "height": 1000})
        page.goto(f"{url}/{q}")
        wait_ready(page, charts=2)
        page.locator("[data-testid=stSidebar]").get_by_text("Run live simulation").click()
        page.wait_for_selector("[data-testid=stAlert]:has-text('Simulated clock')", timeout=60_000)
        page.wait_for_timeout(12_000)
        wait_ready(page, charts=2)
        full_screenshot(page, out / "live.png", WIDTH)
        print("wrote", out / "live.png")


if __name__ == "__main__":
    main()
