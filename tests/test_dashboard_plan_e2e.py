"""Chromium end-to-end test of the Plan page's exports: the files a user downloads from the real browser."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from evfleet.dashboard.harness import CHROMIUM, browser_page, serve, wait_ready
from evfleet.results.plan import PLAN_CSV_COLUMNS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (install it with `make browser`)"),
]


@pytest.mark.parametrize("n", [100, 550])  # 550: above PLAN_EAGER_MAX_SESSIONS, built when clicked
def test_plan_exports_download_in_chromium(tmp_path, n):
    with serve() as url, browser_page(1400, 1000) as page:
        page.goto(f"{url}/plan?vehicles={n}")
        wait_ready(page, charts=1, timeout_ms=240_000)
        assert page.get_by_role("heading", name="Charging plan").count() == 1
        with page.expect_download(timeout=180_000) as dl:
            page.get_by_role("button", name="Plan CSV (vehicle × step)").click()
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        assert path.name.endswith("_plan.csv")
        df = pd.read_csv(io.BytesIO(path.read_bytes()))
        assert list(df.columns) == PLAN_CSV_COLUMNS and df["vehicle_id"].nunique() == n
        assert len(df) == n * df["step"].nunique()
        with page.expect_download(timeout=180_000) as dl:
            page.get_by_role("button", name="OCPP 2.0.1 charging profiles").click()
        doc = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
        assert doc["format"] == "evfleet.ocpp-profiles/1" and len(doc["profiles"]) == n
        assert {p["request"]["chargingProfile"]["chargingProfilePurpose"] for p in doc["profiles"]} == {"TxProfile"}
