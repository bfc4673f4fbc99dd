"""Chromium end-to-end test of the tariff editor (issue 16, item 4): edit a price in the real browser, apply,
download the tariff file and read it back with the CLI; upload a tariff file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evfleet.cli import app as cli_app
from evfleet.dashboard.harness import CHROMIUM, browser_page, serve, wait_ready
from evfleet.inputs.tariffs import load_tariff

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (install it with `make browser`)"),
]


def test_edit_apply_download_and_upload_a_tariff(tmp_path):
    with serve() as url, browser_page(1400, 1000) as page:
        page.goto(f"{url}/scenario?vehicles=100")
        wait_ready(page, charts=0, timeout_ms=240_000)
        page.get_by_text("Tariff: view, edit, save").click()
        box = page.get_by_label("peak (pointe) (MAD/kWh)", exact=True)
        assert box.input_value() == "1.4157"
        box.fill("2.3456")
        box.press("Tab")
        page.get_by_role("button", name="Apply tariff").click()
        page.wait_for_selector("text=applied (1 value(s) changed", timeout=240_000)
        wait_ready(page, charts=0, timeout_ms=240_000)
        assert page.get_by_label("peak (pointe) (MAD/kWh)", exact=True).input_value() == "2.3456"
        with page.expect_download(timeout=60_000) as dl:
            page.get_by_role("button", name="Download tariff (JSON)").click()
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        assert path.name == "onee_mt_general_edited.json"
        # the CLI reads the downloaded file: `evfleet tariffs FILE`, `evfleet scenario new --tariff FILE`
        runner = CliRunner()
        shown = runner.invoke(cli_app, ["tariffs", str(path)])
        assert shown.exit_code == 0, shown.output
        data = json.loads(shown.output)
        assert data["format"] == "evfleet.tariff/2"
        assert data["periods"]["pointe"] == {"price_mad_per_kwh": 2.3456, "status": "assumption",
                                             "note": data["periods"]["pointe"]["note"]}  # fmt: skip
        assert data["periods"]["creuses"]["status"] == "secondary"  # unchanged: its status kept
        out = tmp_path / "sc.json"
        made = runner.invoke(cli_app, ["scenario", "new", "--vehicles", "20", "--tariff", str(path), "--out", str(out)])
        assert made.exit_code == 0, made.output
        assert json.loads(out.read_text())["tariff"]["id"] == "onee_mt_general_edited"
        assert load_tariff(path).price_of("pointe") == 2.3456
        # upload a tariff file (the same format), edited outside the dashboard
        data["id"], data["periods"]["pointe"]["price_mad_per_kwh"] = "my_upload", 3.25
        upload = tmp_path / "my_upload.json"
        upload.write_text(json.dumps(data), encoding="utf-8")
        page.locator("[data-testid=stExpander] [data-testid=stFileUploader] input[type=file]").set_input_files(upload)
        page.wait_for_selector("text=Tariff file my_upload loaded", timeout=240_000)
        wait_ready(page, charts=0, timeout_ms=240_000)
        assert page.get_by_label("peak (pointe) (MAD/kWh)", exact=True).input_value() == "3.2500"
