"""Run-store benchmark: time to store and read back a run, and bytes used, for 500 and 2,000 vehicles.

Prints numbers only (no pass/fail). Usage: ``python benchmarks/bench_store.py [--vehicles 500,2000] [--days 1]``.
Uses a temporary database (never the user's data directory).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from evfleet.analysis.kpis import compute_kpis
from evfleet.inputs.generate import generate_scenario
from evfleet.simulation.simulate import simulate
from evfleet.store.runs import Store, open_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vehicles", default="500,2000")
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--backup-runs", type=int, default=20, help="runs of 500 vehicles in the backup/restore test")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        os.environ["EVFLEET_DB"] = str(db)
        print(
            f"{'vehicles':>8} {'sessions':>8} {'steps':>6} {'save_s':>7} {'read_s':>7} {'trace_kB':>9} {'db_kB/run':>9}"
        )
        with open_store(db) as st:
            for n in (int(x) for x in args.vehicles.split(",")):
                sc = generate_scenario(vehicles=n, seed=1, start="2026-03-02", days=args.days, pv_kwp=0.0)
                result = simulate(sc, "uncontrolled")
                kpis = compute_kpis(result)
                size0 = _db_bytes(st)
                t0 = time.perf_counter()
                run_id = st.save_run(result, kpis)
                t_save = time.perf_counter() - t0
                t0 = time.perf_counter()
                st.get_run(run_id)
                st.site_steps(run_id)
                st.vehicle_summaries(run_id)
                st.trace(run_id)
                t_read = time.perf_counter() - t0
                trace_kb = st.get_run(run_id)["trace"]["size_bytes"] / 1024
                db_kb = (_db_bytes(st) - size0) / 1024
                print(
                    f"{n:>8} {sc.n_vehicles:>8} {sc.n_steps:>6} {t_save:>7.3f} {t_read:>7.3f} "
                    f"{trace_kb:>9.1f} {db_kb:>9.1f}"
                )
            _bench_backup(st, Path(tmp), args.backup_runs, args.days)


def _bench_backup(st: Store, tmp: Path, n_runs: int, days: int) -> None:
    """Time a backup and a restore into a fresh directory (the requirement: recovery < 30 s)."""
    from evfleet.store.backup import backup_store, restore_store

    sc = generate_scenario(vehicles=500, seed=2, start="2026-03-02", days=days, pv_kwp=0.0)
    result = simulate(sc, "uncontrolled")
    for _ in range(n_runs):
        st.save_run(result)
    n_total = st.stats["runs"]
    t0 = time.perf_counter()
    manifest = backup_store(st, tmp / "backup.tar.gz")
    t_backup = time.perf_counter() - t0
    size_mb = (tmp / "backup.tar.gz").stat().st_size / 1e6
    t0 = time.perf_counter()
    restore_store(tmp / "backup.tar.gz", str(tmp / "restored" / "evfleet.db"))
    t_restore = time.perf_counter() - t0
    print(
        f"backup of {n_total} runs ({manifest['n_runs']} in manifest): {t_backup:.2f} s, {size_mb:.1f} MB; "
        f"restore into a fresh directory (checksums verified): {t_restore:.2f} s"
    )


def _db_bytes(st: Store) -> int:
    """Committed database size [bytes]: page_count x page_size."""
    with st.reader.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        size = conn.exec_driver_sql("PRAGMA page_size").scalar_one()
    return int(pages) * int(size)


if __name__ == "__main__":
    main()
