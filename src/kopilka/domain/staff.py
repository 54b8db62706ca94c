"""Staff roles and what each may do (O5), and the policy that slows down password guessing.

Pure data: the console asks `allowed(role, permission)` before it shows an action and again
before it performs one. A role holds exactly the permissions listed here; nothing is implied.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from kopilka.domain.errors import DomainError


class Role(StrEnum):
    ADMIN = "admin"
    MARKETER = "marketer"
    OPERATOR = "operator"
    ACCOUNTANT = "accountant"
    AUDITOR = "auditor"


class Permission(StrEnum):
    DASHBOARD_VIEW = "dashboard.view"
    MEMBERS_VIEW = "members.view"
    MEMBERS_EDIT = "members.edit"        # profile and consents on the member's behalf
    CARDS_MANAGE = "cards.manage"        # block, reissue
    POINTS_ADJUST = "points.adjust"      # manual adjustment with a reason
    MEMBERS_EXPORT = "members.export"    # M6 export
    MEMBERS_ERASE = "members.erase"      # M6 erasure
    PROGRAM_VIEW = "program.view"
    PROGRAM_EDIT = "program.edit"        # new versions, preview
    PROMOTIONS_VIEW = "promotions.view"
    PROMOTIONS_EDIT = "promotions.edit"  # create, edit, pause, code batches
    RECEIPTS_VIEW = "receipts.view"
    RECEIPTS_MANAGE = "receipts.manage"  # cancel, return
    AUDIT_VIEW = "audit.view"            # browse and export the audit log
    STAFF_MANAGE = "staff.manage"        # accounts and roles


P = Permission
_READ_ALL = frozenset({P.DASHBOARD_VIEW, P.MEMBERS_VIEW, P.PROGRAM_VIEW, P.PROMOTIONS_VIEW,
                       P.RECEIPTS_VIEW})

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MARKETER: _READ_ALL | {P.PROGRAM_EDIT, P.PROMOTIONS_EDIT},
    Role.OPERATOR: frozenset({P.MEMBERS_VIEW, P.MEMBERS_EDIT, P.CARDS_MANAGE, P.POINTS_ADJUST,
                              P.MEMBERS_EXPORT, P.RECEIPTS_VIEW, P.RECEIPTS_MANAGE,
                              P.PROGRAM_VIEW, P.PROMOTIONS_VIEW}),
    Role.ACCOUNTANT: _READ_ALL,
    Role.AUDITOR: _READ_ALL | {P.AUDIT_VIEW},
}

# The largest manual adjustment (in points, either sign) one person of a role may post;
# None: no limit. Larger corrections need an admin.
ADJUSTMENT_LIMIT_POINTS: dict[Role, int | None] = {Role.ADMIN: None, Role.OPERATOR: 10_000}


def role_of(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise DomainError(f"unknown role {value!r}: one of {names}", code="invalid_role",
                          status=422) from None


def allowed(role: Role | str, permission: Permission) -> bool:
    return permission in PERMISSIONS[Role(role)]


def require(role: Role | str, permission: Permission) -> None:
    if not allowed(role, permission):
        raise DomainError(f"the {Role(role).value} role may not do this ({permission.value})",
                          code="forbidden", status=403)


def check_adjustment(role: Role | str, points: int) -> None:
    """Refuse an adjustment larger than the role may post (both signs count)."""
    require(role, P.POINTS_ADJUST)
    limit = ADJUSTMENT_LIMIT_POINTS.get(Role(role))
    if limit is not None and abs(points) > limit:
        raise DomainError(f"adjustments above {limit} points need an admin",
                          code="adjustment_over_limit", status=403)


# --- password guessing --------------------------------------------------------------------

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_LOGIN = 5     # then the login waits until the window has passed
MAX_FAILURES_PER_ADDRESS = 20  # one address trying many logins
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 256


def login_blocked_until(failures: list[datetime], now: datetime, limit: int) -> datetime | None:
    """When the next attempt may be made, given the failed attempts in the last window."""
    recent = sorted(t for t in failures if now - t < LOGIN_WINDOW)
    if len(recent) < limit:
        return None
    return recent[-limit] + LOGIN_WINDOW


def check_password_rules(password: str, login: str) -> None:
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise DomainError(
            f"a password has {PASSWORD_MIN_LENGTH}..{PASSWORD_MAX_LENGTH} characters",
            code="weak_password", status=422)
    if login.lower() in password.lower():
        raise DomainError("a password must not contain the login", code="weak_password",
                          status=422)
