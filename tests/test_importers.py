"""Imports: fleet / series / tariff / catalogue validation, normalisation, resampling, scenario building."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from evfleet.inputs.fleet_scenario import apply_series, resample_series, scenario_from_fleet
from evfleet.inputs.importers import (
    ImportValidationError,
    fleet_to_csv,
    parse_catalog,
    parse_fleet,
    parse_series,
    parse_tariff,
    series_to_csv,
)
from evfleet.simulation.simulate import simulate

HEADER = "vehicle_id,model,arrival,departure,soc_arrival,soc_target,charger\n"
GOOD_ROWS = [
    "V1,Tesla Model 3,2026-03-02T18:30,2026-03-03T07:00,0.3,0.9,ac11",
    "V2,Peugeot E-208,2026-03-02 19:00,2026-03-03 06:45,35%,85%,dc50",
    "V3,Renault Zoe,2026-03-02T17:00+01:00,2026-03-03T08:00+01:00,0.5,0.8,ac22",
]


def write(tmp_path: Path, text: str, name: str = "fleet.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_per_vehicle_fleet_is_normalised(tmp_path: Path) -> None:
    parsed = parse_fleet(write(tmp_path, HEADER + "\n".join(GOOD_ROWS) + "\n"))
    rows = parsed.payload["rows"]
    assert parsed.kind == "fleet" and parsed.n_rows == 3 and parsed.payload["layout"] == "vehicles"
    assert rows[1]["model"] == "Peugeot 208"  # catalogue spelling
    assert rows[1]["soc_arrival"] == 0.35 and rows[1]["soc_target"] == 0.85
    assert rows[0]["arrival"] == "2026-03-02T18:30:00+00:00"  # Casablanca is UTC+0 during Ramadan 2026
    assert rows[2]["arrival"] == "2026-03-02T16:00:00+00:00"  # an explicit offset is honoured
    assert len(parsed.source_sha256) == 64


def test_time_of_day_with_date_is_overnight(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "D1,Renault Zoe,18:30,06:15,40%,0.8,ac7.4\n")
    with pytest.raises(ImportValidationError, match=r"line 2, column 'arrival'.*--date"):
        parse_fleet(path)
    row = parse_fleet(path, date="2026-06-10", timezone="UTC").payload["rows"][0]
    assert row["arrival"] == "2026-06-10T18:30:00+00:00" and row["departure"] == "2026-06-11T06:15:00+00:00"


BAD_CASES = [
    ("V9,Flying Car 9000,2026-03-02T18:30,2026-03-03T07:00,0.3,0.9,ac11", "model", "Flying Car 9000", "unknown model"),
    ("V9,Renault Zoe,2026-02-30T18:30,2026-03-03T07:00,0.3,0.9,ac11", "arrival", "2026-02-30T18:30", "not a time"),
    ("V9,Renault Zoe,tomorrow,2026-03-03T07:00,0.3,0.9,ac11", "arrival", "tomorrow", "not a time"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-02T07:00,0.3,0.9,ac11", "departure", "2026-03-02T07:00", "after arrival"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-02T18:30,0.3,0.9,ac11", "departure", "2026-03-02T18:30", "after arrival"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,1.5,0.9,ac11", "soc_arrival", "1.5", "fraction within 0-1"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,-0.1,0.9,ac11", "soc_arrival", "-0.1", "within 0-1"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,0.3,120%,ac11", "soc_target", "120%", "0-100 %"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,0.3,85,ac11", "soc_target", "85", "'%'"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,abc,0.9,ac11", "soc_arrival", "abc", "not a number"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,0.3,0.9,ac99", "charger", "ac99", "unknown charger"),
    ("V1,Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,0.3,0.9,ac11", "vehicle_id", "V1", "duplicates line 2"),
    (",Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,0.3,0.9,ac11", "vehicle_id", "", "at least 1 character"),
    ("V9,Renault Zoe,2026-03-02T18:30,2026-03-03T07:00,0.3,0.9", "-", "6", "number of cells"),
]


@pytest.mark.parametrize(("row", "column", "value", "what"), BAD_CASES)
def test_bad_fleet_row_names_file_line_column_value(
    tmp_path: Path, row: str, column: str, value: str, what: str
) -> None:
    path = write(tmp_path, HEADER + "\n".join([*GOOD_ROWS, row]) + "\n")
    with pytest.raises(ImportValidationError) as exc:
        parse_fleet(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: line 5, column '{column}': "), msg
    assert what in msg and repr(value) in msg and "nothing was imported" in msg


def test_first_problem_and_count_of_more(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, BAD_CASES[0][0], BAD_CASES[5][0].replace("V9", "V10"), BAD_CASES[10][0].replace("V9", "V11")]
    with pytest.raises(ImportValidationError) as exc:
        parse_fleet(write(tmp_path, HEADER + "\n".join(rows) + "\n"))
    assert "line 5, column 'model'" in str(exc.value) and "(and 2 more problems)" in str(exc.value)
    assert [p.line for p in exc.value.problems] == [5, 6, 7]


def test_dc_charger_on_ac_only_model_is_rejected(tmp_path: Path) -> None:
    from evfleet.inputs.catalog import load_catalog

    cat = load_catalog()
    ac_only = str(cat.loc[cat["dc_charge_kw"] <= 0, "model"].iloc[0])
    row = f"V9,{ac_only},2026-03-02T18:30,2026-03-03T07:00,0.3,0.9,dc50"
    with pytest.raises(ImportValidationError, match="cannot charge on DC"):
        parse_fleet(write(tmp_path, HEADER + row + "\n"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("vehicle_id,model,arrival\nV1,Renault Zoe,2026-03-02T18:30\n", "required column 'departure' is missing"),
        (HEADER, "no data rows"),
        ("model,count\nRenault Zoe,3\nRENAULT ZOE,2\n", r"line 3, column 'model': duplicates line 2"),
        ("model,count\nRenault Zoe,-3\n", r"line 2, column 'count'"),
        ("model,count\nRenault Zoe,2.5\n", r"line 2, column 'count'.*'2.5'"),
        ("model,count\nRenault Zoe,0\n", "sum to 0"),
        ("model,count,count\nRenault Zoe,1,1\n", "appears twice"),
    ],
)
def test_bad_fleet_files(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ImportValidationError, match=match):
        parse_fleet(write(tmp_path, text))


def test_fleet_csv_round_trip(tmp_path: Path) -> None:
    first = parse_fleet(write(tmp_path, HEADER + "\n".join(GOOD_ROWS) + "\n"))
    text = fleet_to_csv(first.payload)
    again = parse_fleet(write(tmp_path, text, "again.csv"))
    assert again.payload == first.payload
    assert fleet_to_csv(again.payload) == text


def test_semicolon_csv_and_ignored_columns(tmp_path: Path) -> None:
    text = (HEADER.strip() + ",notes\n" + GOOD_ROWS[0] + ",night shift\n").replace(",", ";")
    parsed = parse_fleet(write(tmp_path, text))
    assert parsed.n_rows == 1 and parsed.notes == ("ignored columns: notes",)


def test_scenario_from_per_vehicle_fleet_runs(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS, "V4,Nissan Leaf,2026-03-02T20:10,2026-03-03T05:50,20%,90%,ac7.4"]
    text = (
        HEADER.strip() + ",bidirectional\n" + "\n".join(r + (",yes" if i == 1 else ",no") for i, r in enumerate(rows))
    )
    fleet = parse_fleet(write(tmp_path, text + "\n")).payload
    sc = scenario_from_fleet(fleet, step_minutes=15, pv_kwp=0.0)
    v = sc.vehicles
    assert sc.start == pd.Timestamp("2026-03-02T16:00:00+00:00")  # first arrival (V3), on a step boundary
    assert list(v.id) == ["V1", "V2", "V3", "V4"]
    assert v.arrival_step.tolist() == [10, 12, 0, 16]  # 18:30, 19:00, 16:00, 20:10 -> floor to 15 min
    assert v.departure_step[3] == 56  # 05:50 -> ceil to 06:00 = 14 h after 16:00
    assert v.max_discharge_kw[0] == 0 and v.max_discharge_kw[2] == 0  # not on a bidirectional charger
    assert v.soc_max[0] == pytest.approx(0.9) and v.soc_target[3] == pytest.approx(0.9)
    assert sc.n_steps == int(v.departure_step.max())
    result = simulate(sc, "uncontrolled")
    assert result.unmet_kwh.sum() == pytest.approx(0.0, abs=1e-6)


def test_scenario_from_per_model_fleet(tmp_path: Path) -> None:
    fleet = parse_fleet(write(tmp_path, "model,count\nRenault Zoe,7\nTesla Model 3,5\n")).payload
    sc = scenario_from_fleet(fleet, start="2026-03-02", pv_kwp=0.0)
    counts = pd.Series([sc.vehicles.extra["vehicle"][i] for i in range(sc.n_vehicles)]).nunique()
    assert counts == 12
    assert sorted(set(sc.vehicles.model)) == ["Renault Zoe", "Tesla Model 3"]


SERIES = "time,base_load_kw,pv_kw,price_mad_per_kwh,frequency_hz\n" + "".join(
    f"2026-03-02T{h:02d}:00,{100 + h},{max(0, 50 - abs(h - 13) * 8)},{1.0 + (h >= 18) * 0.5},"
    f"{50 + (h % 3 - 1) * 0.02}\n"
    for h in range(24)
)


def test_series_parse_and_round_trip(tmp_path: Path) -> None:
    parsed = parse_series(write(tmp_path, SERIES, "s.csv"))
    p = parsed.payload
    assert parsed.n_rows == 24 and "price_import_mad_per_kwh" in p and p["base_load_kw"][3] == 103.0
    again = parse_series(write(tmp_path, series_to_csv(p), "s2.csv"))
    assert again.payload == p


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda s: s.replace("2026-03-02T05:00", "2026-03-02T03:00"),
            r"line 7, column 'time'.*must be after line 6.*'2026-03-02T03:00'",
        ),
        (lambda s: s.replace(",50.0", ",57.0", 1).replace(",49.98\n", ",57\n", 1), r"column 'frequency_hz'.*45-55"),
        (lambda s: s.replace("2026-03-02T02:00,102", "2026-03-02T02:00,-5"), r"line 4, column 'base_load_kw'.*'-5'"),
        (lambda s: s.replace("2026-03-02T02:00,102", "2026-03-02T02:00,"), r"line 4, column 'base_load_kw'.*empty"),
        (lambda s: s.replace("time,", "when,", 1), "required column 'time'"),
        (lambda s: "time,foo\n2026-03-02T00:00,1\n2026-03-02T01:00,2\n", "no series column"),
    ],
)
def test_bad_series(tmp_path: Path, edit, match: str) -> None:
    with pytest.raises(ImportValidationError, match=match):
        parse_series(write(tmp_path, edit(SERIES), "s.csv"))


def test_resample_preserves_energy_and_upsamples() -> None:
    start = pd.Timestamp("2026-03-02T00:00", tz="UTC")
    hourly = pd.date_range(start, periods=4, freq="60min")
    vals = np.array([10.0, 20.0, 30.0, 40.0])
    q = resample_series(hourly, vals, start, 15, 16)
    assert q.tolist() == [10.0] * 4 + [20.0] * 4 + [30.0] * 4 + [40.0] * 4
    five = pd.date_range(start, periods=12, freq="5min")
    v5 = np.arange(12, dtype=float)
    assert resample_series(five, v5, start, 15, 4).tolist() == [1.0, 4.0, 7.0, 10.0]
    with pytest.raises(ValueError, match="covers"):
        resample_series(hourly, vals, start, 15, 17)


@settings(max_examples=40, deadline=None)
@given(hst.lists(hst.floats(0, 1000, allow_nan=False), min_size=2, max_size=30), hst.sampled_from([5, 10, 15, 30, 60]))
def test_resample_energy_property(values: list[float], step: int) -> None:
    start = pd.Timestamp("2026-01-01", tz="UTC")
    times = pd.date_range(start, periods=len(values), freq="5min")
    n = (len(values) * 5) // step
    if n == 0:
        return
    out = resample_series(times, np.array(values), start, step, n)
    covered = n * step // 5
    assert out.sum() * step == pytest.approx(sum(values[:covered]) * 5, rel=1e-9, abs=1e-6)


def test_apply_series_to_scenario(tmp_path: Path) -> None:
    from store_factories import small_scenario

    sc = small_scenario(pv=False)
    start = sc.start
    rows = "".join(f"{(start + pd.Timedelta(hours=h)).isoformat()},{200 + h},{1.25}\n" for h in range(25))
    payload = parse_series(write(tmp_path, "time,base_load_kw,price_import_mad_per_kwh\n" + rows, "s.csv")).payload
    out = apply_series(sc, payload)
    assert out.base_load_kw[:4].tolist() == [200.0] * 4 and out.base_load_kw[4] == 201.0
    assert np.all(out.price_import_mad_per_kwh == 1.25)
    assert "tou_period" not in out.series
    assert np.array_equal(out.pv_kw, sc.pv_kw)


def test_tariff_and_catalog_imports(tmp_path: Path) -> None:
    from evfleet.inputs.tariffs import load_tariff

    tariff = load_tariff("onee_bt_bihoraire").to_dict()
    good = write(tmp_path, json.dumps(tariff), "t.json")
    parsed = parse_tariff(good)
    assert parsed.payload["tariff"]["id"] == tariff["id"]
    tariff["periods"][next(iter(tariff["periods"]))]["price_mad_per_kwh"] = -1
    with pytest.raises(ValueError, match=r"price_mad_per_kwh.*-1"):
        parse_tariff(write(tmp_path, json.dumps(tariff), "bad.json"))
    cat = write(tmp_path, "model,battery_kwh,ac_charge_kw,dc_charge_kw\nAtlas E-Van,75,11,100\n", "cat.csv")
    parsed_cat = parse_catalog(cat)
    assert parsed_cat.payload["rows"][0]["model"] == "Atlas E-Van"
    with pytest.raises(ValueError, match=r"row 1.*battery_kwh.*'-2'"):
        parse_catalog(write(tmp_path, "model,battery_kwh,ac_charge_kw\nBad,-2,11\n", "badcat.csv"))


_MODELS = ["Renault Zoe", "Tesla Model 3", "Nissan Leaf", "Peugeot 208"]


@settings(max_examples=25, deadline=None)
@given(
    hst.lists(
        hst.tuples(
            hst.sampled_from(_MODELS),
            hst.integers(0, 47),  # arrival, half hours after 2026-03-02 12:00
            hst.integers(1, 40),  # stay, half hours
            hst.integers(0, 100),  # SOC at arrival [%]
            hst.integers(0, 100),  # target [%]
            hst.sampled_from(["ac7.4", "ac11", "ac22"]),
            hst.booleans(),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_fleet_round_trip_property(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple]) -> None:
    """Any valid fleet: import -> normalised CSV -> import again gives the same payload, and a runnable scenario."""
    start = pd.Timestamp("2026-03-02T12:00", tz="Africa/Casablanca")
    lines = [HEADER.strip() + ",bidirectional"]
    for i, (model, arr, stay, soc_a, soc_t, charger, bidi) in enumerate(rows):
        a = start + pd.Timedelta(minutes=30 * arr)
        d = a + pd.Timedelta(minutes=30 * stay)
        lines.append(f"V{i},{model},{a.isoformat()},{d.isoformat()},{soc_a}%,{soc_t / 100},{charger},{bidi}")
    tmp = tmp_path_factory.mktemp("fleet")
    first = parse_fleet(write(tmp, "\n".join(lines) + "\n"))
    again = parse_fleet(write(tmp, fleet_to_csv(first.payload), "again.csv"))
    assert again.payload == first.payload
    sc = scenario_from_fleet(first.payload, pv_kwp=0.0)
    assert sc.n_vehicles == len(rows)
    assert np.all(sc.vehicles.departure_step > sc.vehicles.arrival_step)
