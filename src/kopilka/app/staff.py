"""Staff accounts, password sign-in and browser sessions (O5).

Passwords are hashed with Argon2id (argon2-cffi). A sign-in is refused while the login or the
address has had too many failures in the last window; an unknown login costs the same hash as
a known one, so timing does not tell which logins exist. A session is a random token in an
HttpOnly cookie; the database keeps only its sha256 and the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kopilka.app.ports import UnitOfWork, new_id
from kopilka.domain import staff as S
from kopilka.domain.errors import Conflict, DomainError, InvalidInput, NotFound

STAFF_SESSION_TTL = timedelta(hours=12)
MEMBER_SESSION_TTL = timedelta(days=30)
LOGIN_PATTERN_MAX = 64

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password nobody has: equalises the time of unknown logins")


@dataclass(frozen=True, slots=True)
class Session:
    kind: str  # staff, member
    subject_id: str
    csrf_token: str
    expires_at: datetime
    name: str = ""
    role: str | None = None


@dataclass(frozen=True, slots=True)
class OpenedSession:
    token: str  # goes to the browser's cookie, never stored
    session: Session


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_login(login: str) -> str:
    login = login.strip().lower()
    if not (1 <= len(login) <= LOGIN_PATTERN_MAX and
            all(ch.isalnum() or ch in "._-@" for ch in login)):
        raise InvalidInput("a login has 1..64 letters, digits or . _ - @", code="invalid_login")
    return login


def create(uow: UnitOfWork, *, login: str, password: str, role: str, display_name: str,
           now: datetime) -> dict[str, Any]:
    login = _check_login(login)
    S.role_of(role)
    S.check_password_rules(password, login)
    if uow.staff.by_login(login) is not None:
        raise Conflict(f"login {login} is taken", code="login_taken")
    row = {"staff_id": new_id(), "login": login, "display_name": display_name.strip() or login,
           "role": role, "password_hash": _hasher.hash(password), "active": True,
           "created_at": now, "updated_at": now}
    uow.staff.add(row)
    return view(row)


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {"staff_id": row["staff_id"], "login": row["login"],
            "display_name": row["display_name"], "role": row["role"], "active": row["active"],
            "created_at": row["created_at"].isoformat()}


def update(uow: UnitOfWork, staff_id: str, changes: dict[str, Any], *,
           now: datetime) -> dict[str, Any]:
    """Change role, name, active flag or password; ending the person's sessions on any of them
    except the name (a demoted or disabled person must not keep their old powers)."""
    row = uow.staff.by_id(staff_id)
    if row is None:
        raise NotFound(f"no staff member {staff_id}", code="staff_not_found")
    values: dict[str, Any] = {}
    if "role" in changes:
        values["role"] = S.role_of(changes["role"]).value
    if "display_name" in changes:
        values["display_name"] = str(changes["display_name"]).strip() or row["login"]
    if "active" in changes:
        values["active"] = bool(changes["active"])
    if "password" in changes:
        S.check_password_rules(changes["password"], row["login"])
        values["password_hash"] = _hasher.hash(changes["password"])
    if set(values) - {"display_name"}:
        uow.staff.end_sessions_of("staff", staff_id, now)
    uow.staff.update(staff_id, {**values, "updated_at": now})
    return view({**row, **values})


def sign_in(uow: UnitOfWork, login: str, password: str, *, address: str,
            now: datetime) -> OpenedSession | None:
    """Check the password and open a session; every attempt is recorded. None: refused (the
    caller commits the failed attempt, then tells the person)."""
    login = login.strip().lower()[:254]
    refuse_if_throttled(uow, login, address, now)
    row = uow.staff.by_login(login) if login else None
    ok = _password_matches(row["password_hash"] if row else _DUMMY_HASH, password) and \
        row is not None and row["active"]
    uow.staff.record_attempt({"attempt_id": new_id(), "login": login, "address": address,
                              "at": now, "succeeded": ok})
    if not ok or row is None:
        return None
    if _hasher.check_needs_rehash(row["password_hash"]):
        uow.staff.update(row["staff_id"], {"password_hash": _hasher.hash(password)})
    return open_session(uow, "staff", row["staff_id"], now=now, name=row["display_name"],
                        role=row["role"])


def _password_matches(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password[:S.PASSWORD_MAX_LENGTH])
    except (VerificationError, InvalidHashError):
        return False


def refuse_if_throttled(uow: UnitOfWork, login: str, address: str, now: datetime) -> None:
    since = now - S.LOGIN_WINDOW
    for failures, limit in ((uow.staff.failures_since(login=login, since=since),
                             S.MAX_FAILURES_PER_LOGIN),
                            (uow.staff.failures_since(address=address, since=since),
                             S.MAX_FAILURES_PER_ADDRESS)):
        until = S.login_blocked_until(failures, now, limit)
        if until is not None:
            wait = max(1, int((until - now).total_seconds()))
            raise DomainError(f"too many failed sign-ins: try again in {wait} s",
                              code="too_many_attempts", status=429, retry_after=wait)


def open_session(uow: UnitOfWork, kind: str, subject_id: str, *, now: datetime, name: str = "",
                 role: str | None = None) -> OpenedSession:
    token = secrets.token_urlsafe(32)
    ttl = STAFF_SESSION_TTL if kind == "staff" else MEMBER_SESSION_TTL
    session = Session(kind, subject_id, secrets.token_urlsafe(32), now + ttl, name, role)
    uow.staff.open_session({"token_sha256": token_digest(token), "kind": kind,
                            "subject_id": subject_id, "csrf_token": session.csrf_token,
                            "created_at": now, "expires_at": session.expires_at})
    return OpenedSession(token, session)


def session(uow: UnitOfWork, token: str, now: datetime) -> Session | None:
    """The live session of a cookie's token (staff: only while the account is active)."""
    row = uow.staff.session(token_digest(token), now)
    if row is None:
        return None
    if row["kind"] != "staff":
        return Session(row["kind"], row["subject_id"], row["csrf_token"], row["expires_at"])
    person = uow.staff.by_id(row["subject_id"])
    if person is None or not person["active"]:
        return None
    return Session("staff", person["staff_id"], row["csrf_token"], row["expires_at"],
                   person["display_name"], person["role"])
