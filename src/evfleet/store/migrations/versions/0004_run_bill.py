"""Each run's bill (the ``bill.json`` object of its run directory).

Adds the nullable column ``runs.bill_json`` (text, the bill as JSON). Runs stored before this revision keep NULL;
``Store.bill`` bills them from their stored scenario and site series. No table is rebuilt.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("bill_json", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "bill_json")
