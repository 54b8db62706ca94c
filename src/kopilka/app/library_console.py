"""Library methods of the console and the member page: staff accounts, sessions, audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.app import audit
from kopilka.app import staff as St
from kopilka.app.ports import UnitOfWork
from kopilka.domain.errors import DomainError

CLI = audit.Person(kind="system", id="cli", name="command line")


class ConsoleMixin:
    # --- staff accounts (every change audited) -----------------------------------------------

    def create_staff(self, *, login: str, password: str, role: str, display_name: str = "",
                     caller: Any = None) -> dict[str, Any]:
        from kopilka.app.library import Caller, Result

        caller = caller or Caller(name="cli", person=CLI)

        def work(uow: UnitOfWork, now: datetime) -> Result:
            return Result(201, St.create(uow, login=login, password=password, role=role,
                                         display_name=display_name, now=now))
        # the password never reaches the audit log: only the login, role and name do
        request = {"login": login, "role": role, "display_name": display_name}
        return self.mutate("staff_create", request, work, caller=caller).body  # type: ignore[attr-defined]

    def update_staff(self, staff_id: str, changes: dict[str, Any], *,
                     caller: Any = None) -> dict[str, Any]:
        from kopilka.app.library import Caller, Result

        caller = caller or Caller(name="cli", person=CLI)

        def work(uow: UnitOfWork, now: datetime) -> Result:
            return Result(200, St.update(uow, staff_id, changes, now=now))
        shown = {k: ("***" if k == "password" else v) for k, v in changes.items()}
        return self.mutate("staff_update", {"staff_id": staff_id, "changes": shown}, work,  # type: ignore[attr-defined]
                           caller=caller).body

    def staff_members(self) -> list[dict[str, Any]]:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return [St.view(r) for r in uow.staff.all()]

    def staff_by_login(self, login: str) -> dict[str, Any] | None:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            row = uow.staff.by_login(login.strip().lower())
            return None if row is None else St.view(row)

    # --- sessions ----------------------------------------------------------------------------

    def sign_in_staff(self, login: str, password: str, *, address: str) -> St.OpenedSession:
        with self.db.write() as uow:  # type: ignore[attr-defined]
            now = self.clock.now()  # type: ignore[attr-defined]
            opened = St.sign_in(uow, login, password, address=address, now=now)
            if opened is not None:
                s = opened.session
                audit.record(uow, audit.Person("staff", s.subject_id, s.name, s.role, address),
                             "sign_in", {"staff_id": s.subject_id}, before=None, after=None,
                             now=now)
        if opened is None:  # the failed attempt is committed: it counts towards the limit
            raise DomainError("wrong login or password", code="bad_credentials", status=401)
        return opened

    def open_member_session(self, member_id: str) -> St.OpenedSession:
        """A member's page session, opened after their one-time code was confirmed."""
        with self.db.write() as uow:  # type: ignore[attr-defined]
            return St.open_session(uow, "member", member_id, now=self.clock.now())  # type: ignore[attr-defined]

    def pending_points(self, member_id: str) -> list[dict[str, Any]]:
        """The member's pending accruals (default currency), soonest first: the points and
        when they become available (`activates_at`, or the event they wait for, if known)."""
        from kopilka.app import members as M
        from kopilka.app import views
        with self.db.read() as uow:  # type: ignore[attr-defined]
            M.require_member(uow, member_id)
            cur = self._currency(uow, None)  # type: ignore[attr-defined]
            return [{"points": cur.format(lot.pending), "activates_at": views.iso(lot.activates_at),
                     "activation_event": lot.activation_event}
                    for lot in uow.ledger.pending_lots(member_id, cur.code) if lot.pending > 0]

    def web_session(self, token: str) -> St.Session | None:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return St.session(uow, token, self.clock.now())  # type: ignore[attr-defined]

    def sign_out(self, token: str, *, person: audit.Person | None = None) -> None:
        with self.db.write() as uow:  # type: ignore[attr-defined]
            now = self.clock.now()  # type: ignore[attr-defined]
            uow.staff.end_session(St.token_digest(token), now)
            if person is not None and person.kind == "staff":
                audit.record(uow, person, "sign_out", {"staff_id": person.id}, before=None,
                             after=None, now=now)

    def record_sign_in_attempt(self, login: str, *, address: str, succeeded: bool) -> None:
        """For sign-ins checked elsewhere (a member's one-time code): counts towards limits."""
        from kopilka.app.ports import new_id
        with self.db.write() as uow:  # type: ignore[attr-defined]
            uow.staff.record_attempt({"attempt_id": new_id(), "login": login[:254],
                                      "address": address[:64], "succeeded": succeeded,
                                      "at": self.clock.now()})  # type: ignore[attr-defined]

    def check_sign_in_allowed(self, login: str, *, address: str) -> None:
        """Raise too_many_attempts (429) while the login or address is throttled."""
        with self.db.read() as uow:  # type: ignore[attr-defined]
            St.refuse_if_throttled(uow, login[:254], address[:64], self.clock.now())  # type: ignore[attr-defined]

    # --- the audit log -----------------------------------------------------------------------

    def audit_log(self, *, limit: int = 50, cursor: str | None = None,
                  **filters: Any) -> dict[str, Any]:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return audit.page(uow, limit=limit, cursor=cursor, **filters)

    def audit_csv(self, **filters: Any) -> str:
        with self.db.read() as uow:  # type: ignore[attr-defined]
            return audit.export_csv(uow, **filters)
