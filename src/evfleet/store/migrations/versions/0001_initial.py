"""First schema: scenarios (content-addressed), runs, per-step site series, per-vehicle summaries, traces.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("start", sa.String(40), nullable=False),
        sa.Column("step_minutes", sa.Integer, nullable=False),
        sa.Column("n_steps", sa.Integer, nullable=False),
        sa.Column("n_vehicles", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("scenario_json", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("scenario_hash", sa.String(64), sa.ForeignKey("scenarios.hash"), nullable=False),
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
    )
    op.create_index("ix_runs_scenario_hash", "runs", ["scenario_hash"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_table(
        "site_steps",
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
    )
    op.create_table(
        "vehicle_summaries",
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
    op.create_table(
        "traces",
        sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("format", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    for table in ("traces", "vehicle_summaries", "site_steps", "runs", "scenarios"):
        op.drop_table(table)
