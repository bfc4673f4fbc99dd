"""Bad input through the command line: every case gets `error:` naming the field and value, exit status 2, nothing
written to --out and the run store unchanged.

The scenario cases are the 700-odd bad mappings of ``tests/scenario_corpus.py`` (one bad value per field of the
scenario table and combinations), each written as a file and given to `evfleet run`; tariff, sweep, fleet-file and
fleet-CSV cases follow. A hypothesis test feeds random JSON to the scenario and tariff loaders: nothing but the
project's error type may come out.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from evfleet._common.errors import InputError
from evfleet.cli import app
from evfleet.inputs.tariffs import tariff_from_dict
from evfleet.scenario import scenario_from_dict
from scenario_corpus import apply, base_scenario, load_record

runner = CliRunner()
RECORD = load_record()
BAD_SCENARIOS = [c for c in RECORD["cases"] if "error" in c]


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _refused(tmp_path: Path, args: list[str], fragment: str | None = None) -> str:
    """Run ``evfleet ARGS --out OUT --db DB``: status 2, an error line, nothing in OUT, the store untouched."""
    out, db = tmp_path / "out", tmp_path / "store" / "evfleet.db"
    before = _listing(tmp_path)
    res = runner.invoke(app, [*args, "--out", str(out), "--db", str(db)])
    assert res.exit_code == 2, (args, res.exit_code, res.output)
    assert res.output.startswith("error: ") or "\nerror: " in res.output, res.output
    assert not out.exists() and not db.exists()
    assert _listing(tmp_path) == before
    if fragment is not None:
        assert fragment in res.output, (fragment, res.output)
    return res.output


def test_the_corpus_is_large() -> None:
    assert len(BAD_SCENARIOS) >= 700


@pytest.mark.parametrize("case", BAD_SCENARIOS, ids=[c["name"] for c in BAD_SCENARIOS])
def test_bad_scenario_file(tmp_path: Path, case: dict) -> None:
    data = apply(base_scenario(), case["ops"])
    path = tmp_path / "in" / "scenario.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data), encoding="utf-8")  # NaN and infinities as JSON's NaN/Infinity extensions
    output = _refused(tmp_path, ["run", str(path)])
    field = re.search(r"field '([^']+)'", case["message"])
    if field:  # the error names the offending field (and its value, in the recorded message)
        assert f"field '{field.group(1)}'" in output, (case["message"], output)


def _tariff(**changes: object) -> dict:
    base = {
        "format": "evfleet.tariff/1",
        "id": "t",
        "name": "test",
        "currency": "MAD",
        "periods": {"creuses": {"price_mad_per_kwh": 1.0, "status": "assumption"}},
        "seasons": {"all": {"months": list(range(1, 13)), "hours": {"creuses": [[0, 24]]}}},
    }
    base.update(changes)
    return base


BAD_SPECS = {
    "not a mapping": "[1, 2]",
    "unknown section": "base: {vehicles: 10}\ngird: {seed: [1]}\n",
    "empty grid list": "grid: {seed: []}\n",
    "unknown key": "base: {vehicels: 10}\n",
    "duplicate values": "grid: {seed: [1, 1]}\n",
    "bad draws": "random: {draws: 0, seed: {randint: [0, 9]}}\n",
    "negative vehicles": "base: {vehicles: -5}\n",
    "alias": "base: &b {vehicles: 10}\ngrid: {seed: [1]}\n",
    "strategy unknown": "grid: {strategy: [nope]}\n",
    "not yaml": "base: [1,\n",
}


@pytest.mark.parametrize("name", list(BAD_SPECS))
def test_bad_sweep_spec(tmp_path: Path, name: str) -> None:
    path = tmp_path / "in" / "spec.yaml"
    path.parent.mkdir()
    path.write_text(BAD_SPECS[name], encoding="utf-8")
    _refused(tmp_path, ["sweep", str(path), "--workers", "0"])


BAD_FLEETS = {
    "no depots": "fleet: {name: x}\n",
    "depot not a mapping": "depots: [3]\n",
    "unknown depot key": "depots: [{name: a, vehicles: 10, colour: red}]\n",
    "missing scenario file": "depots: [{name: a, scenario: nothere.json}]\n",
    "path escaping": "depots: [{name: a, scenario: ../../etc/passwd}]\n",
    "alias": "depots: [&d {name: a, vehicles: 10}]\n",
}


@pytest.mark.parametrize("name", list(BAD_FLEETS))
def test_bad_fleet_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / "in" / "fleet.yaml"
    path.parent.mkdir()
    path.write_text(BAD_FLEETS[name], encoding="utf-8")
    res = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "--workers", "0", "--no-store"])
    assert res.exit_code == 2, (name, res.output)
    assert "error: " in res.output and not (tmp_path / "out").exists()


BAD_TARIFFS = {
    "negative price": _tariff(periods={"creuses": {"price_mad_per_kwh": -1.0, "status": "assumption"}}),
    "price as bool": _tariff(periods={"creuses": {"price_mad_per_kwh": True, "status": "assumption"}}),
    "price NaN": _tariff(periods={"creuses": {"price_mad_per_kwh": float("nan"), "status": "assumption"}}),
    "unknown format": _tariff(format="evfleet.tariff/9"),
    "period missing": _tariff(periods={}),
    "window period unknown": _tariff(seasons={"all": {"months": [1], "hours": {"pleines": [[0, 24]]}}}),
    "seasons as a list": _tariff(seasons=[{"months": [1]}]),
    "seasons as text": _tariff(seasons="all year"),
    "span out of the day": _tariff(seasons={"all": {"months": [1], "hours": {"creuses": [[20, 26]]}}}),
    "month 13": _tariff(seasons={"all": {"months": [13], "hours": {}}}),
    "export price infinite": _tariff(export_price_mad_per_kwh=float("inf")),
    "period not an object": _tariff(periods={"creuses": 1.0}),
    "unknown status": _tariff(periods={"creuses": {"price_mad_per_kwh": 1.0, "status": "guess"}}),
}


@pytest.mark.parametrize("name", list(BAD_TARIFFS))
def test_bad_tariff(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError):
        tariff_from_dict(json.loads(json.dumps(BAD_TARIFFS[name])), f"<{name}>")
    path = tmp_path / "in" / "tariff.json"
    path.parent.mkdir()
    path.write_text(json.dumps(BAD_TARIFFS[name]), encoding="utf-8")
    res = runner.invoke(
        app, ["scenario", "new", "--vehicles", "5", "--tariff", str(path), "--out", str(tmp_path / "s.json")]
    )
    assert res.exit_code == 2 and "error: " in res.output, (name, res.output)
    assert not (tmp_path / "s.json").exists()


BAD_FLEET_CSV = {
    "empty": "",
    "no model column": "id,battery_kwh\nv1,40\n",
    "unknown model": "id,model,arrival,departure\nv1,Tesla Cybertruck X9,2026-01-05 08:00,2026-01-05 17:00\n",
    "departure before arrival": "id,model,arrival,departure\nv1,Nissan Leaf,2026-01-05 17:00,2026-01-05 08:00\n",
    "soc in percent": "id,model,arrival,departure,soc_arrival\nv1,Nissan Leaf,2026-01-05 08:00,2026-01-05 17:00,85\n",
    "binary": "\x00\x01\x02\xff\xfe",
}


@pytest.mark.parametrize("name", list(BAD_FLEET_CSV))
def test_bad_fleet_csv(tmp_path: Path, name: str) -> None:
    path = tmp_path / "in" / "fleet.csv"
    path.parent.mkdir()
    path.write_bytes(BAD_FLEET_CSV[name].encode("latin-1"))
    db = tmp_path / "store" / "evfleet.db"
    res = runner.invoke(
        app, ["import", "fleet", str(path), "--db", str(db), "--scenario-out", str(tmp_path / "s.json")]
    )
    assert res.exit_code == 2 and "error" in res.output, (name, res.output)
    assert not (tmp_path / "s.json").exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(base_scenario())), value=json_values)
def test_scenario_loader_raises_only_its_error_type(key: str, value: object) -> None:
    data = base_scenario()
    data[key] = value
    with contextlib.suppress(InputError):  # anything else (a TypeError, a KeyError...) fails the test
        scenario_from_dict(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(_tariff())), value=json_values)
def test_tariff_loader_raises_only_its_error_type(key: str, value: object) -> None:
    data = _tariff()
    data[key] = value
    with contextlib.suppress(InputError):
        tariff_from_dict(data, "<fuzz>")


@pytest.mark.parametrize(
    "content", [b"hello, not a database\n", bytes(range(256)) * 20, b"SQLite format 3\x00" + b"\xff" * 4096]
)
def test_a_db_that_is_not_a_store_is_refused_before_anything_is_written(tmp_path: Path, content: bytes) -> None:
    scenario = tmp_path / "in" / "scenario.json"
    scenario.parent.mkdir()
    scenario.write_text(json.dumps(base_scenario()), encoding="utf-8")
    db = tmp_path / "bad.db"
    db.write_bytes(content)
    for args in (["run", str(scenario)], ["compare", str(scenario), "--strategies", "uncontrolled"], ["history"]):
        extra = ["--out", str(tmp_path / "out")] if args[0] != "history" else []
        res = runner.invoke(app, [*args, *extra, "--db", str(db)])
        assert res.exit_code == 2 and "not an evfleet store" in res.output, (args, res.output)
        assert not (tmp_path / "out").exists()
    assert db.read_bytes() == content  # the file the user named is left as it was
