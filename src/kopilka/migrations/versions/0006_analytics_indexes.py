"""analytics indexes: ledger transactions by booking time, receipts by time (covering)

Revision ID: 0006_analytics_indexes
Revises: 0005_console
Create Date: 2026-11-24 11:10:00
"""

from alembic import op

revision = '0006_analytics_indexes'
down_revision = '0005_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_ledger_transactions_created', 'ledger_transactions', ['created_at'])
    op.create_index('ix_receipts_occurred', 'receipts',
                    ['occurred_at', 'status', 'member_id', 'store_id', 'total_payable'])


def downgrade() -> None:
    op.drop_index('ix_receipts_occurred', table_name='receipts')
    op.drop_index('ix_ledger_transactions_created', table_name='ledger_transactions')
