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


# --- generation parameters (sweep and fleet YAML, `scenario new`): checked at load, never in a worker -------------

#: Sweep specs whose generation parameters are bad: (YAML, a fragment the error must hold: field and value).
BAD_PARAM_SPECS = {
    "latitude 1000": ("base: {latitude: 1000}\n", "'latitude'", "1000"),
    "latitude -91": ("base: {latitude: -91}\n", "'latitude'", "-91"),
    "latitude NaN": ("base: {latitude: .nan}\n", "latitude", "nan"),
    "latitude true": ("base: {latitude: true}\n", "latitude", "True"),
    "longitude 181": ("base: {longitude: 181}\n", "'longitude'", "181"),
    "longitude -1000": ("grid: {longitude: [0, -1000]}\n", "'longitude'", "-1000"),
    "longitude infinite": ("base: {longitude: .inf}\n", "longitude", "inf"),
    "charger share infinite": ("base: {charger_mix: {ac11: .inf}}\n", "charger_mix[ac11]", "inf"),
    "charger share NaN": ("base: {charger_mix: {ac11: .nan, ac22: 1}}\n", "charger_mix[ac11]", "nan"),
    "charger shares all 0": ("base: {charger_mix: {ac11: 0, ac22: 0}}\n", "charger_mix", "0"),
    "charger share negative": ("base: {charger_mix: {ac11: -0.5, ac22: 1}}\n", "charger_mix[ac11]", "-0.5"),
    "charger share true": ("base: {charger_mix: {ac11: true}}\n", "charger_mix", "True"),
    "charger share huge": ("base: {charger_mix: {ac11: 1.0e308, ac22: 1.0e308}}\n", "charger_mix", "1e+308"),
    "charger type unknown": ("base: {charger_mix: {hpc350: 1}}\n", "charger_mix", "'hpc350'"),
    "vehicles true": ("base: {vehicles: true}\n", "vehicles", "True"),
    "soc_target true": ("base: {soc_target: true}\n", "soc_target", "True"),
    "soc_target infinite": ("base: {soc_target: .inf}\n", "soc_target", "inf"),
    "pv_kwp infinite": ("base: {pv_kwp: .inf}\n", "pv_kwp", "inf"),
    "import limit NaN": ("base: {import_limit_kw: .nan}\n", "import_limit_kw", "nan"),
    "seed negative": ("base: {seed: -1}\n", "seed", "-1"),
    "bidirectional share 2": ("base: {bidirectional_share: 2}\n", "bidirectional_share", "2"),
    "efficiency 0": ("base: {charge_efficiency: 0}\n", "charge_efficiency", "0"),
    "composition count true": ("base: {vehicles: 1, composition: {Nissan Leaf: true}}\n", "composition", "True"),
    "composition count 2.5": ("base: {vehicles: 2, composition: {Nissan Leaf: 2.5}}\n", "composition", "2.5"),
    "composition count infinite": ("base: {vehicles: 2, composition: {Nissan Leaf: .inf}}\n", "composition", "inf"),
    "composition as text": ("base: {vehicles: 2, composition: 'Nissan Leaf:two'}\n", "composition", "two"),
    "composition sum wrong": ("base: {vehicles: 10, composition: {Nissan Leaf: 3}}\n", "composition", "sum to 3"),
}


@pytest.mark.parametrize("name", list(BAD_PARAM_SPECS))
def test_bad_generation_parameter_in_a_sweep(tmp_path: Path, name: str) -> None:
    text, field, value = BAD_PARAM_SPECS[name]
    path = tmp_path / "in" / "spec.yaml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    output = _refused(tmp_path, ["sweep", str(path), "--workers", "0"])
    assert field in output and value in output, (name, output)


BAD_GENERATED_DEPOTS = {
    "latitude 100": ("{vehicles: 10, latitude: 100}", "latitude", "100"),
    "longitude -200": ("{vehicles: 10, longitude: -200}", "longitude", "-200"),
    "charger share infinite": ("{vehicles: 10, charger_mix: {ac11: .inf}}", "charger_mix", "inf"),
    "charger type unknown": ("{vehicles: 10, charger_mix: {ac99: 1}}", "charger_mix", "ac99"),
    "vehicles true": ("{vehicles: true}", "vehicles", "True"),
    "pv NaN": ("{vehicles: 10, pv_kwp: .nan}", "pv_kwp", "nan"),
}


@pytest.mark.parametrize("name", list(BAD_GENERATED_DEPOTS))
def test_bad_generated_depot_in_a_fleet_file(tmp_path: Path, name: str) -> None:
    gen, field, value = BAD_GENERATED_DEPOTS[name]
    path = tmp_path / "in" / "fleet.yaml"
    path.parent.mkdir()
    path.write_text(f"depots: [{{name: a, generate: {gen}}}]\n", encoding="utf-8")
    output = _refused(tmp_path, ["run", str(path), "--workers", "0"])
    assert field in output and value in output, (name, output)


#: `evfleet scenario new` options: (arguments, field, value).
BAD_NEW_OPTIONS = {
    "charger share infinite": (["--charger-mix", "ac11:inf"], "charger_mix", "inf"),
    "charger share NaN": (["--charger-mix", "ac11:nan,ac22:1"], "charger_mix", "nan"),
    "charger type unknown": (["--charger-mix", "hpc350:1"], "charger_mix", "hpc350"),
    "charger shares 0": (["--charger-mix", "ac11:0"], "charger_mix", "0"),
    "pv infinite": (["--pv-kwp", "inf"], "pv_kwp", "inf"),
    "import limit NaN": (["--import-limit-kw", "nan"], "import_limit_kw", "nan"),
    "soc target 1.5": (["--soc-target", "1.5"], "soc_target", "1.5"),
    "composition count negative": (["--composition", "Nissan Leaf:-5"], "Nissan Leaf", "-5"),
}


@pytest.mark.parametrize("name", list(BAD_NEW_OPTIONS))
def test_bad_scenario_new_option(tmp_path: Path, name: str) -> None:
    args, field, value = BAD_NEW_OPTIONS[name]
    out = tmp_path / "s.json"
    res = runner.invoke(app, ["scenario", "new", "--vehicles", "50", *args, "--out", str(out)])
    assert res.exit_code == 2 and "error: " in res.output, (name, res.output)
    assert field in res.output and value in res.output, (name, res.output)
    assert not out.exists() and _listing(tmp_path) == []


# --- catalogue files ---------------------------------------------------------------------------------------------

_ROW = "model,battery_kwh,ac_charge_kw,dc_charge_kw,v2g,source\n"
BAD_CATALOGUES = {
    "battery 0": (_ROW + "My EV,0,11,50,no,assumption\n", "battery_kwh", "0"),
    "battery text": (_ROW + "My EV,big,11,50,no,assumption\n", "battery_kwh", "big"),
    "battery NaN": (_ROW + "My EV,nan,11,50,no,assumption\n", "battery_kwh", "nan"),
    "battery infinite": (_ROW + "My EV,inf,11,50,no,assumption\n", "battery_kwh", "inf"),
    "ac power 500": (_ROW + "My EV,60,500,50,no,assumption\n", "ac_charge_kw", "500"),
    "no charging at all": (_ROW + "My EV,60,0,0,no,assumption\n", "ac_charge_kw", "0"),
    "v2g maybe": (_ROW + "My EV,60,11,50,maybe,assumption\n", "v2g", "maybe"),
    "unknown column": ("model,battery_kwh,colour\nMy EV,60,red\n", "colour", "red"),
    "empty model": (_ROW + ",60,11,50,no,assumption\n", "model", "''"),
    "duplicate model": (_ROW + "My EV,60,11,50,no,a\nMy EV,70,11,50,no,a\n", "model", "My EV"),
    "binary": ("\x00\x01\xff\xfe", "catalogue", ""),
}


@pytest.mark.parametrize("name", list(BAD_CATALOGUES))
def test_bad_catalogue_file(tmp_path: Path, name: str) -> None:
    text, field, value = BAD_CATALOGUES[name]
    path = tmp_path / "in" / "models.csv"
    path.parent.mkdir()
    path.write_bytes(text.encode("latin-1"))
    out = tmp_path / "s.json"
    res = runner.invoke(app, ["scenario", "new", "--vehicles", "50", "--catalog", str(path), "--out", str(out)])
    assert res.exit_code == 2 and "error: " in res.output, (name, res.output)
    if field != "catalogue":
        assert field in res.output and value in res.output, (name, res.output)
    assert not out.exists()


# --- backup archives -----------------------------------------------------------------------------------------------


def _tar(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


BAD_ARCHIVES = {
    "not an archive": b"hello, this is not a backup\n",
    "empty file": b"",
    "gzip of garbage": __import__("gzip").compress(b"\x00" * 100),
    "archive without a manifest": _tar({"evfleet.db": b"SQLite format 3\x00" + b"\x00" * 100}),
    "manifest not JSON": _tar({"manifest.json": b"{not json", "evfleet.db": b"x"}),
    "manifest a list": _tar({"manifest.json": b"[]", "evfleet.db": b"x"}),
    "path traversal member": _tar({"../../evil.txt": b"x", "manifest.json": b"{}"}),
    "absolute member": _tar({"/tmp/evil.txt": b"x", "manifest.json": b"{}"}),
}


@pytest.mark.parametrize("name", list(BAD_ARCHIVES))
def test_bad_backup_archive(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "in" / "backup.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(BAD_ARCHIVES[name])
    db = tmp_path / "store" / "evfleet.db"
    db.parent.mkdir()  # (restore creates the store's folder before it reads the archive: a folder, no file)
    before = _listing(tmp_path)
    res = runner.invoke(app, ["restore", str(archive), "--db", str(db)])
    assert res.exit_code == 2 and "error: " in res.output, (name, res.output)
    assert not db.exists() and _listing(tmp_path) == before, (name, _listing(tmp_path))
    assert not (tmp_path.parent / "evil.txt").exists()


# --- dashboard uploads (the functions the upload widgets call) ------------------------------------------------------

BAD_DASHBOARD_FLEETS = {
    "no count column": (b"model,number\nTesla Model 3,60\n", "'count'", "number"),
    "count text": (b"model,count\nTesla Model 3,sixty\n", "'count'", "sixty"),
    "count fraction": (b"model,count\nTesla Model 3,60.5\n", "count", "60.5"),
    "count negative": (b"model,count\nTesla Model 3,-60\n", "count", "-60"),
    "empty model": (b"model,count\n,60\n", "'model'", "''"),
    "too few vehicles": (b"model,count\nTesla Model 3,5\n", "sum to 5", "50-2000"),
    "too many vehicles": (b"model,count\nTesla Model 3,5001\n", "5001 sessions", "at most 5000"),
    "binary": (b"\x00\xff\xfe\x01", "fleet CSV", ""),
}


@pytest.mark.parametrize("name", list(BAD_DASHBOARD_FLEETS))
def test_bad_dashboard_fleet_upload(name: str) -> None:
    from evfleet.dashboard import state

    data, field, value = BAD_DASHBOARD_FLEETS[name]
    with pytest.raises(InputError) as err:
        state.composition_from_csv(data)
    assert field in str(err.value) and value in str(err.value), (name, str(err.value))


def test_a_dashboard_scenario_upload_runs_the_loader_and_the_session_bound(monkeypatch) -> None:
    from evfleet.dashboard.launch import ENV_DASHBOARD_MAX_SESSIONS, check_upload_sessions

    monkeypatch.setenv(ENV_DASHBOARD_MAX_SESSIONS, "2")
    with pytest.raises(InputError, match=r"3 sessions.*at most 2"):
        check_upload_sessions(scenario_from_dict(base_scenario()).n_vehicles, "upload")


def test_the_corpus_holds_at_least_150_cases_beyond_the_scenario_files() -> None:
    others = {
        "sweep specs": len(BAD_SPECS) + len(BAD_PARAM_SPECS),
        "fleet YAML": len(BAD_FLEETS) + len(BAD_GENERATED_DEPOTS),
        "scenario new options": len(BAD_NEW_OPTIONS),
        "tariffs": len(BAD_TARIFFS),
        "fleet CSV": len(BAD_FLEET_CSV),
        "catalogues": len(BAD_CATALOGUES),
        "archives": len(BAD_ARCHIVES),
        "dashboard uploads": len(BAD_DASHBOARD_FLEETS) + 1,
    }
    assert len(BAD_SCENARIOS) >= 700 and sum(others.values()) >= 100, others  # 840 cases in all today
