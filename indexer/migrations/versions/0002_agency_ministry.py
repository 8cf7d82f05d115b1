"""agencies.ministry_code: the root of the agency code (text before the first "/"), for totals by ministry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ministry_code", sa.String(length=66), nullable=False, server_default=""))
    # Backfill the rows an older indexer wrote, with the rule the indexer applies to new ones.
    agencies = sa.table("agencies", sa.column("code", sa.String), sa.column("ministry_code", sa.String))
    connection = op.get_bind()
    for (code,) in connection.execute(sa.select(agencies.c.code)).all():
        connection.execute(agencies.update().where(agencies.c.code == code).values(ministry_code=code.split("/", 1)[0]))
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.alter_column("ministry_code", server_default=None)
        batch_op.create_index("ix_agencies_ministry", ["ministry_code", "code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agencies", schema=None) as batch_op:
        batch_op.drop_index("ix_agencies_ministry")
        batch_op.drop_column("ministry_code")
