"""gamification: challenge progress, engagement grants, draw counters

Revision ID: 0004_engagement
Revises: 0003_rewards
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004_engagement'
down_revision = '0003_rewards'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'challenge_progress',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('challenge_id', sa.String(length=64), nullable=False),
        sa.Column('period_key', sa.String(length=16), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('member_id', 'challenge_id', 'period_key',
                                name=op.f('pk_challenge_progress')))
    op.create_table(
        'engagement_grants',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('rule_id', sa.String(length=64), nullable=False),
        sa.Column('period_key', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('badge', sa.String(length=100), nullable=True),
        sa.Column('currency', sa.String(length=32), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('program_version', sa.Integer(), nullable=False),
        sa.Column('transaction_id', sa.String(length=32), nullable=True),
        sa.Column('receipt_key', sa.String(length=32), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('member_id', 'kind', 'rule_id', 'period_key',
                                name=op.f('pk_engagement_grants')))
    op.create_table(
        'draw_counters',
        sa.Column('draw_id', sa.String(length=64), nullable=False),
        sa.Column('spent_points', sa.BigInteger(), nullable=False),
        sa.Column('wins', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('draw_id', name=op.f('pk_draw_counters')))


def downgrade() -> None:
    op.drop_table('draw_counters')
    op.drop_table('engagement_grants')
    op.drop_table('challenge_progress')
