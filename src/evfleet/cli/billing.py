"""``evfleet bill RUN_DIR``: a run's ``bill.json`` (or the bill rebuilt from the run's files) as table rows.

Money [MAD]; every row carries the status of the values it is built on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evfleet._common.errors import InputError, InputFileNotFoundError
from evfleet.analysis.bill import BILL_ITEMS, run_bill

__all__ = ["bill_of_run_dir", "bill_rows"]


def bill_of_run_dir(run_dir: str | Path) -> dict[str, Any]:
    """The ``bill.json`` object of ``run_dir`` (billed from its files when it has no ``bill.json``)."""
    d = Path(run_dir)
    if not d.is_dir():
        raise InputFileNotFoundError(f"{d}: run directory not found")
    path = d / "bill.json"
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not readable JSON: {exc}") from exc
        missing = [k for k in (*BILL_ITEMS, "called_power_kva", "cos_phi", "days", "tariff", "status") if k not in data]
        if not isinstance(data, dict) or missing:
            raise InputError(f"{path}: field {missing[0] if missing else '<root>'!r} is required (value missing)")
        return data
    from evfleet.results.run_files import load_run

    return run_bill(load_run(d)).to_dict()


def bill_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per money item of a bill (``item``, ``mad``, ``status``), then export revenue, degradation and the
    net cost that comparisons use."""
    status = data.get("status", {})
    rows = [{"item": k, "mad": data[k], "status": status.get(k, "assumption")} for k in BILL_ITEMS]
    for key in ("export_revenue_mad", "degradation_cost_mad", "net_cost_mad"):
        if key in data:
            rows.append({"item": key, "mad": data[key], "status": status.get(key, "assumption")})
    return rows
