"""Dashboard speed in real headless Chromium: first display of every page, first-time control changes, live refresh.

Run: ``PYTHONPATH=src python benchmarks/bench_dashboard.py [--vehicles 500 2000] [--repeat 3] [--think-s 5]``.
Needs /usr/bin/chromium (``make browser``) and playwright (dev extra). Prints wall-clock seconds [s] measured
from ``page.goto`` / the user's action to "script finished, no skeleton, the page's charts drawn", the median of
``--repeat`` rounds, plus the machine's load average (the figures depend on it: other processes share the 2 cores).

Each round starts a NEW server (nothing cached on the server side) and new browsers (nothing cached on the client):
- ``first_visit_after_server_start``: the Overview right after the server answered (includes its warm-up);
- ``page:<name>``: then, after ``--think-s``, the first display of each page, each in its own new browser;
- ``change:<control>``: the first time each control changes (each other strategy in the sidebar, the control mode,
  V2G, the fleet size), after ``--think-s`` seconds on the Overview (a user reading it: the background
  pre-computation runs meanwhile); the control is set back between two changes (that return is not timed); the
  figure is the page drawn, its V2G value card possibly still "…" (its run without V2G is drawn after the rest):
  when it was, the time until that card was filled in is printed beside it, and the next action waits for it;
- ``change:mode=online_after_think``: on a third new server, the control mode switched to online ``--think-s``
  after the Overview's first paint (the first click of that session: what the background had ready by then);
- ``live``: gaps between visible refreshes of the live panel at ×600 over ``--live-seconds`` (and the server's
  refreshes of the panel meanwhile: count, mean and longest wall time, mean CPU time [s]), and whether the
  runner holds its clock once the last viewer has left (step count unchanged ``--idle-check-s`` after closing).
- ``background``: every background pre-computation task of the controls' server (from the same log): lane, start
  and end in seconds after the Overview's first paint, outcome (done / failed / deferred / busy: put back because
  another lane or a page was computing its run), so a reader sees
  whether a click found its run ready.

``--precompute-process 0|1`` and ``--lanes N`` set ``EVFLEET_PRECOMPUTE_PROCESS`` / ``EVFLEET_PRECOMPUTE_LANES``
for the servers (A/B of the worker processes; default: the dashboard's defaults).

Next to each figure: the server's own share, from its script-run log (``EVFLEET_DASHBOARD_TIMING``, see
``evfleet.dashboard.timing``): the script runs that started during the measure, their summed wall time and the
script thread's CPU time [s]; the runs the page computed itself in helper threads while the script waited (their
CPU time [s] and names: e.g. a click whose run the background had not computed yet), and when the action came [s
after the Overview's first paint, to read beside the background timeline]. On a loaded machine the browser's wall
time mostly measures the load; the server's script and page-run CPU times say what the dashboard itself costs.

Targets (issue 16): every page < 5 s, every first-time control change < 3 s, live refreshes <= 2 s apart, live
stepping stops when the last viewer leaves.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from typing import Any

from evfleet.dashboard.harness import browser_page, serve, wait_ready
from evfleet.dashboard.timing import ENV_TIMING, read_background, read_page_runs, read_timings

#: url path -> Plotly charts the page draws on first display (without any click)
PAGES = {
    "overview": 2,
    "fleet": 3,
    "plan": 0,
    "strategies": 0,
    "grid_quality": 2,
    "economics": 1,
    "scenario": 0,
    "history": 0,
    "depot": 0,
}
TARGETS = {"page": 5.0, "change": 3.0, "live_gap": 2.0}
# a script still running when the action comes (the previous measure timed out waiting for it) counts as a run:
# the action's rerun replaces it without the state attribute changing
_OBSERVE = """() => { const app = document.querySelector('[data-testid=stApp]');
  window.__runs = app.getAttribute('data-test-script-state') === 'running' ? 1 : 0;
  new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') window.__runs++; })
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']}); }"""


#: settings of the servers under test (--precompute-process, --lanes)
_SERVER_ENV: dict[str, str] = {}
#: the server's script-run log of the current server (EVFLEET_DASHBOARD_TIMING), and its share of each measure
_TIMING: dict[str, Any] = {"path": None, "server": {}}


def _server_share(label: str, since: float, until: float) -> None:
    """Record the server's script runs that started during a measure: summed wall and CPU time [s] of the script
    thread (the page's own computation included; helper threads' CPU not), and how many runs."""
    path = _TIMING["path"]
    if not path:
        return
    rows = read_timings(path, since, until)
    helpers = read_page_runs(path, since, until)
    painted = _TIMING.get("painted")
    _TIMING["server"][label] = {
        "runs": len(rows),
        "wall_s": sum(r["wall_s"] for r in rows),
        "cpu_s": sum(r["cpu_s"] for r in rows),
        # the runs the page computed itself in helper threads (the script waited for them): their own CPU time
        "page_runs": len(helpers),
        "page_runs_cpu_s": sum(r["cpu_s"] for r in helpers),
        "page_runs_names": sorted({r["page_run"] for r in helpers if r["cpu_s"] > 0.05}),
        "at_s": None if painted is None or since < painted else round(since - painted, 2),
    }


def _timed_load(page: Any, url: str, charts: int, label: str = "") -> float:
    since = time.time()
    t0 = time.perf_counter()
    page.goto(url)
    wait_ready(page, charts=charts, timeout_ms=120_000)
    out = time.perf_counter() - t0
    _server_share(label, since, time.time())
    return out


#: a card still waiting for a run of its own (the Overview's V2G value: "…" until the run without V2G is there)
_PENDING_CARD = (
    """() => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText.trim() === '…')"""
)
#: seconds from an action until no card is pending any more (label -> s), filled in by :func:`_after`
_COMPLETE: dict[str, float] = {}


def _after(page: Any, action: Any, charts: int = 2, label: str = "") -> float:
    """Seconds from ``action()`` to the rerun it causes being drawn. Then waits until no card is pending (the V2G
    value, filled in after the rest of the page) before the next action, and records that time in
    :data:`_COMPLETE` (the next action never comes during those checks)."""
    page.evaluate(_OBSERVE)
    since = time.time()
    t0 = time.perf_counter()
    action()
    page.wait_for_function("() => window.__runs > 0", timeout=120_000)
    wait_ready(page, charts=charts, timeout_ms=120_000)
    out = time.perf_counter() - t0
    _server_share(label, since, time.time())
    if page.evaluate(_PENDING_CARD):
        page.wait_for_function(f"() => !({_PENDING_CARD})()", timeout=180_000)
        wait_ready(page, charts=charts, timeout_ms=120_000)
        _COMPLETE[label] = time.perf_counter() - t0
    return out


def _server_text(label: str) -> str:
    x = _TIMING["server"].get(label)
    if not x:
        return ""
    text = f" (server script: {x['runs']} run(s), wall {x['wall_s']:.2f} s, cpu {x['cpu_s']:.2f} s"
    if x.get("page_runs"):
        names = ", ".join(x.get("page_runs_names") or []) or "cache hits"
        text += f"; computed by the page: {x['page_runs']} run(s), cpu {x['page_runs_cpu_s']:.2f} s: {names}"
    if x.get("at_s") is not None:
        text += f"; at {x['at_s']:.1f} s after the first paint"
    return text + ")"


def _strategy_box(page: Any) -> Any:
    return page.locator("[data-testid=stSidebar] [data-testid=stSelectbox]").first


def _select_option(page: Any, index: int) -> None:
    _strategy_box(page).click()
    page.locator("[role=option]").nth(index).click()


def _options(page: Any) -> tuple[list[str], str]:
    """(option texts of the sidebar's strategy selector, the one shown now)."""
    _strategy_box(page).click()
    names = [o.inner_text().strip() for o in page.locator("[role=option]").all()]
    page.keyboard.press("Escape")
    # the selected option is the combobox input's value (the box's text is only its label: reading that text found
    # no current strategy before 4 Dec 2026, so every strategy was "changed" and none set back, and the later
    # measures, e.g. change:mode=online, ran on the last strategy clicked)
    box = _strategy_box(page).locator("input")
    text = box.first.input_value() if box.count() else _strategy_box(page).inner_text()
    current = next((nm for nm in names if nm == text), "") or next((nm for nm in names if nm in text), "")
    return names, current


def _controls(page: Any, url: str, n: int, think_s: float) -> dict[str, float]:
    page.goto(f"{url}/?vehicles={n}")
    wait_ready(page, charts=2, timeout_ms=120_000)
    _TIMING["painted"] = time.time()
    page.wait_for_timeout(think_s * 1000)
    out: dict[str, float] = {}
    names, current = _options(page)

    def timed(label: str, action: Any) -> None:
        try:
            out[label] = _after(page, action, label=label)
            done = f" (V2G value card filled in after {_COMPLETE[label]:.2f} s)" if label in _COMPLETE else ""
            print(f"    {label} {out[label]:.2f} s{done}{_server_text(label)}", flush=True)
        except Exception as exc:  # a control that could not be driven is reported, not hidden
            print(f"  ({label}: not measured: {type(exc).__name__}: {str(exc).splitlines()[0]})")
            out[label] = float("nan")

    for i, name in enumerate(names):
        if name != current:
            timed(f"change:strategy={name}", lambda i=i: _select_option(page, i))
    if current in names:
        timed("return:strategy", lambda: _select_option(page, names.index(current)))
        out.pop("return:strategy", None)
    sidebar = page.locator("[data-testid=stSidebar]")
    radio = sidebar.locator("[data-testid=stRadio]").first
    timed("change:mode=online", lambda: radio.get_by_text(re.compile(r"^online")).first.click())
    timed("return:mode", lambda: radio.get_by_text(re.compile(r"^offline")).first.click())
    out.pop("return:mode", None)
    toggle = sidebar.locator("[data-testid=stCheckbox] label").first
    timed("change:v2g=off", lambda: toggle.click())
    timed("return:v2g", lambda: toggle.click())
    out.pop("return:v2g", None)
    slider = sidebar.locator("[data-testid=stSlider] input[type=range]").first

    def notch() -> None:
        slider.focus()
        page.keyboard.press("ArrowLeft")

    timed("change:fleet_size-50", notch)
    return out


def _online_after_think(page: Any, url: str, n: int, think_s: float) -> float:
    """Seconds from clicking "online" ``think_s`` after the Overview's first paint to its rerun drawn."""
    page.goto(f"{url}/?vehicles={n}")
    wait_ready(page, charts=2, timeout_ms=120_000)
    _TIMING["painted"] = time.time()
    page.wait_for_timeout(think_s * 1000)
    radio = page.locator("[data-testid=stSidebar] [data-testid=stRadio]").first
    label = "change:mode=online_after_think"
    return _after(page, lambda: radio.get_by_text(re.compile(r"^online")).first.click(), label=label)


def _background_log(server_start: float, since: float) -> list[dict[str, Any]]:
    """The background tasks of the server started at ``server_start``: lane, start and end [s] after ``since``
    (the Overview's first paint), outcome."""
    path = _TIMING["path"]
    rows = read_background(path, server_start) if path else []
    return [{"task": r["background"], "lane": r["lane"], "start_s": round(r["start"] - since, 2),
             "end_s": round(r["start"] + r["wall_s"] - since, 2), "outcome": r["outcome"]} for r in rows]  # fmt: skip


def _live(page: Any, url: str, n: int, seconds: float) -> dict[str, Any]:
    """Turn live mode on and time each visible refresh of the live panel (step counter changes)."""
    page.goto(f"{url}/?vehicles={n}")
    wait_ready(page, charts=2, timeout_ms=120_000)
    page.locator("[data-testid=stSidebar]").get_by_text("Run live simulation").click()
    page.wait_for_selector("[data-testid=stAlert]:has-text('Simulated clock')", timeout=120_000)
    page.evaluate(
        """() => { window.__ticks = []; let last = '';
        const obs = new MutationObserver(() => {
          const el = [...document.querySelectorAll('[data-testid=stAlert]')]
            .find(e => e.innerText.includes('Simulated clock'));
          if (el && el.innerText !== last) { last = el.innerText; window.__ticks.push([performance.now(), last]); }
        });
        obs.observe(document.body, {subtree: true, childList: true, characterData: true}); }"""
    )
    since = time.time()
    page.wait_for_timeout(seconds * 1000)
    ticks = page.evaluate("() => window.__ticks")
    path = _TIMING["path"]  # the server's refreshes of the live panel (fragment runs) in that window
    refresh = [r for r in (read_timings(path, since, time.time()) if path else []) if r["page"] == "overview#live"]
    steps = [(t, int(re.search(r"(\d+) steps", s).group(1))) for t, s in ticks if re.search(r"(\d+) steps", s)]
    gaps = [(b[0] - a[0]) / 1000 for a, b in itertools.pairwise(steps) if b[1] != a[1]]
    return {
        "updates": len(gaps),
        "steps_advanced": steps[-1][1] - steps[0][1] if steps else 0,
        "gap_mean_s": statistics.mean(gaps) if gaps else float("nan"),
        "gap_max_s": max(gaps) if gaps else float("nan"),
        "last_steps": steps[-1][1] if steps else None,
        "server_refreshes": len(refresh),
        "server_refresh_wall_mean_s": statistics.mean(r["wall_s"] for r in refresh) if refresh else float("nan"),
        "server_refresh_wall_max_s": max((r["wall_s"] for r in refresh), default=float("nan")),
        "server_refresh_cpu_mean_s": statistics.mean(r["cpu_s"] for r in refresh) if refresh else float("nan"),
    }


def _steps_now(page: Any) -> int | None:
    text = page.locator("[data-testid=stAlert]:has-text('Simulated clock')").first.inner_text()
    m = re.search(r"(\d+) steps", text)
    return int(m.group(1)) if m else None


def _live_holds_without_viewer(url: str, n: int, live_seconds: float, idle_check_s: float) -> dict[str, Any]:
    with browser_page() as page:
        live = _live(page, url, n, live_seconds)
        left_at = _steps_now(page)
    time.sleep(idle_check_s)  # nobody is watching now
    back_at = None
    with browser_page() as page:  # come back (a new session: turn live on again): where did the clock stand?
        try:
            page.goto(f"{url}/?vehicles={n}")
            wait_ready(page, charts=2, timeout_ms=120_000)
            page.locator("[data-testid=stSidebar]").get_by_text("Run live simulation").click()
            page.wait_for_selector("[data-testid=stAlert]:has-text('Simulated clock')", timeout=120_000)
            back_at = _steps_now(page)
        except Exception as exc:  # reported, not hidden
            print(f"  (live hold check: not measured: {type(exc).__name__})", flush=True)
    # steps done in the idle window beyond the few before the runner noticed (6 s idle rule, 1.5 s per step)
    live["steps_left_at"], live["steps_back_at"] = left_at, back_at
    live["steps_while_nobody_watched"] = None if None in (left_at, back_at) else back_at - left_at
    return live


def _round(n: int, think_s: float, live_seconds: float, idle_check_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    tmp = tempfile.mkdtemp(prefix="evfleet-bench-")  # the live sessions go to a throw-away store
    timing = os.path.join(tmp, "script_runs.jsonl")  # the server's time per script run (evfleet.dashboard.timing)
    env = {"EVFLEET_DB": os.path.join(tmp, "bench.db"), ENV_TIMING: timing, **_SERVER_ENV}
    _TIMING["path"], _TIMING["server"] = timing, {}
    _TIMING.pop("painted", None)
    with serve(timeout_s=180, env=env) as url:
        first = "first_visit_after_server_start"
        with browser_page() as page:  # the first visit after the server started (its warm-up): reported apart
            out[first] = _timed_load(page, f"{url}/?vehicles={n}", 2, first)
            print(f"    first visit after server start {out[first]:.2f} s{_server_text(first)}", flush=True)
            page.wait_for_timeout(think_s * 1000)
        for name, charts in PAGES.items():
            with browser_page() as page:
                label = f"page:{name}"
                out[label] = _timed_load(page, f"{url}/{'' if name == 'overview' else name}?vehicles={n}", charts,
                                         label)  # fmt: skip
                print(f"    {label} {out[label]:.2f} s{_server_text(label)}", flush=True)
    server_start = time.time()
    with serve(timeout_s=180, env=env) as url:  # a new server: the controls change for the first time
        with browser_page() as page:
            out.update(_controls(page, url, n, think_s))
        out["background"] = _background_log(server_start, _TIMING.get("painted", server_start))
        print("    background tasks (s after the first paint: start-end, lane, outcome):", flush=True)
        for b in out["background"]:
            print(f"      {b['task']:45s} {b['start_s']:7.2f}-{b['end_s']:7.2f}  lane {b['lane']}  {b['outcome']}")
        out["live"] = _live_holds_without_viewer(url, n, live_seconds, idle_check_s)
        print(f"    live {out['live']}", flush=True)
    with serve(timeout_s=180, env=env) as url:  # a new server: online is the first click, think-s after the paint
        label = "change:mode=online_after_think"
        try:
            with browser_page() as page:
                out[label] = _online_after_think(page, url, n, think_s)
            print(f"    {label} {out[label]:.2f} s{_server_text(label)}", flush=True)
        except Exception as exc:  # reported, not hidden
            print(f"  ({label}: not measured: {type(exc).__name__}: {str(exc).splitlines()[0]})", flush=True)
            out[label] = float("nan")
    out["server"] = dict(_TIMING["server"])
    out["complete"] = dict(_COMPLETE)
    _COMPLETE.clear()
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, nargs="+", default=[500, 2000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--think-s", type=float, default=5.0)
    ap.add_argument("--live-seconds", type=float, default=15.0)
    ap.add_argument("--idle-check-s", type=float, default=20.0)
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--precompute-process", choices=["0", "1"], help="EVFLEET_PRECOMPUTE_PROCESS of the servers")
    ap.add_argument("--lanes", type=int, help="EVFLEET_PRECOMPUTE_LANES of the servers")
    args = ap.parse_args()
    if args.precompute_process is not None:
        _SERVER_ENV["EVFLEET_PRECOMPUTE_PROCESS"] = args.precompute_process
    if args.lanes is not None:
        _SERVER_ENV["EVFLEET_PRECOMPUTE_LANES"] = str(args.lanes)
    report: dict[str, Any] = {"args": vars(args), "results": {}}
    for n in args.vehicles:
        load0 = os.getloadavg()
        rounds = [_round(n, args.think_s, args.live_seconds, args.idle_check_s) for _ in range(args.repeat)]
        keys = [k for k in rounds[0] if k not in ("live", "server", "background", "complete")]
        summary = {k: [r[k] for r in rounds if k in r] for k in keys}
        lives = [r["live"] for r in rounds]
        servers = [r.get("server", {}) for r in rounds]
        report["results"][str(n)] = {"load_average": [load0, os.getloadavg()], "times_s": summary, "live": lives,
                                     "server_script_s": servers, "background": [r.get("background") for r in rounds],
                                     "server_env": dict(_SERVER_ENV),
                                     "complete_s": [r.get("complete") for r in rounds]}  # fmt: skip
        print(
            f"evfleet dashboard benchmark, {n} vehicles, headless Chromium, median of {args.repeat} "
            f"(load avg {load0[0]:.1f} -> {os.getloadavg()[0]:.1f}; server settings {_SERVER_ENV or 'defaults'})"
        )
        for k, xs in summary.items():
            goal = TARGETS["change" if k.startswith("change:") else "page"]
            xs = [x for x in xs if x == x] or [float("nan")]  # drop rounds where the control could not be driven
            med = statistics.median(xs)
            flag = "ok" if med < goal else f"ABOVE the {goal:g} s goal"
            srv = [sv[k] for sv in servers if k in sv]
            stext = ""
            if srv:
                stext = (f"  | server script median wall {statistics.median(x['wall_s'] for x in srv):.2f} s, "
                         f"cpu {statistics.median(x['cpu_s'] for x in srv):.2f} s")  # fmt: skip
            print(f"  {k:40s} median {med:6.2f} s (min {min(xs):.2f}, max {max(xs):.2f})  {flag}{stext}")
            filled = [r["complete"][k] for r in rounds if k in r.get("complete", {})]
            if filled:
                print(f"  {'':40s} V2G value card filled in: median {statistics.median(filled):6.2f} s")
        gaps = [x["gap_max_s"] for x in lives]
        means = [x["gap_mean_s"] for x in lives]
        idle = [x["steps_while_nobody_watched"] for x in lives]
        print(
            f"  live x600: refresh gap mean {statistics.median(means):.2f} s, longest {max(gaps):.2f} s "
            f"({'ok' if max(gaps) <= TARGETS['live_gap'] else 'ABOVE the 2 s goal'}); steps while nobody watched "
            f"{args.idle_check_s:g} s: {idle}"
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
