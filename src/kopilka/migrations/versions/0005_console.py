"""console and member page: staff users, web sessions, login attempts, audit log

Revision ID: 0005_console
Revises: 0004_engagement
Create Date: 2026-11-24 10:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005_console'
down_revision = '0004_engagement'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'staff_users',
        sa.Column('staff_id', sa.String(length=32), nullable=False),
        sa.Column('login', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('updated_at', TS, nullable=False),
        sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_staff_users')),
        sa.UniqueConstraint('login', name=op.f('uq_staff_users_login')))
    op.create_table(
        'web_sessions',
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('subject_id', sa.String(length=32), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', TS, nullable=False),
        sa.Column('expires_at', TS, nullable=False),
        sa.Column('ended_at', TS, nullable=True),
        sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_web_sessions')))
    op.create_index(op.f('ix_web_sessions_subject_id'), 'web_sessions', ['subject_id'])
    op.create_table(
        'login_attempts',
        sa.Column('attempt_id', sa.String(length=32), nullable=False),
        sa.Column('login', sa.String(length=254), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('succeeded', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_login_attempts')))
    op.create_index(op.f('ix_login_attempts_login'), 'login_attempts', ['login'])
    op.create_index(op.f('ix_login_attempts_address'), 'login_attempts', ['address'])
    op.create_table(
        'audit_log',
        sa.Column('audit_id', sa.String(length=32), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('actor_kind', sa.String(length=8), nullable=False),
        sa.Column('actor_id', sa.String(length=32), nullable=False),
        sa.Column('actor_name', sa.String(length=200), nullable=False),
        sa.Column('actor_role', sa.String(length=16), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=False),
        sa.Column('object_id', sa.String(length=128), nullable=True),
        sa.Column('before', JSON, nullable=True),
        sa.Column('after', JSON, nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('audit_id', name=op.f('pk_audit_log')))
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'])
    op.create_index(op.f('ix_audit_log_actor_id'), 'audit_log', ['actor_id'])


def downgrade() -> None:
    op.drop_table('audit_log')
    op.drop_table('login_attempts')
    op.drop_table('web_sessions')
    op.drop_table('staff_users')
