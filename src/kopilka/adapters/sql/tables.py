"""The database schema (SQLAlchemy Core). Alembic migrations must produce exactly this.

Hot tables carry `member_id` in their key so they can be distributed (Citus) by member.
Amounts are BIGINT minor units; there is no float column anywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

class UtcDateTime(sa.TypeDecorator):
    """Timezone-aware timestamps on both databases: stored in UTC, read back as aware UTC
    (SQLite keeps no offset, so without this it would hand back naive datetimes)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TS = UtcDateTime()
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

currencies = sa.Table(
    "currencies", metadata,
    sa.Column("code", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("scale", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("unit_value_kopecks", sa.BigInteger, nullable=False, server_default="100"),
    sa.Column("earn_rounding", sa.String(16), nullable=False, server_default="floor"),
    sa.Column("min_available", sa.BigInteger, nullable=False, server_default="0"),
)

partners = sa.Table(
    "partners", metadata,
    sa.Column("partner_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

stores = sa.Table(
    "stores", metadata,
    sa.Column("store_id", sa.String(64), primary_key=True),
    sa.Column("partner_id", sa.String(64), sa.ForeignKey("partners.partner_id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/Moscow"),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("partner_id", sa.String(64), sa.ForeignKey("partners.partner_id"), nullable=False),
    sa.Column("store_id", sa.String(64), sa.ForeignKey("stores.store_id"), nullable=True),
    sa.Column("till_id", sa.String(64), nullable=True),
    sa.Column("scopes", sa.String(200), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("revoked_at", TS, nullable=True),
)

members = sa.Table(
    "members", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("phone", sa.String(20), nullable=True, unique=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("first_name", sa.String(100), nullable=True),
    sa.Column("last_name", sa.String(100), nullable=True),
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("gender", sa.String(16), nullable=True),
    sa.Column("city", sa.String(100), nullable=True),
    sa.Column("attributes", JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tier_code", sa.String(32), nullable=True),
    sa.Column("referral_code", sa.String(16), nullable=False, unique=True),
    sa.Column("enrolled_store_id", sa.String(64), nullable=True),
    sa.Column("enrolled_partner_id", sa.String(64), nullable=True),
    sa.Column("phone_verified_at", TS, nullable=True),
    sa.Column("email_verified_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # one-time rewards (0003): the member's IANA zone (None: the program's), who referred
    # them (set once, at enrolment), and month*100+day of birth_date (the birthday job's index)
    sa.Column("time_zone", sa.String(64), nullable=True),
    sa.Column("referred_by", sa.String(32), nullable=True, index=True),
    sa.Column("birth_month_day", sa.SmallInteger, nullable=True, index=True),
)

cards = sa.Table(
    "cards", metadata,
    sa.Column("number", sa.String(13), primary_key=True),
    sa.Column("member_id", sa.String(32), sa.ForeignKey("members.member_id"), nullable=False,
              index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("issued_at", TS, nullable=False),
    sa.Column("blocked_at", TS, nullable=True),
    sa.Column("replaced_by", sa.String(13), nullable=True),
)

card_serial = sa.Table(
    "card_serials", metadata,
    sa.Column("serial", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("issued_at", TS, nullable=False),
)

consents = sa.Table(
    "consents", metadata,
    sa.Column("member_id", sa.String(32), sa.ForeignKey("members.member_id"), primary_key=True),
    sa.Column("consent_id", sa.String(32), primary_key=True),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(16), nullable=True),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("text_version", sa.String(64), nullable=False),
    sa.Column("recorded_at", TS, nullable=False),
)

verification_challenges = sa.Table(
    "verification_challenges", metadata,
    sa.Column("challenge_id", sa.String(32), primary_key=True),
    sa.Column("member_id", sa.String(32), sa.ForeignKey("members.member_id"), nullable=False,
              index=True),
    sa.Column("target", sa.String(16), nullable=False),
    sa.Column("address", sa.String(254), nullable=False),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("verified_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
)

member_balances = sa.Table(
    "member_balances", metadata,
    sa.Column("member_id", sa.String(32), sa.ForeignKey("members.member_id"), primary_key=True),
    sa.Column("currency", sa.String(32), sa.ForeignKey("currencies.code"), primary_key=True),
    sa.Column("available", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("pending", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("held", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("debt", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", TS, nullable=False),
    sa.CheckConstraint("pending >= 0", name="pending_not_negative"),
    sa.CheckConstraint("held >= 0", name="held_not_negative"),
    sa.CheckConstraint("debt >= 0", name="debt_not_negative"),
)

ledger_transactions = sa.Table(
    "ledger_transactions", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("transaction_id", sa.String(32), primary_key=True),
    sa.Column("currency", sa.String(32), nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("effective_at", TS, nullable=False),
    sa.Column("reason", sa.String(500), nullable=True),
    sa.Column("author", sa.String(200), nullable=True),
    sa.Column("partner_id", sa.String(64), nullable=True),
    sa.Column("store_id", sa.String(64), nullable=True),
    sa.Column("receipt_id", sa.String(64), nullable=True),
    sa.Column("hold_id", sa.String(32), nullable=True),
    sa.Column("reverses_id", sa.String(32), nullable=True),
    sa.Index("ix_ledger_transactions_member_created", "member_id", "created_at"),
    sa.Index("ix_ledger_transactions_created", "created_at"),  # analytics, settlement
    sa.Index("ix_ledger_transactions_receipt", "store_id", "receipt_id"),
)

ledger_entries = sa.Table(
    "ledger_entries", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("transaction_id", sa.String(32), primary_key=True),
    sa.Column("line", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("currency", sa.String(32), nullable=False),
    sa.Column("account", sa.String(32), nullable=False),
    sa.Column("partner_id", sa.String(64), nullable=True),
    sa.Column("lot_id", sa.String(32), nullable=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.ForeignKeyConstraint(["member_id", "transaction_id"],
                            ["ledger_transactions.member_id",
                             "ledger_transactions.transaction_id"]),
)

point_lots = sa.Table(
    "point_lots", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("lot_id", sa.String(32), primary_key=True),
    sa.Column("currency", sa.String(32), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("available", sa.BigInteger, nullable=False),
    sa.Column("pending", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=True),
    sa.Column("activates_at", TS, nullable=True),
    sa.Column("activation_event", sa.String(64), nullable=True),
    sa.Column("transaction_id", sa.String(32), nullable=False),
    sa.CheckConstraint("available >= 0", name="available_not_negative"),
    sa.CheckConstraint("pending >= 0", name="pending_not_negative"),
    sa.Index("ix_point_lots_member_open", "member_id", "currency", "state"),
    sa.Index("ix_point_lots_expiry", "expires_at"),
    sa.Index("ix_point_lots_activation", "state", "activates_at"),
)

holds = sa.Table(
    "holds", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("hold_id", sa.String(32), primary_key=True),
    sa.Column("currency", sa.String(32), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("captured", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False, index=True),
    sa.Column("closed_at", TS, nullable=True),
    sa.Index("ix_holds_hold_id", "hold_id"),
)

idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("scope", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("status_code", sa.SmallInteger, nullable=False),
    sa.Column("response", JSON, nullable=False),
    sa.Column("member_id", sa.String(32), nullable=True, index=True),  # for erasure (M6)
    sa.Column("created_at", TS, nullable=False, index=True),
)

program_versions = sa.Table(
    "program_versions", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("effective_from", TS, nullable=False, index=True),
    sa.Column("document", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
)

receipts = sa.Table(
    "receipts", metadata,
    sa.Column("store_id", sa.String(64), primary_key=True),
    sa.Column("receipt_id", sa.String(64), primary_key=True),
    sa.Column("receipt_key", sa.String(32), nullable=False, unique=True),
    sa.Column("member_id", sa.String(32), nullable=True),
    sa.Column("partner_id", sa.String(64), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("program_version", sa.Integer, nullable=False),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("request", JSON, nullable=False),
    sa.Column("result", JSON, nullable=False),
    sa.Column("effects", JSON, nullable=False),  # ledger operations and lots, for returns
    sa.Column("total_payable", sa.BigInteger, nullable=False),
    sa.Column("qualifying_value", sa.BigInteger, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Index("ix_receipts_member_occurred", "member_id", "occurred_at"),
    # covers the dashboard's sales queries: the large JSON columns are never read
    sa.Index("ix_receipts_occurred", "occurred_at", "status", "member_id", "store_id",
             "total_payable"),
)

receipt_returns = sa.Table(
    "receipt_returns", metadata,
    sa.Column("store_id", sa.String(64), primary_key=True),
    sa.Column("receipt_id", sa.String(64), primary_key=True),
    sa.Column("return_id", sa.String(64), primary_key=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("result", JSON, nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

# --- promotions (issue 4) ---------------------------------------------------------------------

promotions = sa.Table(
    "promotions", metadata,
    sa.Column("promotion_id", sa.String(64), primary_key=True),
    sa.Column("partner_id", sa.String(64), nullable=True),  # the partner that runs it
    sa.Column("status", sa.String(16), nullable=False),  # active, paused
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),  # +1 per change
    sa.Column("document", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Index("ix_promotions_status", "status"),
)

# What a promotion has given so far: the row every confirm locks to stay within the budget.
promotion_counters = sa.Table(
    "promotion_counters", metadata,
    sa.Column("promotion_id", sa.String(64), primary_key=True),
    sa.Column("used_kopecks", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("used_points", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("used_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", TS, nullable=False),
)

# One row per promotion a confirmed receipt used (keyed by member for distribution).
promotion_uses = sa.Table(
    "promotion_uses", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("receipt_key", sa.String(32), primary_key=True),
    sa.Column("promotion_id", sa.String(64), primary_key=True),
    sa.Column("store_id", sa.String(64), nullable=False),
    sa.Column("code", sa.String(64), nullable=True),
    sa.Column("kopecks", sa.BigInteger, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # used, returned
    sa.Column("used_at", TS, nullable=False),  # the receipt's occurred_at
    sa.Column("returned_at", TS, nullable=True),
    sa.Index("ix_promotion_uses_promotion_member", "promotion_id", "member_id", "used_at"),
    sa.Index("ix_promotion_uses_promotion_store", "promotion_id", "store_id", "used_at"),
)

promo_codes = sa.Table(
    "promo_codes", metadata,
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("promotion_id", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # shared, unique
    sa.Column("batch_id", sa.String(32), nullable=True, index=True),
    sa.Column("max_uses", sa.Integer, nullable=True),  # None: unlimited (shared codes)
    sa.Column("max_uses_per_member", sa.Integer, nullable=True),
    sa.Column("uses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", TS, nullable=False),
)

# Members held back from (or exposed to) a promotion with a control group, as decided the
# first time the promotion was evaluated for them: the base of uplift measurement (R7).
promotion_audience = sa.Table(
    "promotion_audience", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("promotion_id", sa.String(64), primary_key=True),
    sa.Column("held_back", sa.Boolean, nullable=False),
    sa.Column("decided_at", TS, nullable=False),
    sa.Index("ix_promotion_audience_promotion", "promotion_id", "held_back"),
)

# --- one-time rewards (SPEC R6) ---------------------------------------------------------------

# One row per reward given: the primary key is the grant key, so a reward is given at most
# once per member, rule and period whatever the retries (inserted in the transaction that posts
# its points; a conflict means "already granted"). `revoked` when the purchase that earned it
# was cancelled (a later qualifying purchase may grant it again, on the same row).
reward_grants = sa.Table(
    "reward_grants", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("rule_id", sa.String(64), primary_key=True),
    sa.Column("period_key", sa.String(64), primary_key=True),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # granted, revoked
    sa.Column("currency", sa.String(32), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("program_version", sa.Integer, nullable=False),
    sa.Column("transaction_id", sa.String(32), nullable=True),
    sa.Column("lot_id", sa.String(32), nullable=True),
    sa.Column("receipt_key", sa.String(32), nullable=True),  # the purchase that earned it
    sa.Column("related_member_id", sa.String(32), nullable=True),  # referral: the other side
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Index("ix_reward_grants_rule_created", "rule_id", "created_at"),
)

# --- gamification (SPEC P7): challenges, badges, instant-win draws, sticker vouchers -------

challenge_progress = sa.Table(
    "challenge_progress", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("challenge_id", sa.String(64), primary_key=True),
    sa.Column("period_key", sa.String(16), primary_key=True),  # "2026-03" or "ever"
    sa.Column("value", sa.BigInteger, nullable=False),  # purchases, or kopecks
    sa.Column("updated_at", TS, nullable=False),
)

# one row per thing given exactly once: a challenge's badge and points (period: the
# challenge's), a draw's win (period: the receipt key), a sticker voucher (period: its id)
engagement_grants = sa.Table(
    "engagement_grants", metadata,
    sa.Column("member_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),  # challenge, draw, voucher
    sa.Column("rule_id", sa.String(64), primary_key=True),
    sa.Column("period_key", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # granted, revoked, issued
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("badge", sa.String(100), nullable=True),
    sa.Column("currency", sa.String(32), nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),  # given (negative: stickers spent)
    sa.Column("program_version", sa.Integer, nullable=False),
    sa.Column("transaction_id", sa.String(32), nullable=True),
    sa.Column("receipt_key", sa.String(32), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

# what each draw has given: locked FOR UPDATE by a winning confirm (budget never exceeded)
draw_counters = sa.Table(
    "draw_counters", metadata,
    sa.Column("draw_id", sa.String(64), primary_key=True),
    sa.Column("spent_points", sa.BigInteger, nullable=False),
    sa.Column("wins", sa.BigInteger, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

# --- the console and the member page (staff accounts, sessions, audit) --------------------

staff_users = sa.Table(
    "staff_users", metadata,
    sa.Column("staff_id", sa.String(32), primary_key=True),
    sa.Column("login", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

# a signed-in browser: staff or member; only the token's sha256 is stored
web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),  # staff, member
    sa.Column("subject_id", sa.String(32), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("ended_at", TS, nullable=True),
)

# sign-in attempts, read back to slow down guessing (any node sees every attempt)
login_attempts = sa.Table(
    "login_attempts", metadata,
    sa.Column("attempt_id", sa.String(32), primary_key=True),
    sa.Column("login", sa.String(254), nullable=False, index=True),
    sa.Column("address", sa.String(64), nullable=False, index=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
)

# every change a person makes (O5): who, what, when, before and after
audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("audit_id", sa.String(32), primary_key=True),
    sa.Column("at", TS, nullable=False, index=True),
    sa.Column("actor_kind", sa.String(8), nullable=False),  # staff, member
    sa.Column("actor_id", sa.String(32), nullable=False, index=True),
    sa.Column("actor_name", sa.String(200), nullable=False),
    sa.Column("actor_role", sa.String(16), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(128), nullable=True),
    sa.Column("before", JSON, nullable=True),
    sa.Column("after", JSON, nullable=True),
    sa.Column("address", sa.String(64), nullable=True),
)
