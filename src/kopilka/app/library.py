"""The in-process library: everything the HTTP API does, callable from Python.

Methods return the same JSON-ready dicts the API returns. Every state-changing method takes an
optional `idempotency_key`: the effect and its stored result commit in one transaction, and a
repeat returns the stored result (`Result.replayed`), the same key with other arguments raises
`idempotency_conflict`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from kopilka.app import audit, privacy, programs, rewards, views
from kopilka.app import members as M
from kopilka.app import points as P
from kopilka.app.library_analytics import AnalyticsMixin
from kopilka.app.library_backoffice import BackofficeMixin
from kopilka.app.library_cards import CardsMixin
from kopilka.app.library_charity import CharityMixin
from kopilka.app.library_console import ConsoleMixin
from kopilka.app.library_engagement import EngagementMixin
from kopilka.app.library_marketing import MarketingMixin
from kopilka.app.library_partners import PartnersMixin
from kopilka.app.library_promotions import PromotionsMixin
from kopilka.app.library_rewards import RewardsMixin
from kopilka.app.library_staffdesk import StaffDeskMixin
from kopilka.app.library_till import TillMixin
from kopilka.app.ports import Clock, CodeSender, Database, SystemClock, TransactionMeta, UnitOfWork
from kopilka.app.program_coalition import brand_program
from kopilka.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from kopilka.domain.points import PointCurrency
from kopilka.domain.verification import Target

log = logging.getLogger(__name__)
MAX_IDEMPOTENCY_KEY = 128
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class Result:
    status: int
    body: Any
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: an API key's partner/store, a staff member, or the library itself."""

    name: str = "library"
    partner_id: str | None = None
    store_id: str | None = None
    admin: bool = False  # the coalition operator: sees every partner's data (ADR 0006)
    person: audit.Person | None = None  # a person's change is written to the audit log

    @property
    def scope(self) -> str:
        return f"{self.partner_id or '-'}:{self.name}"


LIBRARY = Caller()


def request_hash(operation: str, request: Any) -> str:
    body = orjson.dumps([operation, request], option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(body).hexdigest()


class LogCodeSender:
    """Development delivery of one-time codes: written to the log."""

    def send_code(self, target: str, address: str, code: str) -> None:
        log.warning("one-time code for %s %s: %s", target, address, code)


class MemoryCodeSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_code(self, target: str, address: str, code: str) -> None:
        self.sent.append((target, address, code))


class Kopilka(TillMixin, PromotionsMixin, PartnersMixin, RewardsMixin, EngagementMixin,
              CharityMixin, ConsoleMixin, CardsMixin, MarketingMixin, StaffDeskMixin,
              BackofficeMixin, AnalyticsMixin):
    def __init__(self, db: Database, *, clock: Clock | None = None, secret_key: str,
                 default_currency: str = "points", hold_ttl: timedelta = timedelta(minutes=15),
                 code_sender: CodeSender | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.key = hashlib.sha256(secret_key.encode()).digest()
        self.default_currency = default_currency
        self.hold_ttl = hold_ttl
        self.code_sender = code_sender or LogCodeSender()
        self._currencies: dict[str, PointCurrency] = {}

    # --- the exactly-once wrapper ----------------------------------------------------------

    def mutate(self, operation: str, request: Any, work: Callable[[UnitOfWork, datetime], Result],
               *, caller: Caller = LIBRARY, idempotency_key: str | None = None) -> Result:
        """Run `work` in one write transaction, recording its result under the key."""
        if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            raise InvalidInput(f"Idempotency-Key must be 1..{MAX_IDEMPOTENCY_KEY} characters",
                               code="invalid_idempotency_key")
        digest = request_hash(operation, request)
        scope = f"{caller.scope}:{operation}"
        with self.db.write() as uow:
            now = self.clock.now()
            if idempotency_key is not None:
                stored = uow.idempotency.claim(scope, idempotency_key, digest, now)
                if stored is not None:
                    if stored.request_sha256 != digest:
                        raise Conflict("this Idempotency-Key was used with another request",
                                       code="idempotency_conflict")
                    return Result(stored.status_code, stored.response, replayed=True)
            person = caller.person
            before = audit.before_of(uow, operation, request, now) if person else None
            result = work(uow, now)
            if person is not None:
                audit.record(uow, person, operation, request, before=before, after=result.body,
                             now=now)
            if idempotency_key is not None:
                member_id = result.body.get("member_id") if isinstance(result.body, dict) else None
                uow.idempotency.store(scope, idempotency_key, result.status, result.body,
                                      member_id)
            return result

    def _currency(self, uow: UnitOfWork, code: str | None) -> PointCurrency:
        """Currency definitions never change once created, so a found one is cached."""
        code = code or self.default_currency
        cur = self._currencies.get(code)
        if cur is None:
            cur = self._currencies[code] = P.currency_of(uow, code)
        return cur

    # --- reference data ---------------------------------------------------------------------

    def add_currency(self, currency: PointCurrency) -> None:
        """Add a point currency (e.g. stars) to the program."""
        with self.db.write() as uow:
            if uow.members.currency(currency.code) is not None:
                raise Conflict(f"currency {currency.code} exists", code="currency_exists")
            uow.members.add_currency(currency)

    def currencies(self) -> list[PointCurrency]:
        with self.db.read() as uow:
            return uow.members.currencies()

    # --- members ---------------------------------------------------------------------------

    def enrol(self, cmd: M.Enrolment, *, caller: Caller = LIBRARY,
              idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            member_id = M.enrol(uow, cmd, now=now, partner_id=caller.partner_id,
                                source=caller.name, currency=self.default_currency)
            given = rewards.on_enrolment(uow, member_id, now=now, meta=self._meta(caller, now))
            cur = self._currency(uow, None)
            member = M.require_member(uow, member_id)
            body = privacy.member_for(uow, member, views.member_view(uow, member, cur), caller)
            return Result(201, {**body, "rewards": given} if given else body)  # welcome (R6)
        return self.mutate("enrol", cmd.__dict__, work, caller=caller,
                           idempotency_key=idempotency_key)

    def member(self, member_id: str, *, caller: Caller = LIBRARY) -> dict[str, Any]:
        """The member; personal data only as `caller` may see them (`privacy`)."""
        with self.db.read() as uow:
            member = M.require_member(uow, member_id)
            program = programs.in_force_or_none(uow, self.clock.now())
            view = views.member_view(uow, member, self._currency(uow, None), program)
            return privacy.member_for(uow, member, view, caller)

    def update_member(self, member_id: str, changes: dict[str, Any],
                      consents: dict[str, bool] | None = None, *, text_version: str = "1",
                      caller: Caller = LIBRARY, idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            M.update_profile(uow, member_id, changes, consents, now=now, source=caller.name,
                             text_version=text_version)
            member = M.require_member(uow, member_id)
            view = views.member_view(uow, member, self._currency(uow, None))
            return Result(200, privacy.member_for(uow, member, view, caller))
        return self.mutate("update_member", [member_id, changes, consents, text_version], work,
                           caller=caller, idempotency_key=idempotency_key)

    def lookup(self, ref: dict[str, str], *, caller: Caller = LIBRARY) -> dict[str, Any]:
        """The member summary for a till: the discount is the caller's brand's (P6)."""
        with self.db.read() as uow:
            member = M.require_member(uow, M.resolve(uow, ref, qr_verifier=self.card_of_token))
            program = programs.in_force_or_none(uow, self.clock.now())
            if program is not None:
                program = brand_program(program, caller.partner_id)
            view = views.summary_view(uow, member, self._currency(uow, None), program)
            return privacy.member_for(uow, member, view, caller)

    def resolve(self, ref: dict[str, str]) -> str:
        with self.db.read() as uow:
            return M.resolve(uow, ref, qr_verifier=self.card_of_token)

    def balance(self, member_id: str, currency: str | None = None) -> dict[str, Any]:
        with self.db.read() as uow:
            M.require_member(uow, member_id)
            return views.balance_view(uow, member_id, self._currency(uow, currency))

    def history(self, member_id: str, *, limit: int = 50, cursor: str | None = None,
                caller: Caller = LIBRARY) -> dict[str, Any]:
        if not 0 < limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be 1..{MAX_PAGE}", code="invalid_limit")
        with self.db.read() as uow:
            shared = privacy.may_see(uow, M.require_member(uow, member_id), caller)
            rows = uow.ledger.history(member_id, limit=limit + 1, before=cursor)
            currencies = {c.code: c for c in uow.members.currencies()}
            items = [privacy.operation_for(views.operation_view(r, currencies[r.currency]),
                                           r.partner_id, caller, shared) for r in rows[:limit]]
            more = len(rows) > limit
            return {"items": items, "next_cursor": rows[limit - 1].transaction_id if more else None}

    def consent_history(self, member_id: str) -> list[dict[str, Any]]:
        with self.db.read() as uow:
            M.require_member(uow, member_id)
            return views.consent_history(uow.members.consents_of(member_id))

    def issue_card(self, member_id: str, *, replace: str | None = None,
                   caller: Caller = LIBRARY, idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            number = M.issue_card(uow, member_id, now=now, replace=replace)
            return Result(201, {"number": number, "status": "active", "replaced": replace,
                                "cards": views.cards_view(uow, member_id)})
        return self.mutate("issue_card", [member_id, replace], work, caller=caller,
                           idempotency_key=idempotency_key)

    def block_card(self, member_id: str, number: str, *, caller: Caller = LIBRARY,
                   idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            M.block_card(uow, member_id, number, now=now)
            return Result(200, {"number": number, "status": "blocked",
                                "cards": views.cards_view(uow, member_id)})
        return self.mutate("block_card", [member_id, number], work, caller=caller,
                           idempotency_key=idempotency_key)

    def export(self, member_id: str) -> dict[str, Any]:
        """Everything kopilka holds about a member (M6)."""
        with self.db.read() as uow:
            member = M.require_member(uow, member_id)
            cur = self._currency(uow, None)
            data = views.member_view(uow, member, cur)
            data["consent_history"] = views.consent_history(uow.members.consents_of(member_id))
            data["rewards"] = rewards.granted_view(uow, member_id)  # one-time rewards (R6)
        data["history"] = self._all_history(member_id)
        return data

    def _all_history(self, member_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.history(member_id, limit=MAX_PAGE, cursor=cursor)
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    def erase(self, member_id: str, *, caller: Caller = LIBRARY,
              idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            M.erase(uow, member_id, now=now)
            return Result(200, {"member_id": member_id, "status": "erased"})
        return self.mutate("erase", [member_id], work, caller=caller,
                           idempotency_key=idempotency_key)

    # --- verification ----------------------------------------------------------------------

    def start_verification(self, member_id: str, target: str = "phone", *,
                           caller: Caller = LIBRARY,
                           idempotency_key: str | None = None) -> Result:
        """Send a one-time code; a retry with the same key sends nothing more."""
        sent: list[tuple[str, str, str]] = []

        def work(uow: UnitOfWork, now: datetime) -> Result:
            challenge, code = M.start_verification(uow, member_id, Target(target), now=now,
                                                   key=self.key)
            sent.append((challenge.target.value, challenge.address, code))
            return Result(201, {"challenge_id": challenge.challenge_id, "target": target,
                                "member_id": member_id,
                                "expires_at": views.iso(challenge.expires_at)})
        result = self.mutate("start_verification", [member_id, target], work, caller=caller,
                             idempotency_key=idempotency_key)
        for delivery in sent:  # after commit, and only for a new challenge
            self.code_sender.send_code(*delivery)
        return result

    def confirm_verification(self, member_id: str, challenge_id: str, code: str) -> dict[str, Any]:
        with self.db.write() as uow:
            now = self.clock.now()
            target = M.confirm_verification(uow, member_id, challenge_id, code, now=now,
                                            key=self.key)
        if target is None:
            raise DomainError("the code is wrong", code="code_wrong")
        activated = 0
        if target is Target.PHONE:
            activated = self.activate_event(member_id, M.PHONE_VERIFIED_EVENT)
        return {"verified": target.value, "activated_lots": activated}

    # --- points ----------------------------------------------------------------------------

    def _meta(self, caller: Caller, now: datetime, **values: Any) -> TransactionMeta:
        return TransactionMeta(effective_at=values.pop("effective_at", None) or now,
                               author=values.pop("author", None) or caller.name,
                               partner_id=caller.partner_id, store_id=caller.store_id, **values)

    def _points_result(self, uow: UnitOfWork, member_id: str, posted: P.Posted, cur,  # noqa: ANN001
                       status: int = 201) -> Result:
        body = {"operation_id": posted.transaction_id, "member_id": member_id,
                "kind": views.HISTORY_KINDS[posted.code.value], "code": posted.code.value,
                "points": cur.format(posted.points), "lot_id": posted.lot_id,
                "hold_id": posted.hold_id,
                "balance": views.balance_view(uow, member_id, cur, posted.balance)}
        return Result(status, body)

    def earn(self, member_id: str, points: int, *, currency: str | None = None,
             expires_at: datetime | None = None, activates_at: datetime | None = None,
             activation_event: str | None = None, reason: str | None = None,
             effective_at: datetime | None = None, caller: Caller = LIBRARY,
             idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            cur = self._currency(uow, currency)
            event = activation_event
            if event is not None and M.event_happened(uow, member_id, event):
                event = None  # what the points wait for has already happened
            posted = P.earn(uow, member_id, cur, points, now=now, expires_at=expires_at,
                            activates_at=activates_at, activation_event=event,
                            meta=self._meta(caller, now, reason=reason,
                                            effective_at=effective_at))
            return self._points_result(uow, member_id, posted, cur)
        request = [member_id, points, currency, expires_at, activates_at, activation_event,
                   reason, effective_at]
        return self.mutate("earn", request, work, caller=caller, idempotency_key=idempotency_key)

    def spend(self, member_id: str, points: int, *, currency: str | None = None,
              reason: str | None = None, caller: Caller = LIBRARY,
              idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            cur = self._currency(uow, currency)
            posted = P.spend(uow, member_id, cur, points, now=now,
                             meta=self._meta(caller, now, reason=reason))
            return self._points_result(uow, member_id, posted, cur)
        return self.mutate("spend", [member_id, points, currency, reason], work, caller=caller,
                           idempotency_key=idempotency_key)

    def adjust(self, member_id: str, points: int, *, reason: str, author: str | None = None,
               currency: str | None = None, expires_at: datetime | None = None,
               allow_debt: bool = False, caller: Caller = LIBRARY,
               idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            cur = self._currency(uow, currency)
            posted = P.adjust(uow, member_id, cur, points, now=now, expires_at=expires_at,
                              allow_debt=allow_debt,
                              meta=self._meta(caller, now, reason=reason, author=author))
            return self._points_result(uow, member_id, posted, cur)
        request = [member_id, points, reason, author, currency, expires_at, allow_debt]
        return self.mutate("adjust", request, work, caller=caller,
                           idempotency_key=idempotency_key)

    def reverse(self, member_id: str, operation_id: str, *, reason: str,
                author: str | None = None, caller: Caller = LIBRARY,
                idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            M.require_member(uow, member_id)
            if not reason.strip():
                raise InvalidInput("a reversal needs a reason", code="reason_required")
            posted = P.reverse(uow, member_id, operation_id, now=now,
                               meta=self._meta(caller, now, reason=reason, author=author))
            cur = P.currency_of(uow, uow.ledger.transaction_currency(member_id, operation_id))
            return self._points_result(uow, member_id, posted, cur)
        return self.mutate("reverse", [member_id, operation_id, reason, author], work,
                           caller=caller, idempotency_key=idempotency_key)

    def hold(self, member_id: str, points: int, *, currency: str | None = None,
             ttl: timedelta | None = None, caller: Caller = LIBRARY,
             idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            cur = self._currency(uow, currency)
            posted = P.hold(uow, member_id, cur, points, now=now, ttl=ttl or self.hold_ttl,
                            meta=self._meta(caller, now))
            return self._points_result(uow, member_id, posted, cur)
        return self.mutate("hold", [member_id, points, currency, ttl], work, caller=caller,
                           idempotency_key=idempotency_key)

    def capture(self, hold_id: str, points: int | None = None, *, caller: Caller = LIBRARY,
                idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            self._own_hold(uow, hold_id, caller)
            posted = P.capture(uow, hold_id, points, now=now, meta=self._meta(caller, now))
            row = uow.ledger.find_hold(hold_id)
            return self._points_result(uow, row.member_id, posted,
                                       P.currency_of(uow, row.currency), 200)
        return self.mutate("capture", [hold_id, points], work, caller=caller,
                           idempotency_key=idempotency_key)

    def release(self, hold_id: str, *, caller: Caller = LIBRARY,
                idempotency_key: str | None = None) -> Result:
        def work(uow: UnitOfWork, now: datetime) -> Result:
            self._own_hold(uow, hold_id, caller)
            posted = P.release(uow, hold_id, now=now, meta=self._meta(caller, now))
            row = uow.ledger.find_hold(hold_id)
            return self._points_result(uow, row.member_id, posted,
                                       P.currency_of(uow, row.currency), 200)
        return self.mutate("release", [hold_id], work, caller=caller,
                           idempotency_key=idempotency_key)

    @staticmethod
    def _own_hold(uow: UnitOfWork, hold_id: str, caller: Caller) -> None:
        """A partner's key may capture or release only the holds its partner made."""
        if caller.partner_id is None:
            return
        owner = uow.ledger.hold_partner(hold_id)
        if owner is not None and owner != caller.partner_id:
            raise NotFound(f"hold {hold_id} not found", code="hold_not_found")

    def activate_event(self, member_id: str, event: str) -> int:
        """Activate the member's lots waiting for `event` (e.g. phone_verified)."""
        with self.db.write() as uow:
            now = self.clock.now()
            lots = uow.ledger.event_lots(member_id, event)
            return sum(P.activate_lot(uow, member_id, cur, lot_id, now, event=event)
                       for cur, lot_id in lots)
