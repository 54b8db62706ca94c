"""Use cases of one-time rewards (SPEC R6): welcome, posted events, purchases, birthdays.

The pure `domain.rewards` decides which rewards an occurrence triggers and their grant keys;
`give` makes each one happen exactly once: under the member's balance lock it claims the key
(`INSERT ... ON CONFLICT DO NOTHING` on reward_grants) and, only if the claim succeeded, posts
the points through the ledger planner (code `bonus`, reason = the rule id), in the caller's
transaction. A retry, a replay or a parallel call finds the key taken and gives nothing.

Lock order: the member's balance row, then their grant row. A referral locks the friend (whose
purchase it is) before the referrer; a member is referred only at enrolment, by a member who
joined earlier, so two referral grants never wait on each other in a cycle.

A cancelled purchase revokes the rewards it triggered (referral both sides, first app order):
their points are reversed and the grant is marked `revoked`; the next purchase that qualifies
(again the first confirmed one, since a cancelled purchase does not count) grants them again.
A return (partial or full) does not revoke them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kopilka.app import members as M
from kopilka.app import points as P
from kopilka.app import programs
from kopilka.app.ports import TransactionMeta, UnitOfWork
from kopilka.app.views import balance_view, iso
from kopilka.domain import ledger as L
from kopilka.domain import rewards as R
from kopilka.domain.errors import DomainError, InvalidInput
from kopilka.domain.program import Program

CLOCK_SKEW = timedelta(minutes=5)  # an event may be stamped this far in the future
ALREADY_UNDONE = frozenset({"already_reversed", "already_cancelled"})


def tz_of(member: dict[str, Any], rewards: R.Rewards) -> ZoneInfo:
    return R.zone(member.get("time_zone"), rewards.time_zone)


def give(uow: UnitOfWork, program: Program, grant: R.Grant, *, now: datetime,
         meta: TransactionMeta, receipt_key: str | None = None) -> dict[str, Any] | None:
    """Give one reward unless its key is taken (or the member is not active): the view of
    what was given, else None."""
    rule = grant.rule
    cur = program.currency(rule.currency)
    found = uow.ledger.lock_points(grant.member_id, cur.code, now=now,
                                   min_available=cur.min_available, with_lots=False)
    if found is None or found[1] != "active":
        return None
    row = {"member_id": grant.member_id, "rule_id": rule.rule_id,
           "period_key": grant.period_key, "trigger": rule.trigger.value, "status": "granted",
           "currency": cur.code, "points": grant.points, "program_version": program.version,
           "transaction_id": None, "lot_id": None, "receipt_key": receipt_key,
           "related_member_id": grant.related_member_id, "occurred_at": grant.occurred_at,
           "created_at": now, "updated_at": now}
    if not uow.rewards.claim(row) and not uow.rewards.reclaim(row):
        return None  # already granted
    event = rule.pending_until
    if event is not None and M.event_happened(uow, grant.member_id, event):
        event = None  # what the points would wait for has happened already
    posted = P.earn(uow, grant.member_id, cur, grant.points, now=now,
                    meta=replace(meta, reason=rule.rule_id), expires_at=grant.expires_at,
                    activation_event=event, code=L.Code.BONUS, locked=found[0])
    uow.rewards.record_posting(grant.member_id, rule.rule_id, grant.period_key,
                               transaction_id=posted.transaction_id, lot_id=posted.lot_id)
    return {"rule_id": rule.rule_id, "name": rule.name, "trigger": rule.trigger.value,
            "member_id": grant.member_id, "period_key": grant.period_key,
            "points": cur.format(grant.points), "currency": cur.code,
            "status": "pending" if event else "available", "pending_until": event,
            "expires_at": iso(grant.expires_at), "operation_id": posted.transaction_id,
            "lot_id": posted.lot_id}


def _give_all(uow: UnitOfWork, program: Program, grants: list[R.Grant], *, now: datetime,
              meta: TransactionMeta, receipt_key: str | None = None) -> list[dict[str, Any]]:
    given = (give(uow, program, grant, now=now, meta=meta, receipt_key=receipt_key)
             for grant in grants)
    return [view for view in given if view is not None]


# --- enrolment and posted events ------------------------------------------------------------

def on_enrolment(uow: UnitOfWork, member_id: str, *, now: datetime,
                 meta: TransactionMeta) -> list[dict[str, Any]]:
    """The welcome rewards of the program in force (none without a program)."""
    program = programs.in_force_or_none(uow, now)
    if program is None or program.rewards is None:
        return []
    member = M.require_member(uow, member_id)
    grants = R.enrolment_grants(program.rewards, member_id, at=now,
                                tz=tz_of(member, program.rewards))
    return _give_all(uow, program, grants, now=now, meta=meta)


def on_event(uow: UnitOfWork, member_id: str, event_type: str, *, occurred_at: datetime,
             attributes: dict[str, Any], now: datetime,
             meta: TransactionMeta) -> tuple[int, dict[str, Any]]:
    """An event the integrator posts: 201 with the rewards it gave, 200 when it gave none
    (each was given before). The program in force at `occurred_at` decides."""
    if occurred_at.utcoffset() is None:
        raise InvalidInput("occurred_at needs a time zone offset", code="invalid_occurred_at")
    if occurred_at > now + CLOCK_SKEW:
        raise InvalidInput("occurred_at is in the future", code="invalid_occurred_at")
    M._check_attributes(attributes)
    member = M.require_active(uow, member_id)
    program = programs.in_force_or_none(uow, occurred_at)
    rewards = program.rewards if program is not None and program.rewards else R.Rewards()
    grants = R.event_grants(rewards, member_id, event_type, occurred_at=occurred_at, now=now,
                            tz=tz_of(member, rewards))
    assert program is not None  # an event type was known, so there is a program
    given = _give_all(uow, program, grants, now=now, meta=replace(meta, effective_at=occurred_at))
    done = {view["rule_id"] for view in given}
    cur = program.currency(program.main_currency)
    body = {"member_id": member_id,
            "event": {"type": event_type, "occurred_at": occurred_at.isoformat()},
            "rewards": given,
            "already_granted": [g.rule.rule_id for g in grants if g.rule.rule_id not in done],
            "balance": balance_view(uow, member_id, cur)}
    return (201 if given else 200), body


# --- purchases ------------------------------------------------------------------------------

def _party(uow: UnitOfWork, member: dict[str, Any]) -> R.Party:
    cards = frozenset(c["number"] for c in uow.members.cards_of(member["member_id"]))
    return R.Party(member["member_id"], member["phone"], cards,
                   active=member["status"] == "active")


def _open(uow: UnitOfWork, member_id: str, rule_id: str, period_key: str) -> bool:
    """Whether the grant may still be given (never given, or revoked): a primary-key read
    that spares the till a look through the member's receipts."""
    row = uow.rewards.get(member_id, rule_id, period_key)
    return row is None or row["status"] == "revoked"


def on_purchase(uow: UnitOfWork, program: Program, member_id: str, *, channel: str,
                occurred_at: datetime, receipt_key: str, now: datetime,
                meta: TransactionMeta) -> list[dict[str, Any]]:
    """Inside a confirm, after its own postings: referral (both sides) on the friend's first
    confirmed purchase, and the first app order. Costs nothing when the program has neither."""
    rewards = program.rewards
    if rewards is None:
        return []
    referral = bool(rewards.of(R.Trigger.REFERRAL))
    app = channel == "app" and any(_open(uow, member_id, rule.rule_id, R.ONCE)
                                   for rule in rewards.of(R.Trigger.FIRST_APP_ORDER))
    referrer_id = uow.rewards.referrer_of(member_id) if referral else None
    if referrer_id is None and not app:
        return []
    member = M.require_member(uow, member_id)
    first = referrer_id is not None and not uow.rewards.bought_before(member_id, receipt_key)
    referrer = uow.members.get(referrer_id) if first else None
    purchase = R.Purchase(
        member=_party(uow, member), channel=channel, occurred_at=occurred_at, first=first,
        first_in_app=app and not uow.rewards.bought_before(member_id, receipt_key,
                                                           channel="app"),
        referrer=_party(uow, referrer) if referrer is not None else None)
    grants = R.purchase_grants(rewards, purchase, now=now, tz=tz_of(member, rewards))
    others = replace(meta, store_id=None, receipt_id=None)  # not the referrer's receipt
    return [view for grant in grants
            if (view := give(uow, program, grant, now=now, receipt_key=receipt_key,
                             meta=meta if grant.member_id == member_id else others))]


def on_cancel(uow: UnitOfWork, row: dict[str, Any], *, now: datetime, author: str) -> None:
    """Revoke what the cancelled purchase `row` gave: its member's first-app-order and
    referral rewards, and the referrer's side of the referral."""
    member_id = row["member_id"]
    if member_id is None:
        return
    meta = TransactionMeta(effective_at=now, author=author, store_id=row["store_id"],
                           receipt_id=row["receipt_id"])
    referrer_id = uow.rewards.referrer_of(member_id)
    for owner in [member_id, *([referrer_id] if referrer_id else [])]:  # friend first
        for grant in uow.rewards.of_receipt(owner, row["receipt_key"]):
            _revoke(uow, grant, now=now, meta=meta)


def _revoke(uow: UnitOfWork, grant: dict[str, Any], *, now: datetime,
            meta: TransactionMeta) -> None:
    if grant["transaction_id"] is not None:
        try:
            P.reverse(uow, grant["member_id"], grant["transaction_id"], now=now,
                      meta=replace(meta, reason=f"{grant['rule_id']}: purchase cancelled"))
        except DomainError as exc:  # reversed by hand meanwhile: nothing left to undo
            if exc.code not in ALREADY_UNDONE:
                raise
    uow.rewards.revoke(grant["member_id"], grant["rule_id"], grant["period_key"], now)


# --- birthdays ------------------------------------------------------------------------------

def birthday_step(uow: UnitOfWork, program: Program, member_id: str, now: datetime) -> int:
    """Give the member's birthday rewards due at `now` (in their time zone); the number
    given (0 when none is due or each was given already)."""
    member = uow.members.get(member_id)
    if program.rewards is None or member is None or member["status"] != "active":
        return 0
    grants = R.birthday_grants(program.rewards, member_id, member["birth_date"], now=now,
                               tz=tz_of(member, program.rewards))
    meta = TransactionMeta(effective_at=now, author="jobs")
    return len(_give_all(uow, program, grants, now=now, meta=meta))


def granted_view(uow: UnitOfWork, member_id: str) -> list[dict[str, Any]]:
    """The member's reward grants, oldest first."""
    return [{"rule_id": g["rule_id"], "period_key": g["period_key"], "trigger": g["trigger"],
             "status": g["status"], "points": g["points"], "currency": g["currency"],
             "operation_id": g["transaction_id"], "related_member_id": g["related_member_id"],
             "occurred_at": iso(g["occurred_at"]), "created_at": iso(g["created_at"])}
            for g in uow.rewards.of_member(member_id)]
