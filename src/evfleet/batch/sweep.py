"""Scenario sweeps on Dask: one task per point, results in one Parquet table, resumable.

Units: money [MAD], power [kW], energy [kWh], savings [MAD] and [%] of the baseline's net cost, times [s].

Each point is one task (:func:`run_point`) that generates its scenario (or applies overrides to the base file),
runs the strategy, and also runs both baselines, ``uncontrolled`` and ``timer``, on the *same* scenario with the
same options **inside the same task**, so that every row carries its own savings against each baseline and against
the cheaper of the two (:func:`evfleet.analysis.compare.baseline_savings`, the rule ``compare`` uses); nothing is
paired afterwards. Only the KPI
row travels back to the client; per-step traces stay on the worker unless ``traces_dir`` is given, in which case
the worker writes the run's files (``kpis.json, trace.npz, site.csv, vehicles.csv``) under
``traces_dir/<point_id>/`` (a shared file system is then needed on a multi-machine cluster).

Finished rows are appended to ``DIR/points.jsonl`` as they arrive (flushed and fsync'ed), and ``results.parquet`` is
rewritten from them atomically, so Ctrl-C or a crash keeps every finished point and a rerun skips them.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evfleet._common.files import write_parquet_atomic, write_text_atomic
from evfleet._common.version import __version__
from evfleet.analysis.compare import BASELINE, BASELINES, baseline_savings
from evfleet.analysis.kpis import compute_kpis
from evfleet.analysis.levers import nothing_to_do
from evfleet.analysis.sweep_summary import UNCONTROLLED_COLUMNS, cost_status, summary_frame
from evfleet.batch.cluster import quiet_shutdown_logs
from evfleet.batch.spec import (
    RUN_KEYS,
    SCENARIO_KEYS,
    SpecError,
    SweepPoint,
    SweepSpec,
    expand_points,
    load_spec,
    parse_spec,
)
from evfleet.inputs.generate import generate_scenario, today_iso
from evfleet.inputs.overrides import apply_site_overrides
from evfleet.results.run_files import write_run_outputs
from evfleet.scenario import load_scenario
from evfleet.simulation.simulate import SimulationOptions, simulate

__all__ = [
    "NONDETERMINISTIC_COLUMNS",
    "SpecError",
    "SweepInterrupted",
    "SweepOutcome",
    "expand_points",
    "load_spec",
    "nondeterministic_columns",
    "parse_spec",
    "results_frame",
    "run_point",
    "run_sweep",
    "summary_markdown",
]

#: Columns that differ from run to run (timings); with the ``strategy_*_s`` timings a strategy reports (see
#: :func:`nondeterministic_columns`), everything else is deterministic.
NONDETERMINISTIC_COLUMNS = (
    "sim_runtime_s",
    "baseline_runtime_s",
    "timer_runtime_s",
    "point_runtime_s",
    "point_cpu_s",
)


def nondeterministic_columns(columns: Any) -> list[str]:
    """The timing columns among ``columns``: :data:`NONDETERMINISTIC_COLUMNS` and ``strategy_*_s`` (seconds)."""
    return [c for c in columns if c in NONDETERMINISTIC_COLUMNS or (c.startswith("strategy_") and c.endswith("_s"))]


#: KPI columns copied into each row (others of compute_kpis are copied too, these come first).
_KPI_SKIP = {"strategy", "mode", "v2g", "runtime_s"}
_REWRITE_EVERY_S = 30.0  # results.parquet and summary.md are rewritten at most this often during a sweep
_BASELINE_CACHE: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
_BASELINE_LOCK = threading.Lock()  # workers may run several tasks in threads


class SweepInterrupted(Exception):
    """Raised by :func:`run_sweep` after Ctrl-C, once the finished points are written."""

    def __init__(self, outcome: SweepOutcome) -> None:
        super().__init__(f"sweep interrupted: {outcome.n_done} of {outcome.n_points} points kept")
        self.outcome = outcome


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did: table, counts and the files written."""

    table: pd.DataFrame
    n_points: int
    n_skipped: int
    n_run: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def n_done(self) -> int:
        return len(self.table)


# --- the task ---------------------------------------------------------------------------------------------------


def _scenario_for(point: SweepPoint, base: Any) -> Any:

    if base is not None:
        overrides = {k: v for k, v in point.scenario.items() if k != "base_scenario_hash"}
        return apply_site_overrides(base, **overrides)
    return generate_scenario(**point.scenario)


def _baseline_kpis(scenario: Any, options: Any, baseline: str = BASELINE) -> tuple[dict[str, Any], float]:
    """KPIs of the ``baseline`` run of ``scenario`` and its time [s] (0 when cached; cached per worker process by
    content hash, options and baseline)."""

    key = (scenario.content_hash, repr(options), baseline)
    with _BASELINE_LOCK:
        if key in _BASELINE_CACHE:
            _BASELINE_CACHE.move_to_end(key)
            return _BASELINE_CACHE[key], 0.0
    t0 = time.perf_counter()
    kpis = compute_kpis(simulate(scenario, baseline, options))
    elapsed = time.perf_counter() - t0
    with _BASELINE_LOCK:
        _BASELINE_CACHE[key] = kpis
        while len(_BASELINE_CACHE) > 32:
            _BASELINE_CACHE.popitem(last=False)
    return kpis, elapsed


def _json_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_point(point: SweepPoint, base: Any = None, traces_dir: str | None = None) -> dict[str, Any]:
    """Generate, run and measure one point; return its result row (parameters, KPIs, savings, runtimes).

    ``base``: the base :class:`~evfleet.scenario.Scenario` when the spec names a scenario file.
    """

    t0 = time.perf_counter()
    cpu0 = time.thread_time()
    scenario = _scenario_for(point, base)
    run = point.run
    options = SimulationOptions(
        mode=run["mode"],
        v2g=run["v2g"],
        horizon_h=run["horizon_h"],
        forecast_noise=run["forecast_noise"],
        seed=run["forecast_seed"],
    )
    result = simulate(scenario, run["strategy"], options)
    kpis = compute_kpis(result)
    if traces_dir is not None:
        write_run_outputs(result, Path(traces_dir) / point.point_id, kpis)
    baselines: dict[str, dict[str, Any]] = {}
    runtimes: dict[str, float] = {}
    for b in BASELINES:
        if run["strategy"] == b:
            baselines[b], runtimes[b] = kpis, 0.0
        else:
            baselines[b], runtimes[b] = _baseline_kpis(scenario, options, b)
    base_kpis = baselines[BASELINE]
    timer_kpis = baselines["timer"]
    base_cost = base_kpis["net_cost_mad"]
    base_peak = base_kpis["peak_import_kw"]
    saved = baseline_savings(baselines, kpis)
    best = saved["best_baseline"]
    row: dict[str, Any] = {"point_id": point.point_id, "point_index": point.index}
    order = {k: i for i, k in enumerate(("base_scenario_hash", *SCENARIO_KEYS))}  # columns in a fixed order
    row.update({k: _json_cell(point.scenario[k]) for k in sorted(point.scenario, key=order.__getitem__)})
    row.update({k: run[k] for k in RUN_KEYS})
    row.update(
        {
            "scenario_hash": scenario.content_hash,
            "scenario_name": scenario.name,
            "baseline_net_cost_mad": base_cost,
            "savings_mad": saved["savings_mad"],
            "savings_pct": saved["savings_pct"],
            "baseline_peak_import_kw": base_peak,
            "peak_reduction_kw": base_peak - kpis["peak_import_kw"],
            "peak_reduction_pct": 100.0 * (base_peak - kpis["peak_import_kw"]) / base_peak if base_peak else None,
            "baseline_unmet_energy_kwh": base_kpis["unmet_energy_kwh"],
            "timer_net_cost_mad": timer_kpis["net_cost_mad"],
            "timer_peak_import_kw": timer_kpis["peak_import_kw"],
            "timer_unmet_energy_kwh": timer_kpis["unmet_energy_kwh"],
            "savings_vs_timer_mad": saved["savings_vs_timer_mad"],
            "savings_vs_timer_pct": saved["savings_vs_timer_pct"],
            "best_baseline": best,
            "best_baseline_net_cost_mad": baselines[best]["net_cost_mad"],
            "savings_vs_best_baseline_mad": saved["savings_vs_best_baseline_mad"],
            "savings_vs_best_baseline_pct": saved["savings_vs_best_baseline_pct"],
            "nothing_to_do_reason": nothing_to_do(run["strategy"], result) or "",
        }
    )
    row.update({k: _json_cell(v) for k, v in kpis.items() if k not in _KPI_SKIP})
    row["evfleet_version"] = __version__
    row["sim_runtime_s"] = float(kpis["runtime_s"])
    row["baseline_runtime_s"] = float(runtimes[BASELINE])
    row["timer_runtime_s"] = float(runtimes["timer"])
    row["point_runtime_s"] = time.perf_counter() - t0
    row["point_cpu_s"] = time.thread_time() - cpu0  # CPU time of this task's thread: wall >> CPU means a busy machine
    return row


# --- files ------------------------------------------------------------------------------------------------------


def _read_checkpoint(path: Path) -> dict[str, dict[str, Any]]:
    """Rows already finished, by point id (a torn last line from a crash is ignored)."""
    rows: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return rows
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and "point_id" in row:
                rows[row["point_id"]] = row
    return rows


def results_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The result table: one row per point, sorted by point index, columns in first-seen order."""
    if not rows:
        return pd.DataFrame(columns=["point_id", "point_index"])
    df = pd.DataFrame(rows)
    return df.sort_values("point_index", kind="stable").reset_index(drop=True)


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.2f}"
    return str(x)


_HEADS = {
    "savings_pct_min": "savings % min",
    "savings_pct_p25": "p25",
    "savings_pct_median": "median",
    "savings_pct_p75": "p75",
    "savings_pct_max": "max",
    "savings_mad_mean": "savings MAD mean",
    "peak_reduction_pct_median": "peak red. % median",
    "peak_reduction_pct_min": "peak red. % min",
    "unmet_energy_kwh_mean": "unmet kWh mean",
    "unmet_energy_kwh_max": "unmet kWh max",
    "savings_vs_best_baseline_pct_min": "savings % min",
    "savings_vs_best_baseline_pct_p25": "p25",
    "savings_vs_best_baseline_pct_median": "median",
    "savings_vs_best_baseline_pct_p75": "p75",
    "savings_vs_best_baseline_pct_max": "max",
    "savings_vs_best_baseline_mad_mean": "savings MAD mean",
    "savings_vs_timer_pct_median": "vs timer % median",
    "savings_vs_timer_mad_mean": "vs timer MAD mean",
    "timer_best_points": "points timer cheaper",
    "nothing_to_do_points": "points nothing to do",
}


def _md_table(summ: pd.DataFrame, cols: list[str], status: str) -> list[str]:
    def head(c: str) -> str:
        h = _HEADS.get(c, c)
        return f"{h} ({status})" if "MAD" in h else h

    lines = ["| " + " | ".join(head(c) for c in cols) + " |"]
    lines.append("|" + "|".join("---" if c in ("strategy", "mode", "v2g") else "---:" for c in cols) + "|")
    for rec in summ.to_dict(orient="records"):
        lines.append("| " + " | ".join(_fmt(rec[c]) for c in cols) + " |")
    return lines


def summary_markdown(df: pd.DataFrame, title: str = "Sweep summary", n_points: int | None = None) -> str:
    """Markdown summary of a result table (see :func:`summary_frame`): the headline table against the cheaper
    baseline of each point (when the table has the timer columns), then the table against ``uncontrolled``."""
    lines = [f"# {title}", ""]
    total = n_points if n_points is not None else len(df)
    lines.append(f"{len(df)} of {total} points finished; evfleet {__version__}.")
    lines.append("")
    summ = summary_frame(df)
    if summ.empty:
        lines.append("(no finished points)")
        return "\n".join(lines) + "\n"
    status = cost_status(df)
    keys = [c for c in summ.columns if c in ("strategy", "mode", "v2g")]
    lines.append(
        f"Costs are bills before VAT built on tariff values of status **{status}** (docs/tariffs.md); MAD figures "
        "carry that status in brackets."
    )
    lines.append("")
    if "savings_vs_best_baseline_pct_median" in summ:
        lines += [
            "## Against the cheaper baseline (headline)",
            "",
            "Each point's savings are against the cheaper of `uncontrolled` and `timer` on that point's scenario "
            "(both run in the same task with the same options), as `evfleet compare` does.",
            "",
        ]
        best = [c for c in summ.columns if c.startswith("savings_vs_best_baseline")]
        extra = ["savings_vs_timer_pct_median", "savings_vs_timer_mad_mean", "timer_best_points",
                 "nothing_to_do_points"]  # fmt: skip
        lines += _md_table(summ, [*keys, "points", *best, *extra], status)
        lines += ["", "## Against `uncontrolled`", ""]
    lines += [
        "Savings are against the `uncontrolled` baseline run on the same scenario with the same options (computed",
        "in the same task). Percentages are of the baseline's net cost (savings) and peak import (peak reduction).",
        "",
    ]
    cols = [*keys, "points", *UNCONTROLLED_COLUMNS]
    lines += _md_table(summ, [c for c in cols if c in summ], status)
    return "\n".join(lines) + "\n"


# --- progress ---------------------------------------------------------------------------------------------------


class _Progress:
    """A one-line text progress bar with ETA on stderr (redrawn in place on a terminal)."""

    def __init__(self, total: int, enabled: bool = True, stream: Any = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.failed = 0
        self.t0 = time.perf_counter()
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    @staticmethod
    def _clock(seconds: float) -> str:
        s = round(seconds)
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"

    def update(self, ok: bool = True) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / self.done * (self.total - self.done)
        width = 30
        fill = int(width * self.done / self.total)
        fails = f"  {self.failed} failed" if self.failed else ""
        text = (
            f"[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} points "
            f"{100 * self.done / self.total:3.0f}%  elapsed {self._clock(elapsed)}  ETA {self._clock(eta)}{fails}"
        )
        if self.tty:
            self.stream.write("\r" + text + ("\n" if self.done >= self.total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.done < self.total:
            self.stream.write("\n")
            self.stream.flush()


# --- the sweep --------------------------------------------------------------------------------------------------


def _pinned_start(out: Path, spec: SweepSpec) -> str | None:
    """The start date used when the spec sets none: today on the first run, the recorded one on reruns."""
    if spec.sets_start or spec.scenario_file is not None:
        return None
    meta = out / "sweep.json"
    if meta.is_file():
        try:
            pinned = json.loads(meta.read_text(encoding="utf-8")).get("pinned_start")
        except (json.JSONDecodeError, OSError):
            pinned = None
        if isinstance(pinned, str):
            return pinned

    return today_iso()


def run_sweep(
    spec: SweepSpec | str | Path,
    out: str | Path,
    client: Any = None,
    traces: bool = False,
    progress: bool = True,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    store: Callable[[pd.DataFrame, Path], Any] | None = None,
) -> SweepOutcome:
    """Run every point of ``spec`` not yet in ``out`` and write ``results.parquet``, ``summary.md``, ``sweep.json``.

    ``client``: a ``distributed.Client`` (one task per point, gathered with ``as_completed``), or ``None`` to run
    the points one after the other in this process (same code, same numbers). ``on_row`` is called with each new
    row after it is checkpointed. On Ctrl-C the pending tasks are cancelled, the finished rows written and
    :class:`SweepInterrupted` raised.
    """
    t_start = time.perf_counter()
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = None
    base_hash = None
    if spec.scenario_file is not None:
        base = load_scenario(spec.scenario_file)
        base_hash = base.content_hash
    pinned = _pinned_start(out_dir, spec)
    points = expand_points(spec, default_start=pinned, base_hash=base_hash)
    ckpt = out_dir / "points.jsonl"
    done = _read_checkpoint(ckpt)
    if not ckpt.is_file() and (out_dir / "results.parquet").is_file():  # results from elsewhere: reuse them
        old = pd.read_parquet(out_dir / "results.parquet")
        done = {r["point_id"]: r for r in json.loads(old.to_json(orient="records"))}
    meta = {
        "format": "evfleet.sweep/1",
        "spec": spec.to_dict(),
        "pinned_start": pinned,
        "base_scenario_hash": base_hash,
        "n_points": len(points),
        "evfleet_version": __version__,
    }
    write_text_atomic(out_dir / "sweep.json", json.dumps(meta, indent=2, default=str) + "\n")
    wanted = {p.point_id for p in points}
    index_of = {p.point_id: p.index for p in points}
    todo = [p for p in points if p.point_id not in done]
    skipped = len(points) - len(todo)
    bar = _Progress(len(todo), enabled=progress)
    errors: list[dict[str, Any]] = []
    new_rows = 0
    traces_dir = str(out_dir / "traces") if traces else None

    files = {"results": out_dir / "results.parquet", "summary": out_dir / "summary.md"}
    last_write = time.monotonic()

    def write_tables() -> pd.DataFrame:
        nonlocal last_write
        rows = [{**r, "point_index": index_of[pid]} for pid, r in done.items() if pid in wanted]
        table = results_frame(rows)
        write_parquet_atomic(table, files["results"])
        write_text_atomic(files["summary"], summary_markdown(table, n_points=len(points)))
        last_write = time.monotonic()
        return table

    def finish() -> SweepOutcome:
        table = write_tables()
        if errors:
            files["errors"] = out_dir / "errors.jsonl"
            with files["errors"].open("a", encoding="utf-8") as fh:
                for e in errors:
                    fh.write(json.dumps(e, default=str) + "\n")
        outcome = SweepOutcome(table, len(points), skipped, new_rows, errors, files, time.perf_counter() - t_start)
        if store is not None and not table.empty:
            store(table, out_dir)
        return outcome

    if ckpt.is_file() and ckpt.stat().st_size:
        with ckpt.open("rb") as fb:
            fb.seek(-1, os.SEEK_END)
            torn = fb.read(1) != b"\n"
        if torn:  # a line cut by a crash: end it, so that it stays alone (and ignored) and the next rows are whole
            with ckpt.open("a", encoding="utf-8") as fa:
                fa.write("\n")
    with ckpt.open("a", encoding="utf-8") as fh:

        def accept(row: dict[str, Any]) -> None:
            nonlocal new_rows
            row["point_index"] = index_of[row["point_id"]]
            if row["point_id"] in done:  # never duplicate a point
                return
            fh.write(json.dumps(row, allow_nan=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            done[row["point_id"]] = row
            new_rows += 1
            if time.monotonic() - last_write > _REWRITE_EVERY_S:  # long sweeps: current tables on disk
                write_tables()
            if on_row is not None:
                on_row(row)

        try:
            if client is None:
                for p in todo:
                    try:
                        row = run_point(p, base, traces_dir)
                    except Exception as exc:
                        errors.append({"point_id": p.point_id, "point": p.label, "error": repr(exc)})
                        bar.update(ok=False)
                        continue
                    accept(row)
                    bar.update()
            else:
                _run_distributed(client, todo, base, traces_dir, accept, errors, bar)
        except KeyboardInterrupt:
            bar.close()
            fh.flush()
            for pid, row in _read_checkpoint(ckpt).items():  # a row written just as Ctrl-C arrived
                done.setdefault(pid, row)
            raise SweepInterrupted(finish()) from None
        except Exception:
            finish()  # e.g. the scheduler went away: keep what finished, then report the error
            raise
        finally:
            bar.close()
    return finish()


def _run_distributed(
    client: Any,
    todo: list[SweepPoint],
    base: Any,
    traces_dir: str | None,
    accept: Callable[[dict[str, Any]], None],
    errors: list[dict[str, Any]],
    bar: _Progress,
) -> None:
    from distributed import as_completed

    if not todo:
        return
    base_ref = client.scatter(base, broadcast=True) if base is not None else None
    futures = {
        client.submit(run_point, p, base_ref, traces_dir, key=f"evfleet-point-{p.point_id}", pure=False): p
        for p in todo
    }
    try:
        for fut in as_completed(futures):
            p = futures[fut]
            if fut.status != "finished":
                reason = repr(fut.exception()) if fut.status == "error" else f"task {fut.status}"
                errors.append({"point_id": p.point_id, "point": p.label, "error": reason})
                bar.update(ok=False)
            else:
                accept(fut.result())
                bar.update()
            fut.release()
    except KeyboardInterrupt:
        quiet_shutdown_logs()  # cancelling and tearing down print event-loop tracebacks otherwise
        client.cancel(list(futures))
        raise
