"""KPIs on a hand-checkable case, output files, and the CLI (including bad input)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from evfleet.analysis.kpis import compute_kpis
from evfleet.cli import app
from evfleet.results.run_files import write_run_outputs
from evfleet.simulation.simulate import simulate
from factories import scenario_dict, tiny_scenario

runner = CliRunner()


def test_kpis_hand_case() -> None:
    # One vehicle charges 10, 10, 5, 0 kW (hourly steps); base 2 kW; PV 4 kW in step 3; prices 1, 2, 3, 4.
    sc = tiny_scenario(price=[1.0, 2.0, 3.0, 4.0], base_load_kw=[2.0] * 4, pv_kw=[0.0, 0.0, 0.0, 4.0],
                       price_export=[0.5] * 4)  # fmt: skip
    k = compute_kpis(simulate(sc, "uncontrolled"))
    # site = 12, 12, 7, -2 kW
    assert k["energy_charged_kwh"] == pytest.approx(25.0)
    assert k["import_cost_mad"] == pytest.approx(12 * 1 + 12 * 2 + 7 * 3)
    assert k["export_revenue_mad"] == pytest.approx(2 * 0.5)
    assert k["net_cost_mad"] == pytest.approx(57 - 1)
    assert k["peak_import_kw"] == pytest.approx(12.0)
    assert k["load_factor"] == pytest.approx((31 / 4) / 12)
    assert k["peak_to_average"] == pytest.approx(12 / (31 / 4))
    assert k["pv_self_consumption_pct"] == pytest.approx(50.0)
    assert k["vehicles_served_pct"] == 100.0 and k["unmet_energy_kwh"] == 0.0


def test_degradation_cost_counts_discharge() -> None:
    from evfleet.strategies import ChargingProblem, Strategy

    class DischargeOnce(Strategy):
        name = "discharge_once"

        def schedule(self, problem: ChargingProblem) -> np.ndarray:
            out = np.zeros((problem.n_vehicles, problem.n_steps))
            out[:, 0] = -5.0
            return out

    sc = tiny_scenario(vehicles=[{"soc_arrival": 0.6, "max_discharge_kw": 7.0}], degradation_mad_per_kwh=0.4,
                       base_load_kw=[10.0] * 4)  # fmt: skip
    k = compute_kpis(simulate(sc, DischargeOnce()))
    assert k["energy_discharged_kwh"] == pytest.approx(5.0)
    assert k["degradation_cost_mad"] == pytest.approx(2.0)
    assert k["v2g_displaced_cost_mad"] == pytest.approx(5.0 * 1.0)


def test_output_files(tmp_path) -> None:
    sc = tiny_scenario(vehicles=[{}, {"arrival_step": 1, "departure_step": 2}])
    result = simulate(sc, "uncontrolled")
    paths = write_run_outputs(result, tmp_path / "run")
    kpis = json.loads(paths["kpis"].read_text())
    for key in ("energy_charged_kwh", "energy_discharged_kwh", "import_cost_mad", "export_revenue_mad",
                "degradation_cost_mad", "net_cost_mad", "peak_import_kw", "load_factor", "peak_to_average",
                "unmet_energy_kwh", "vehicles_served_pct", "pv_self_consumption_pct", "runtime_s"):  # fmt: skip
        assert key in kpis
    trace = np.load(paths["trace"])
    assert trace["power_kw"].shape == (2, 4) and trace["soc"].shape == (2, 5) and trace["site_kw"].shape == (4,)
    site = pd.read_csv(paths["site"])
    assert len(site) == 4 and {"time", "tou_period", "price_import_mad_per_kwh", "base_load_kw", "pv_kw", "ev_kw",
                                "site_kw"} <= set(site.columns)  # fmt: skip
    veh = pd.read_csv(paths["vehicles"])
    assert list(veh["id"]) == ["V0", "V1"]
    assert veh.loc[1, "unmet_reason"] == "stay_too_short" and veh.loc[1, "unmet_kwh"] == pytest.approx(15.0)


def test_cli_scenario_run(tmp_path) -> None:
    sc_path = tmp_path / "sc.json"
    res = runner.invoke(app, ["scenario", "new", "--vehicles", "40", "--seed", "3", "--start", "2026-02-02",
                              "--out", str(sc_path)])  # fmt: skip
    assert res.exit_code == 0, res.output
    first = sc_path.read_bytes()
    res = runner.invoke(app, ["scenario", "new", "--vehicles", "40", "--seed", "3", "--start", "2026-02-02",
                              "--out", str(sc_path)])  # fmt: skip
    assert sc_path.read_bytes() == first
    res = runner.invoke(app, ["run", str(sc_path), "--strategy", "uncontrolled", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "net_cost_mad" in res.output
    assert (tmp_path / "r" / "kpis.json").exists()


def test_cli_bad_inputs(tmp_path) -> None:
    data = scenario_dict()
    data["vehicles"]["soc_arrival"] = [1.5]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    out = tmp_path / "r"
    res = runner.invoke(app, ["run", str(bad), "--out", str(out)])
    assert res.exit_code == 2
    assert "vehicles.soc_arrival[0]" in res.output and "1.5" in res.output
    assert not out.exists()
    res = runner.invoke(app, ["run", str(bad), "--out", str(out), "--strategy", "magic"])
    assert res.exit_code == 2 and "unknown strategy 'magic'" in res.output
    res = runner.invoke(app, ["scenario", "new", "--vehicles", "10", "--soc-min", "30", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "soc_min" in res.output and "30" in res.output
    res = runner.invoke(app, ["scenario", "new", "--charger-mix", "ac11:lots", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "ac11" in res.output


def test_cli_catalog_formats() -> None:
    res = runner.invoke(app, ["catalog", "--format", "json", "--sort", "battery_kwh"])
    assert res.exit_code == 0
    rows = json.loads(res.output)
    caps = [r["battery_kwh"] for r in rows]
    assert caps == sorted(caps, reverse=True)
    res = runner.invoke(app, ["catalog", "--format", "csv"])
    assert res.output.splitlines()[0].startswith("model,registrations,battery_kwh")
    res = runner.invoke(app, ["catalog", "--sort", "colour"])
    assert res.exit_code == 2 and "colour" in res.output


def test_cli_demo() -> None:
    res = runner.invoke(app, ["demo", "--vehicles", "50"])
    assert res.exit_code == 0, res.output
    assert "peak_import_kw" in res.output


def test_user_errors_keeps_a_deliberate_exit_status() -> None:
    import typer

    from evfleet.cli._common import user_errors

    @user_errors
    def quits() -> None:
        raise typer.Exit(3)

    with pytest.raises(typer.Exit) as info:
        quits()
    assert info.value.exit_code == 3


def test_user_errors_maps_every_failure_to_a_status(tmp_path, monkeypatch, capsys) -> None:
    """Bad input: 2; a run failure or a full disk: 1; a bug (a KeyError): 1 with "internal error", never reported as
    bad input ("error: 'foo'" with status 2), and its traceback with --debug."""
    import errno

    import typer

    from evfleet._common.errors import InputError, RunError
    from evfleet.cli._common import ENV_DEBUG, user_errors

    def raising(exc: BaseException):
        @user_errors
        def command() -> None:
            raise exc

        return command

    def status(exc: BaseException) -> tuple[int, str]:
        with pytest.raises(typer.Exit) as info:
            raising(exc)()
        return info.value.exit_code, capsys.readouterr().err

    monkeypatch.delenv(ENV_DEBUG, raising=False)
    assert status(InputError("field 'x' must be > 0 (value -1)")) == (2, "error: field 'x' must be > 0 (value -1)\n")
    assert status(RunError("solver failed"))[0] == 1
    code, err = status(KeyError("foo"))
    assert code == 1 and "internal error KeyError" in err and "--debug" in err
    missing = tmp_path / "missing.json"
    assert status(FileNotFoundError(2, "No such file or directory", str(missing))) == (
        2,
        f"error: {missing}: No such file or directory\n",
    )
    code, err = status(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out")))
    assert code == 1 and "no space left" in err
    monkeypatch.setenv(ENV_DEBUG, "1")
    with pytest.raises(KeyError):
        raising(KeyError("foo"))()


def test_version_and_control_characters_in_errors(capsys) -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == __import__("evfleet").__version__
    import typer

    from evfleet._common.errors import InputError
    from evfleet.cli._common import user_errors

    @user_errors
    def command() -> None:
        raise InputError("name 'evil\x1b[2J\x07' is not known")

    with pytest.raises(typer.Exit):
        command()
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[2J\\x07" in err
