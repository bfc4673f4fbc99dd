"""Catalogue merging and user files; tariff periods and validation."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evfleet.inputs.catalog import CATALOG_COLUMNS, CatalogError, load_catalog, normalise_model_name, read_catalog_file
from evfleet.inputs.tariffs import TariffError, list_tariffs, load_tariff, tariff_from_dict


def test_catalog_merged_one_row_per_model() -> None:
    cat = load_catalog()
    assert list(cat.columns) == list(CATALOG_COLUMNS)
    assert cat["model"].str.lower().is_unique
    assert "Peugeot 208" in set(cat["model"]) and "Peugeot E-208" not in set(cat["model"])
    assert len(cat) >= 20
    assert (cat["battery_kwh"] > 0).all()
    # V2G flags only from a source saying the model exports to the grid (the ID.4 does V2H only).
    v2g = dict(zip(cat["model"], cat["v2g"], strict=True))
    assert v2g["Nissan Leaf"] and not v2g["Volkswagen ID.4"]


def test_normalise_names() -> None:
    assert normalise_model_name("Peugeot  E-208") == "Peugeot 208"
    assert normalise_model_name("Volkswagen ID.3") == "Volkswagen ID.3"


def test_user_catalog_adds_and_overrides(tmp_path) -> None:
    path = tmp_path / "mine.csv"
    pd.DataFrame(
        [
            {"model": "Dacia Spring", "registrations": 10, "battery_kwh": 26.8, "ac_charge_kw": 7,
             "dc_charge_kw": 30, "ac_discharge_kw": 0, "dc_discharge_kw": 0, "v2g": "no", "source": "test"},
            {"model": "Tesla Model 3", "registrations": 1, "battery_kwh": 60, "ac_charge_kw": 11,
             "dc_charge_kw": 170, "ac_discharge_kw": 0, "dc_discharge_kw": 0, "v2g": "no", "source": "test"},
        ]
    ).to_csv(path, index=False)  # fmt: skip
    cat = load_catalog(path)
    row = cat.set_index("model").loc["Tesla Model 3"]
    assert row["battery_kwh"] == 60 and row["source"] == "test"
    assert "Dacia Spring" in set(cat["model"])


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"battery_kwh": "lots"}, "row 1: column 'battery_kwh' is not a number (value 'lots')"),
        ({"ac_charge_kw": "-3"}, "row 1: column 'ac_charge_kw' must be within"),
        ({"v2g": "maybe"}, "row 1: column 'v2g' is not yes/no (value 'maybe')"),
        ({"model": ""}, "row 1: column 'model' is empty"),
    ],
)
def test_user_catalog_errors(tmp_path, row, message) -> None:
    good = {"model": "X", "registrations": 1, "battery_kwh": 50, "ac_charge_kw": 11, "dc_charge_kw": 50,
            "ac_discharge_kw": 0, "dc_discharge_kw": 0, "v2g": "no", "source": "s"}  # fmt: skip
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{**good, **row}]))
    with pytest.raises(CatalogError) as info:
        read_catalog_file(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_tariffs_shipped_and_periods() -> None:
    assert {"onee_mt_trihoraire", "onee_bt_bihoraire", "onee_residential"} <= set(list_tariffs())
    t = load_tariff("onee_mt_trihoraire")
    times = pd.DatetimeIndex(
        pd.to_datetime(["2026-01-10 03:00", "2026-01-10 10:00", "2026-01-10 17:30", "2026-07-10 17:30",
                        "2026-07-10 22:30", "2026-07-10 23:15"]).tz_localize("Africa/Casablanca")
    )  # fmt: skip
    assert list(t.periods_at(times)) == ["creuses", "pleines", "pointe", "pleines", "pointe", "creuses"]
    imp, exp, _ = t.price_series(times)
    assert imp[2] == t.price_of("pointe") and exp[0] == t.export_price_mad_per_kwh
    for tid in list_tariffs():
        for spec in load_tariff(tid).periods.values():
            assert spec["status"] in {"sourced", "secondary", "inference", "assumption"}
            assert spec.get("note"), f"{tid}: every price needs a note saying where it comes from"


def test_tariff_errors(tmp_path) -> None:
    base = load_tariff("onee_bt_bihoraire").to_dict()
    bad = json.loads(json.dumps(base))
    bad["periods"]["pointe"]["price_mad_per_kwh"] = -1
    with pytest.raises(TariffError, match=r"periods.pointe.price_mad_per_kwh.*-1"):
        tariff_from_dict(bad, "mine.json")
    bad = json.loads(json.dumps(base))
    bad["seasons"]["winter"]["hours"]["pointe"] = [[17, 25]]
    with pytest.raises(TariffError, match=r"seasons\.winter\.hours\.pointe"):
        tariff_from_dict(bad)
    with pytest.raises(TariffError, match="unknown tariff"):
        load_tariff("onee_imaginary")
    path = tmp_path / "t.yaml"
    path.write_text("format: evfleet.tariff/1\nid: mine\nname: Mine\nperiods:\n  flat: {price_mad_per_kwh: 1.1}\n")
    assert load_tariff(path).price_of("flat") == 1.1
