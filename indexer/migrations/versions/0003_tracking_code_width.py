"""Tracking-code columns as wide as any code column (66): a bytes32 that is no canonical
tracking code (low 12 bytes not zero, which older deployments accepted) is stored as the
0x-hex of all 32 bytes, so that two on-chain codes never share a row.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = (
    ("requests", "tracking_code"),
    ("request_transitions", "tracking_code"),
    ("disbursements", "request_tracking"),
)


def _width(width_from: int, width_to: int) -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=width_from), type_=sa.String(length=width_to))


def upgrade() -> None:
    _width(39, 66)


def downgrade() -> None:
    _width(66, 39)
