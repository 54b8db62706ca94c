"""programs and receipts

Revision ID: 0002_programs_receipts
Revises: 0001_initial
Create Date: 2026-11-24 05:58:07.105622
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002_programs_receipts'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_ledger_transactions_receipt', 'ledger_transactions',
                    ['store_id', 'receipt_id'], unique=False)

    op.create_table('program_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('document', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_program_versions'))
    )
    with op.batch_alter_table('program_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_versions_effective_from'), ['effective_from'], unique=False)

    op.create_table('receipt_returns',
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('receipt_id', sa.String(length=64), nullable=False),
    sa.Column('return_id', sa.String(length=64), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('store_id', 'receipt_id', 'return_id', name=op.f('pk_receipt_returns'))
    )
    op.create_table('receipts',
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('receipt_id', sa.String(length=64), nullable=False),
    sa.Column('receipt_key', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=True),
    sa.Column('partner_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('program_version', sa.Integer(), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('request', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('effects', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('total_payable', sa.BigInteger(), nullable=False),
    sa.Column('qualifying_value', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('store_id', 'receipt_id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('receipt_key', name=op.f('uq_receipts_receipt_key'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index('ix_receipts_member_occurred', ['member_id', 'occurred_at'], unique=False)




def downgrade() -> None:
    op.drop_index('ix_ledger_transactions_receipt', table_name='ledger_transactions')

    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_receipts_member_occurred')

    op.drop_table('receipts')
    op.drop_table('receipt_returns')
    with op.batch_alter_table('program_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_versions_effective_from'))

    op.drop_table('program_versions')

