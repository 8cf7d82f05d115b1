"""The mirror schema: raw events, projections, blocks, ledger head and checkpoint (see indexer/tables.py).

Revision ID: 0001
Revises:
Create Date: 2026-11-21 23:37:56.139197
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=66), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_en", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "allocation_amendments",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("project_code", sa.String(length=66), nullable=False),
        sa.Column("previous_allocation", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("new_allocation", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("allocation_amendments", schema=None) as batch_op:
        batch_op.create_index("ix_allocation_amendments_project", ["project_code", "seq"], unique=False)

    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "disbursements",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("project_code", sa.String(length=66), nullable=False),
        sa.Column("agency_code", sa.String(length=66), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("voucher", sa.String(length=66), nullable=False),
        sa.Column("amount", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payee", sa.String(length=66), nullable=False),
        sa.Column("document_hash", sa.String(length=66), nullable=True),
        sa.Column("request_tracking", sa.String(length=39), nullable=True),
        sa.Column("head", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("reversed_by_seq", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("reversal_reason", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("disbursements", schema=None) as batch_op:
        batch_op.create_index("ix_disbursements_agency", ["agency_code", "seq"], unique=False)
        batch_op.create_index("ix_disbursements_amount", ["amount", "seq"], unique=False)
        batch_op.create_index("ix_disbursements_block_time", ["block_time", "seq"], unique=False)
        batch_op.create_index("ix_disbursements_fiscal_year", ["fiscal_year", "seq"], unique=False)
        batch_op.create_index("ix_disbursements_payee", ["payee", "seq"], unique=False)
        batch_op.create_index("ix_disbursements_project", ["project_code", "seq"], unique=False)
        batch_op.create_index("ux_disbursements_voucher", ["agency_code", "voucher"], unique=True)

    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("tx_index", sa.Integer(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=66), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_block_number", ["block_number"], unique=False)
        batch_op.create_index("ix_events_event_seq", ["event", "seq"], unique=False)

    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("head", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "projects",
        sa.Column("code", sa.String(length=66), nullable=False),
        sa.Column("agency_code", sa.String(length=66), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("initial_allocation", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("allocation", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("disbursed", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reversed", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("net", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("remaining", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("disbursement_count", sa.Integer(), nullable=False),
        sa.Column("reversal_count", sa.Integer(), nullable=False),
        sa.Column("amendment_count", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_activity_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_activity_block", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_activity_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index("ix_projects_agency", ["agency_code", "code"], unique=False)
        batch_op.create_index("ix_projects_fiscal_year", ["fiscal_year", "code"], unique=False)

    op.create_table(
        "recorders",
        sa.Column("added_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agency_code", sa.String(length=66), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("added_block", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("added_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("removed_seq", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("removed_block", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.Column("removed_time", sa.BigInteger(), autoincrement=False, nullable=True),
        sa.PrimaryKeyConstraint("added_seq"),
    )
    with op.batch_alter_table("recorders", schema=None) as batch_op:
        batch_op.create_index("ix_recorders_agency", ["agency_code", "address"], unique=False)

    op.create_table(
        "request_transitions",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tracking_code", sa.String(length=39), nullable=False),
        sa.Column("service_code", sa.String(length=66), nullable=False),
        sa.Column("agency_code", sa.String(length=66), nullable=False),
        sa.Column("owner_agency_code", sa.String(length=66), nullable=False),
        sa.Column("from_state", sa.Integer(), nullable=False),
        sa.Column("to_state", sa.Integer(), nullable=False),
        sa.Column("from_name", sa.String(), nullable=False),
        sa.Column("to_name", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("from_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("head", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("request_transitions", schema=None) as batch_op:
        batch_op.create_index("ix_request_transitions_service", ["service_code", "from_state"], unique=False)
        batch_op.create_index("ix_request_transitions_tracking", ["tracking_code", "seq"], unique=False)

    op.create_table(
        "requests",
        sa.Column("tracking_code", sa.String(length=39), nullable=False),
        sa.Column("service_code", sa.String(length=66), nullable=False),
        sa.Column("agency_code", sa.String(length=66), nullable=False),
        sa.Column("applicant_commitment", sa.String(length=66), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("state_name", sa.String(), nullable=False),
        sa.Column("terminal", sa.Boolean(), nullable=False),
        sa.Column("opened_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("opened_block", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("opened_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("transition_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tracking_code"),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index("ix_requests_agency", ["agency_code", "opened_seq"], unique=False)
        batch_op.create_index("ix_requests_overdue", ["overdue", "deadline"], unique=False)
        batch_op.create_index("ix_requests_service_state", ["service_code", "state"], unique=False)

    op.create_table(
        "reversals",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("original_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("project_code", sa.String(length=66), nullable=False),
        sa.Column("agency_code", sa.String(length=66), nullable=False),
        sa.Column("voucher", sa.String(length=66), nullable=False),
        sa.Column("amount", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("head", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("reversals", schema=None) as batch_op:
        batch_op.create_index("ix_reversals_original", ["original_seq"], unique=False)
        batch_op.create_index("ix_reversals_project", ["project_code", "seq"], unique=False)

    op.create_table(
        "service_roles",
        sa.Column("service_code", sa.String(length=66), nullable=False),
        sa.Column("agency_code", sa.String(length=66), nullable=False),
        sa.Column("role", sa.Integer(), nullable=False),
        sa.Column("role_name", sa.String(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("service_code", "agency_code", "role"),
    )
    op.create_table(
        "services",
        sa.Column("code", sa.String(length=66), nullable=False),
        sa.Column("states", sa.Text(), nullable=False),
        sa.Column("time_limit_days", sa.Text(), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("transitions", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )


def downgrade() -> None:
    op.drop_table("services")
    op.drop_table("service_roles")
    with op.batch_alter_table("reversals", schema=None) as batch_op:
        batch_op.drop_index("ix_reversals_project")
        batch_op.drop_index("ix_reversals_original")

    op.drop_table("reversals")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index("ix_requests_service_state")
        batch_op.drop_index("ix_requests_overdue")
        batch_op.drop_index("ix_requests_agency")

    op.drop_table("requests")
    with op.batch_alter_table("request_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_request_transitions_tracking")
        batch_op.drop_index("ix_request_transitions_service")

    op.drop_table("request_transitions")
    with op.batch_alter_table("recorders", schema=None) as batch_op:
        batch_op.drop_index("ix_recorders_agency")

    op.drop_table("recorders")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_fiscal_year")
        batch_op.drop_index("ix_projects_agency")

    op.drop_table("projects")
    op.drop_table("ledger")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_event_seq")
        batch_op.drop_index("ix_events_block_number")

    op.drop_table("events")
    with op.batch_alter_table("disbursements", schema=None) as batch_op:
        batch_op.drop_index("ux_disbursements_voucher")
        batch_op.drop_index("ix_disbursements_project")
        batch_op.drop_index("ix_disbursements_payee")
        batch_op.drop_index("ix_disbursements_fiscal_year")
        batch_op.drop_index("ix_disbursements_block_time")
        batch_op.drop_index("ix_disbursements_amount")
        batch_op.drop_index("ix_disbursements_agency")

    op.drop_table("disbursements")
    op.drop_table("checkpoint")
    op.drop_table("blocks")
    with op.batch_alter_table("allocation_amendments", schema=None) as batch_op:
        batch_op.drop_index("ix_allocation_amendments_project")

    op.drop_table("allocation_amendments")
    op.drop_table("agencies")
