"""one-time rewards: reward grants, member time zone, referrer and birthday index

Revision ID: 0003_rewards
Revises: 0003_promotions
Create Date: 2026-11-24 08:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0003_rewards'
down_revision = '0003_promotions'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('referred_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('birth_month_day', sa.SmallInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_referred_by'), ['referred_by'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_members_birth_month_day'), ['birth_month_day'],
                              unique=False)

    op.create_table(
        'reward_grants',
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.Column('rule_id', sa.String(length=64), nullable=False),
        sa.Column('period_key', sa.String(length=64), nullable=False),
        sa.Column('trigger', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('currency', sa.String(length=32), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('program_version', sa.Integer(), nullable=False),
        sa.Column('transaction_id', sa.String(length=32), nullable=True),
        sa.Column('lot_id', sa.String(length=32), nullable=True),
        sa.Column('receipt_key', sa.String(length=32), nullable=True),
        sa.Column('related_member_id', sa.String(length=32), nullable=True),
        sa.Column('occurred_at', TS, nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('member_id', 'rule_id', 'period_key',
                                name=op.f('pk_reward_grants')))
    op.create_index('ix_reward_grants_rule_created', 'reward_grants',
                    ['rule_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reward_grants_rule_created', table_name='reward_grants')
    op.drop_table('reward_grants')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_birth_month_day'))
        batch_op.drop_index(batch_op.f('ix_members_referred_by'))
        batch_op.drop_column('birth_month_day')
        batch_op.drop_column('referred_by')
        batch_op.drop_column('time_zone')
