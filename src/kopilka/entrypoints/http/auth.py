"""API keys: `kp_<key id>_<secret>`; only the SHA-256 of the secret is stored.

Keys are 256-bit random, so a fast hash is enough (passwords would need a slow one). Lookups
are cached for a few seconds per process: a revoked key stops working within that time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kopilka.app.library import Caller
from kopilka.app.ports import Database
from kopilka.domain.errors import DomainError, InvalidInput, NotFound

SCOPES = frozenset({"pos", "members:read", "members:write", "admin", "analytics"})
IMPLIED = {"members:write": frozenset({"members:read"})}


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    name: str
    partner_id: str
    store_id: str | None
    till_id: str | None
    scopes: frozenset[str]

    def require(self, *any_of: str) -> None:
        """Refuse unless the key has one of the scopes (admin has them all; members:write
        includes members:read, since writing reveals what exists)."""
        scopes = self.scopes | IMPLIED.get("members:write", frozenset()) \
            if "members:write" in self.scopes else self.scopes
        if "admin" in scopes or scopes.intersection(any_of):
            return
        raise Forbidden(f"this API key lacks the scope {' or '.join(any_of)}",
                        code="insufficient_scope")

    def require_store(self, store_id: str | None) -> None:
        if self.store_id is not None and store_id is not None and store_id != self.store_id:
            raise Forbidden(f"this API key is bound to store {self.store_id}",
                            code="store_forbidden")

    @property
    def caller(self) -> Caller:
        return Caller(name=f"apikey:{self.key_id}", partner_id=self.partner_id,
                      store_id=self.store_id, admin="admin" in self.scopes)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(db: Database, *, name: str, partner_id: str, scopes: list[str], now: datetime,
               store_id: str | None = None, till_id: str | None = None) -> str:
    """Create a key and return its full token (shown once; only the hash is stored)."""
    unknown = sorted(set(scopes) - SCOPES)
    if unknown or not scopes:
        raise InvalidInput(f"scopes must be among {sorted(SCOPES)}; unknown: {unknown}",
                           code="invalid_scope")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with db.write() as uow:
        if uow.members.partner(partner_id) is None:
            raise NotFound(f"partner {partner_id} not found", code="partner_not_found")
        store = uow.members.store(store_id) if store_id is not None else None
        if store_id is not None and store is None:
            raise NotFound(f"store {store_id} not found", code="store_not_found")
        if store is not None and store["partner_id"] != partner_id:
            raise InvalidInput(f"store {store_id} belongs to partner {store['partner_id']}",
                               code="store_forbidden")
        uow.members.add_api_key({"key_id": key_id, "secret_sha256": secret_hash(secret),
                                 "name": name, "partner_id": partner_id, "store_id": store_id,
                                 "till_id": till_id, "scopes": ",".join(sorted(set(scopes))),
                                 "created_at": now})
    return f"kp_{key_id}_{secret}"


class KeyStore:
    def __init__(self, db: Database, *, cache_seconds: float = 5.0) -> None:
        self.db = db
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def cached(self, key_id: str) -> tuple[bool, dict[str, Any] | None]:
        """(found in the cache, row): lets async callers skip a thread hop on a hit."""
        hit = self._cache.get(key_id)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def _row(self, key_id: str) -> dict[str, Any] | None:
        found, row = self.cached(key_id)
        if found:
            return row
        with self.db.read() as uow:
            row = uow.members.api_key(key_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_id] = (time.monotonic() + self.cache_seconds, row)
        return row

    @staticmethod
    def parse(authorization: str | None) -> tuple[str, str]:
        """(key id, secret) from the Authorization header, or 401."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthorized("send Authorization: Bearer <api key>", code="missing_api_key")
        token = authorization[len("Bearer "):].strip()
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "kp" or len(token) > 200:
            raise Unauthorized("malformed API key", code="invalid_api_key")
        return parts[1], parts[2]

    def authenticate(self, authorization: str | None) -> Principal:
        key_id, secret = self.parse(authorization)
        return self.check(self._row(key_id), secret)

    @staticmethod
    def check(row: dict[str, Any] | None, secret: str) -> Principal:
        """The principal of a key row when the secret matches, or 401."""
        if row is None or row["revoked_at"] is not None or not hmac.compare_digest(
                row["secret_sha256"], secret_hash(secret)):
            raise Unauthorized("unknown or revoked API key", code="invalid_api_key")
        return Principal(row["key_id"], row["name"], row["partner_id"], row["store_id"],
                         row["till_id"], frozenset(row["scopes"].split(",")))
