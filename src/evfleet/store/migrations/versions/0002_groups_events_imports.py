"""Comparisons/sweeps grouping runs, grid-quality events, imported datasets.

Adds ``runs.group_id`` as a plain nullable column (``ALTER TABLE ... ADD COLUMN``): no table is rebuilt, so rows
written under 0001 are untouched.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("scenario_hash", sa.String(64), nullable=True),
        sa.Column("options_json", sa.Text, nullable=False),
        sa.Column("meta_json", sa.Text, nullable=False),
    )
    op.add_column("runs", sa.Column("group_id", sa.String(16), nullable=True))
    op.create_index("ix_runs_group_id", "runs", ["group_id"])
    op.create_table(
        "grid_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(16), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
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
    op.create_index("ix_grid_events_run_id", "grid_events", ["run_id"])
    op.create_table(
        "imports",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.String(40), nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("payload_json", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("imports")
    op.drop_index("ix_grid_events_run_id", "grid_events")
    op.drop_table("grid_events")
    op.drop_index("ix_runs_group_id", "runs")
    op.drop_column("runs", "group_id")
    op.drop_table("groups")
