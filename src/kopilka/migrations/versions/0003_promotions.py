"""promotions, their counters and uses, promo codes, control-group audience

Revision ID: 0003_promotions
Revises: 0002_programs_receipts
Create Date: 2026-11-24 08:40:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003_promotions'
down_revision = '0002_programs_receipts'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'promotions',
        sa.Column('promotion_id', sa.String(length=64), nullable=False),
        sa.Column('partner_id', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('revision', sa.Integer(), server_default='1', nullable=False),
        sa.Column('document', JSON, nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('promotion_id', name=op.f('pk_promotions')))
    op.create_index('ix_promotions_status', 'promotions', ['status'], unique=False)

    op.create_table(
        'promotion_counters',
        sa.Column('promotion_id', sa.String(length=64), nullable=False),
        sa.Column('used_kopecks', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('used_points', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('used_count', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('promotion_id', name=op.f('pk_promotion_counters')))

    op.create_table(
        'promotion_uses',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('receipt_key', sa.String(length=32), nullable=False),
        sa.Column('promotion_id', sa.String(length=64), nullable=False),
        sa.Column('store_id', sa.String(length=64), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=True),
        sa.Column('kopecks', sa.BigInteger(), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('used_at', TS, nullable=False),
        sa.Column('returned_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('member_id', 'receipt_key', 'promotion_id',
                                name=op.f('pk_promotion_uses')))
    op.create_index('ix_promotion_uses_promotion_member', 'promotion_uses',
                    ['promotion_id', 'member_id', 'used_at'], unique=False)
    op.create_index('ix_promotion_uses_promotion_store', 'promotion_uses',
                    ['promotion_id', 'store_id', 'used_at'], unique=False)

    op.create_table(
        'promo_codes',
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('promotion_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('batch_id', sa.String(length=32), nullable=True),
        sa.Column('max_uses', sa.Integer(), nullable=True),
        sa.Column('max_uses_per_member', sa.Integer(), nullable=True),
        sa.Column('uses', sa.Integer(), server_default='0', nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_promo_codes')))
    op.create_index(op.f('ix_promo_codes_promotion_id'), 'promo_codes', ['promotion_id'],
                    unique=False)
    op.create_index(op.f('ix_promo_codes_batch_id'), 'promo_codes', ['batch_id'], unique=False)

    op.create_table(
        'promotion_audience',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('promotion_id', sa.String(length=64), nullable=False),
        sa.Column('held_back', sa.Boolean(), nullable=False),
        sa.Column('decided_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('member_id', 'promotion_id', name=op.f('pk_promotion_audience')))
    op.create_index('ix_promotion_audience_promotion', 'promotion_audience',
                    ['promotion_id', 'held_back'], unique=False)


def downgrade() -> None:
    op.drop_table('promotion_audience')
    op.drop_table('promo_codes')
    op.drop_table('promotion_uses')
    op.drop_table('promotion_counters')
    op.drop_table('promotions')
