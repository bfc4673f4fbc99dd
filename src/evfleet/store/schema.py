"""Tables of the run store (schema at the newest migration; see ``evfleet/migrations``).

Units are in the column names: power [kW], energy [kWh], prices [MAD/kWh], SOC fraction 0-1, times ISO 8601 text
(run bookkeeping in UTC, series in the site's local time with its UTC offset). JSON documents are stored as text.

The migrations in ``evfleet/migrations/versions`` are the authority on the schema; this module mirrors the newest
revision so that the store can build queries. ``SCHEMA_HEAD`` names that revision.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "SCHEMA_HEAD",
    "SITE_STEP_COLUMNS",
    "VEHICLE_COLUMNS",
    "events",
    "groups",
    "imports",
    "metadata",
    "runs",
    "scenarios",
    "site_steps",
    "traces",
    "vehicle_summaries",
]

#: Newest migration revision this evfleet knows.
SCHEMA_HEAD = "0004"

metadata = sa.MetaData()

scenarios = sa.Table(
    "scenarios",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),  # sha256 of the canonical scenario JSON
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("start", sa.String(40), nullable=False),
    sa.Column("step_minutes", sa.Integer, nullable=False),
    sa.Column("n_steps", sa.Integer, nullable=False),
    sa.Column("n_vehicles", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("scenario_json", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("scenario_hash", sa.String(64), sa.ForeignKey("scenarios.hash"), nullable=False, index=True),
    sa.Column("strategy", sa.String(80), nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("options_json", sa.Text, nullable=False),
    sa.Column("strategy_params_json", sa.Text, nullable=False),
    sa.Column("evfleet_version", sa.String(40), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("label", sa.Text, nullable=True),
    sa.Column("kpis_json", sa.Text, nullable=False),
    sa.Column("group_id", sa.String(16), nullable=True, index=True),  # added in 0002
    sa.Column("site_columns_json", sa.Text, nullable=True),  # added in 0003: column order of site.csv
    sa.Column("bill_json", sa.Text, nullable=True),  # added in 0004: the run's bill.json (NULL for older runs)
)

site_steps = sa.Table(
    "site_steps",
    metadata,
    sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("time", sa.String(40), nullable=False),
    sa.Column("tou_period", sa.String(40), nullable=False),
    sa.Column("price_import_mad_per_kwh", sa.Float, nullable=False),
    sa.Column("price_export_mad_per_kwh", sa.Float, nullable=False),
    sa.Column("base_load_kw", sa.Float, nullable=False),
    sa.Column("pv_kw", sa.Float, nullable=False),
    sa.Column("ev_kw", sa.Float, nullable=False),
    sa.Column("ev_charge_kw", sa.Float, nullable=False),
    sa.Column("ev_discharge_kw", sa.Float, nullable=False),
    sa.Column("site_kw", sa.Float, nullable=False),
    sa.Column("import_limit_kw", sa.Float, nullable=False),
    sa.Column("n_connected", sa.Integer, nullable=False),
    sa.Column("n_charging", sa.Integer, nullable=False),
    sa.Column("n_discharging", sa.Integer, nullable=False),
    sa.Column("n_idle", sa.Integer, nullable=False),
    sa.Column("frequency_hz", sa.Float, nullable=True),
    sa.Column("extra_json", sa.Text, nullable=True),  # added in 0003: other per-step columns (JSON object)
)

#: Columns of ``site.csv`` kept per step, in file order (``frequency_hz`` only when the scenario has it).
SITE_STEP_COLUMNS = ["time", "step"] + [
    c.name for c in site_steps.columns if c.name not in ("run_id", "step", "time", "extra_json")
]

vehicle_summaries = sa.Table(
    "vehicle_summaries",
    metadata,
    sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("id", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("arrival_step", sa.Integer, nullable=False),
    sa.Column("departure_step", sa.Integer, nullable=False),
    sa.Column("arrival_time", sa.String(40), nullable=False),
    sa.Column("departure_time", sa.String(40), nullable=False),
    sa.Column("battery_kwh", sa.Float, nullable=False),
    sa.Column("soc_arrival", sa.Float, nullable=False),
    sa.Column("soc_departure", sa.Float, nullable=False),
    sa.Column("soc_target", sa.Float, nullable=False),
    sa.Column("energy_charged_kwh", sa.Float, nullable=False),
    sa.Column("energy_discharged_kwh", sa.Float, nullable=False),
    sa.Column("unmet_kwh", sa.Float, nullable=False),
    sa.Column("unmet_reason", sa.String(40), nullable=False),
    sa.Column("max_charge_kw", sa.Float, nullable=False),
    sa.Column("max_discharge_kw", sa.Float, nullable=False),
    sa.Column("vehicle", sa.Text, nullable=True),
    sa.Column("charger", sa.Text, nullable=True),
)

#: Columns of ``vehicles.csv`` kept per session, in file order (``vehicle``/``charger`` only when present).
VEHICLE_COLUMNS = [c.name for c in vehicle_summaries.columns if c.name not in ("run_id", "idx")]

traces = sa.Table(
    "traces",
    metadata,
    sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("path", sa.Text, nullable=False),  # relative to the trace directory
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
)

# --- revision 0002 ----------------------------------------------------------------------------------------------

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # comparison | sweep | live
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("scenario_hash", sa.String(64), nullable=True),
    sa.Column("options_json", sa.Text, nullable=False),
    sa.Column("meta_json", sa.Text, nullable=False),
)

events = sa.Table(
    "grid_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("step", sa.Integer, nullable=True),
    sa.Column("time", sa.String(40), nullable=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=True),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("limit_value", sa.Float, nullable=True),
    sa.Column("unit", sa.Text, nullable=True),
    sa.Column("standard", sa.Text, nullable=True),
    sa.Column("detail_json", sa.Text, nullable=False),
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # fleet | series | tariff | catalog
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_sha256", sa.String(64), nullable=False),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("payload_json", sa.Text, nullable=False),
)
