"""Extra per-step site columns (e.g. the grid-quality estimates) and each run's site.csv column order.

Adds the nullable columns ``site_steps.extra_json`` (a JSON object per step with the columns outside the fixed
schema) and ``runs.site_columns_json`` (the column order of the run's ``site.csv``). No table is rebuilt.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("site_steps", sa.Column("extra_json", sa.Text, nullable=True))
    op.add_column("runs", sa.Column("site_columns_json", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "site_columns_json")
    op.drop_column("site_steps", "extra_json")
