"""initial schema: members, cards, consent, ledger, holds, idempotency, api keys

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-24 05:12:48.926273
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('card_serials',
    sa.Column('serial', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('serial', name=op.f('pk_card_serials'))
    )
    op.create_table('currencies',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scale', sa.SmallInteger(), server_default='0', nullable=False),
    sa.Column('unit_value_kopecks', sa.BigInteger(), server_default='100', nullable=False),
    sa.Column('earn_rounding', sa.String(length=16), server_default='floor', nullable=False),
    sa.Column('min_available', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_currencies'))
    )
    op.create_table('holds',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('hold_id', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=32), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('captured', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('member_id', 'hold_id', name=op.f('pk_holds'))
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_holds_hold_id', ['hold_id'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.SmallInteger(), nullable=False),
    sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key', name=op.f('pk_idempotency_keys'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_idempotency_keys_member_id'), ['member_id'], unique=False)

    op.create_table('ledger_transactions',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('transaction_id', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=32), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('partner_id', sa.String(length=64), nullable=True),
    sa.Column('store_id', sa.String(length=64), nullable=True),
    sa.Column('receipt_id', sa.String(length=64), nullable=True),
    sa.Column('hold_id', sa.String(length=32), nullable=True),
    sa.Column('reverses_id', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('member_id', 'transaction_id', name=op.f('pk_ledger_transactions'))
    )
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_transactions_member_created', ['member_id', 'created_at'], unique=False)

    op.create_table('members',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('tier_code', sa.String(length=32), nullable=True),
    sa.Column('referral_code', sa.String(length=16), nullable=False),
    sa.Column('enrolled_store_id', sa.String(length=64), nullable=True),
    sa.Column('enrolled_partner_id', sa.String(length=64), nullable=True),
    sa.Column('phone_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_members')),
    sa.UniqueConstraint('phone', name=op.f('uq_members_phone')),
    sa.UniqueConstraint('referral_code', name=op.f('uq_members_referral_code'))
    )
    op.create_table('partners',
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('partner_id', name=op.f('pk_partners'))
    )
    op.create_table('point_lots',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('lot_id', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('available', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activates_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activation_event', sa.String(length=64), nullable=True),
    sa.Column('transaction_id', sa.String(length=32), nullable=False),
    sa.CheckConstraint('available >= 0', name=op.f('ck_point_lots_available_not_negative')),
    sa.CheckConstraint('pending >= 0', name=op.f('ck_point_lots_pending_not_negative')),
    sa.PrimaryKeyConstraint('member_id', 'lot_id', name=op.f('pk_point_lots'))
    )
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.create_index('ix_point_lots_activation', ['state', 'activates_at'], unique=False)
        batch_op.create_index('ix_point_lots_expiry', ['expires_at'], unique=False)
        batch_op.create_index('ix_point_lots_member_open', ['member_id', 'currency', 'state'], unique=False)

    op.create_table('cards',
    sa.Column('number', sa.String(length=13), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaced_by', sa.String(length=13), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.member_id'], name=op.f('fk_cards_member_id_members')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_cards'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_member_id'), ['member_id'], unique=False)

    op.create_table('consents',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('consent_id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('text_version', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.member_id'], name=op.f('fk_consents_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'consent_id', name=op.f('pk_consents'))
    )
    op.create_table('ledger_entries',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('transaction_id', sa.String(length=32), nullable=False),
    sa.Column('line', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('currency', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=True),
    sa.Column('lot_id', sa.String(length=32), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['member_id', 'transaction_id'], ['ledger_transactions.member_id', 'ledger_transactions.transaction_id'], name=op.f('fk_ledger_entries_member_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('member_id', 'transaction_id', 'line', name=op.f('pk_ledger_entries'))
    )
    op.create_table('member_balances',
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=32), nullable=False),
    sa.Column('available', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('pending', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('held', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('debt', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('debt >= 0', name=op.f('ck_member_balances_debt_not_negative')),
    sa.CheckConstraint('held >= 0', name=op.f('ck_member_balances_held_not_negative')),
    sa.CheckConstraint('pending >= 0', name=op.f('ck_member_balances_pending_not_negative')),
    sa.ForeignKeyConstraint(['currency'], ['currencies.code'], name=op.f('fk_member_balances_currency_currencies')),
    sa.ForeignKeyConstraint(['member_id'], ['members.member_id'], name=op.f('fk_member_balances_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', 'currency', name=op.f('pk_member_balances'))
    )
    op.create_table('stores',
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='Europe/Moscow', nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.partner_id'], name=op.f('fk_stores_partner_id_partners')),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_stores'))
    )
    op.create_table('verification_challenges',
    sa.Column('challenge_id', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.member_id'], name=op.f('fk_verification_challenges_member_id_members')),
    sa.PrimaryKeyConstraint('challenge_id', name=op.f('pk_verification_challenges'))
    )
    with op.batch_alter_table('verification_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_challenges_member_id'), ['member_id'], unique=False)

    op.create_table('api_keys',
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=True),
    sa.Column('till_id', sa.String(length=64), nullable=True),
    sa.Column('scopes', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.partner_id'], name=op.f('fk_api_keys_partner_id_partners')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.store_id'], name=op.f('fk_api_keys_store_id_stores')),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_api_keys'))
    )



def downgrade() -> None:
    
    op.drop_table('api_keys')
    with op.batch_alter_table('verification_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_challenges_member_id'))

    op.drop_table('verification_challenges')
    op.drop_table('stores')
    op.drop_table('member_balances')
    op.drop_table('ledger_entries')
    op.drop_table('consents')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cards_member_id'))

    op.drop_table('cards')
    with op.batch_alter_table('point_lots', schema=None) as batch_op:
        batch_op.drop_index('ix_point_lots_member_open')
        batch_op.drop_index('ix_point_lots_expiry')
        batch_op.drop_index('ix_point_lots_activation')

    op.drop_table('point_lots')
    op.drop_table('partners')
    op.drop_table('members')
    with op.batch_alter_table('ledger_transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transactions_member_created')

    op.drop_table('ledger_transactions')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))

    op.drop_table('idempotency_keys')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('ix_holds_hold_id')
        batch_op.drop_index(batch_op.f('ix_holds_expires_at'))

    op.drop_table('holds')
    op.drop_table('currencies')
    op.drop_table('card_serials')

