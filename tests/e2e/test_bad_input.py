"""Bad input to every state-changing endpoint: a 4xx problem with a useful detail, never a
500, and nothing written (every table has the same number of rows before and after).

The cases share one database per kind (`shared_api`): each only makes refused requests and
proves it wrote nothing, so they cannot disturb one another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e.conftest import Api, assert_problem, new_phone

BIG = 10**12
MiB = 1_048_576
NO_ID = "0" * 32
CONSENT = {"personal_data": True}


@dataclass(frozen=True)
class World:
    mid: str
    card: str
    hold: str
    op: str
    challenge: str


@pytest.fixture(scope="module")
def world(shared_api: Api) -> World:
    """A member with 100 points earned, 10 of them on hold (90 available)."""
    api = shared_api
    m = api.enrol(first_name="Dina")
    mid = m["member_id"]
    op = api.earn(mid, 100)["operation_id"]
    hold = api.post(f"/v1/members/{mid}/holds", json={"points": 10}, as_="pos").json()["hold_id"]
    challenge = api.post(f"/v1/members/{mid}/verifications", json={"target": "phone"},
                         as_="pos").json()["challenge_id"]
    return World(mid, m["cards"][0]["number"], hold, op, challenge)


@pytest.fixture
def api(shared_api: Api, world: World) -> Iterator[Api]:
    """The shared app, checked after each case: no rows written, the member's points intact."""
    before = shared_api.counts()
    yield shared_api
    assert shared_api.counts() == before, "a refused request wrote rows"
    assert shared_api.balance(world.mid) == {"available": 90, "pending": 0, "on_hold": 10,
                                             "expiring": [], "currency": "points"}


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    role: str
    status: int
    code: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    field: str | None = None  # the field a validation error must point at

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


ENROL = "/v1/members"
PATCH = "/v1/members/{mid}"
CARDS = "/v1/members/{mid}/cards"
ADJUST = "/v1/members/{mid}/adjustments"
REVERSE = "/v1/members/{mid}/operations/{op}/reverse"
EARN = "/v1/members/{mid}/points/earn"
SPEND = "/v1/members/{mid}/points/spend"
HOLD = "/v1/members/{mid}/holds"
CAPTURE = "/v1/holds/{hold}/capture"
RELEASE = "/v1/holds/{hold}"
VERIFY = "/v1/members/{mid}/verifications"
CONFIRM = "/v1/members/{mid}/verifications/{challenge}"
ERASE = "/v1/members/{mid}/erase"
LOOKUP = "/v1/members/lookup"
V = "validation_error"


def enrol(case_id: str, status: int, code: str, field: str | None = None, /,
          **body: Any) -> Case:
    payload = {"phone": new_phone(), "consents": CONSENT, **body}
    payload = {k: v for k, v in payload.items() if v is not ...}
    return Case(f"enrol-{case_id}", "POST", ENROL, "admin", status, code, json=payload,
                field=field)


def points(endpoint: str, path: str, role: str = "pos", **extra: Any) -> list[Case]:
    """The same bad `points` for every endpoint that takes them."""
    cases = []
    for case_id, value in [("string", "10"), ("float", 1.5), ("integral-float", 10.0),
                           ("bool", True), ("null", None), ("zero", 0), ("negative", -5),
                           ("too-big", BIG + 1), ("huge", 10**30), ("list", [10])]:
        cases.append(Case(f"{endpoint}-points-{case_id}", "POST", path, role, 422, V,
                          json={"points": value, **extra}, field="points"))
    cases.append(Case(f"{endpoint}-points-missing", "POST", path, role, 422, V, json=extra,
                      field="points"))
    return cases


def common(endpoint: str, method: str, path: str, role: str, good: dict | None) -> list[Case]:
    """Malformed bodies every endpoint with a JSON body must refuse."""
    cases = [
        Case(f"{endpoint}-malformed-json", method, path, role, 422, V, content=b'{"points": ',
             headers={"content-type": "application/json"}),
        Case(f"{endpoint}-json-array", method, path, role, 422, V, json=[1, 2]),
        Case(f"{endpoint}-json-string", method, path, role, 422, V, json="hello"),
        Case(f"{endpoint}-oversized", method, path, role, 413, "payload_too_large",
             content=b'{"reason": "' + b"x" * MiB + b'"}',
             headers={"content-type": "application/json"}),
    ]
    if good is not None:
        cases.append(Case(f"{endpoint}-unknown-field", method, path, role, 422, V,
                          json={**good, "surprise": 1}, field="surprise"))
        if "{mid}" in path:
            cases.append(Case(f"{endpoint}-unknown-member", method, path.replace("{mid}", NO_ID),
                              role, 404, "member_not_found", json=good))
        if "{hold}" in path:
            cases.append(Case(f"{endpoint}-unknown-hold", method, path.replace("{hold}", NO_ID),
                              role, 404, "hold_not_found", json=good))
    return cases


CASES: list[Case] = [
    # --- enrolment --------------------------------------------------------------------------
    *common("enrol", "POST", ENROL, "admin", None),
    Case("enrol-empty-body", "POST", ENROL, "admin", 422, V),
    enrol("phone-missing", 422, V, "phone", phone=...),
    enrol("phone-number", 422, V, "phone", phone=79161234567),
    enrol("phone-invalid", 422, "invalid_phone", phone="12345"),
    enrol("phone-short", 422, "invalid_phone", phone="+7 916 12"),
    enrol("phone-foreign-garbage", 422, "invalid_phone", phone="+999 123 456"),
    enrol("phone-too-long", 422, V, "phone", phone="+7" + "9" * 60),
    enrol("phone-blank", 422, V, "phone", phone="   "),
    enrol("consents-missing", 422, V, "consents", consents=...),
    enrol("consents-empty", 422, "consent_required", consents={}),
    enrol("consent-false", 422, "consent_required", consents={"personal_data": False}),
    enrol("consent-null", 422, "consent_required", consents={"personal_data": None}),
    enrol("consent-only-marketing", 422, "consent_required",
          consents={"marketing_sms": True}),
    enrol("consent-string", 422, V, "consents.personal_data",
          consents={"personal_data": "yes"}),
    enrol("consent-int", 422, V, "consents.personal_data", consents={"personal_data": 1}),
    enrol("consent-unknown", 422, V, "consents.telepathy",
          consents={"personal_data": True, "telepathy": True}),
    enrol("consents-list", 422, V, "consents", consents=["personal_data"]),
    enrol("email-invalid", 422, "invalid_email", email="not-an-email"),
    enrol("email-too-long", 422, V, "email", email="a" * 250 + "@example.com"),
    enrol("first-name-10k", 422, V, "first_name", first_name="A" * 10_000),
    enrol("first-name-empty", 422, V, "first_name", first_name=""),
    enrol("first-name-number", 422, V, "first_name", first_name=5),
    enrol("first-name-nul", 422, V, "first_name", first_name="An\x00na"),
    Case("enrol-first-name-lone-surrogate", "POST", ENROL, "admin", 422, V,
         content=json.dumps({"phone": new_phone(), "consents": CONSENT,
                             "first_name": "An\ud800na"}).encode(),  # valid JSON text
         headers={"content-type": "application/json"}, field="first_name"),
    enrol("city-object", 422, V, "city", city={"name": "Moscow"}),
    enrol("birth-date-future", 422, "invalid_birth_date", birth_date="2030-01-01"),
    enrol("birth-date-tomorrow", 422, "invalid_birth_date", birth_date="2026-03-02"),
    enrol("birth-date-ancient", 422, "invalid_birth_date", birth_date="1850-01-01"),
    enrol("birth-date-impossible", 422, V, "birth_date", birth_date="2000-02-30"),
    enrol("birth-date-datetime", 422, V, "birth_date", birth_date="2000-01-01T10:00:00Z"),
    enrol("gender-unknown", 422, "invalid_gender", gender="robot"),
    enrol("attributes-nested", 422, "invalid_attributes", attributes={"a": {"b": 1}}),
    enrol("attributes-list-value", 422, "invalid_attributes", attributes={"a": [1]}),
    enrol("attributes-too-many", 422, "invalid_attributes",
          attributes={f"k{i}": i for i in range(51)}),
    enrol("attributes-too-large", 422, "invalid_attributes",
          attributes={f"k{i}": "x" * 900 for i in range(10)}),
    enrol("attributes-long-name", 422, "invalid_attributes", attributes={"k" * 65: 1}),
    enrol("attributes-not-object", 422, V, "attributes", attributes=[1, 2]),
    enrol("referral-code-long", 422, V, "referral_code", referral_code="R" * 17),
    enrol("store-unknown", 404, "store_not_found", store_id="nowhere"),
    enrol("store-id-long", 422, V, "store_id", store_id="s" * 65),
    enrol("unknown-field", 422, V, "nickname", nickname="Nick"),
    enrol("status-field", 422, V, "status", status="blocked"),
    enrol("consent-version-long", 422, V, "consent_text_version",
          consent_text_version="v" * 65),
    Case("enrol-text-plain", "POST", ENROL, "admin", 422, V,
         content=b'{"phone": "+79161234567", "consents": {"personal_data": true}}',
         headers={"content-type": "text/plain"}),
    # --- profile ----------------------------------------------------------------------------
    *common("patch", "PATCH", PATCH, "write", {"first_name": "Dina"}),
    Case("patch-phone", "PATCH", PATCH, "write", 422, V, json={"phone": "+79160000000"},
         field="phone"),
    Case("patch-status", "PATCH", PATCH, "write", 422, V, json={"status": "active"},
         field="status"),
    Case("patch-first-name-10k", "PATCH", PATCH, "write", 422, V,
         json={"first_name": "B" * 10_000}, field="first_name"),
    Case("patch-first-name-number", "PATCH", PATCH, "write", 422, V,
         json={"first_name": 42}, field="first_name"),
    Case("patch-email-invalid", "PATCH", PATCH, "write", 422, "invalid_email",
         json={"email": "dina@"}),
    Case("patch-birth-date-future", "PATCH", PATCH, "write", 422, "invalid_birth_date",
         json={"birth_date": "2099-12-31"}),
    Case("patch-gender", "PATCH", PATCH, "write", 422, "invalid_gender",
         json={"gender": "x"}),
    Case("patch-attributes-nested", "PATCH", PATCH, "write", 422, "invalid_attributes",
         json={"attributes": {"a": {"b": 1}}}),
    Case("patch-withdraw-personal-data", "PATCH", PATCH, "write", 422, "consent_required",
         json={"first_name": "Changed", "consents": {"personal_data": False}}),
    Case("patch-consent-string", "PATCH", PATCH, "write", 422, V,
         json={"consents": {"marketing_sms": "no"}}, field="consents.marketing_sms"),
    Case("patch-consent-unknown", "PATCH", PATCH, "write", 422, V,
         json={"consents": {"telepathy": True}}, field="consents.telepathy"),
    Case("patch-nul", "PATCH", PATCH, "write", 422, V, json={"city": "Mos\x00cow"},
         field="city"),
    # --- cards ------------------------------------------------------------------------------
    *common("cards", "POST", CARDS, "write", {"replace": None}),
    Case("cards-replace-unknown", "POST", CARDS, "write", 404, "card_not_found",
         json={"replace": "2000000099996"}),
    Case("cards-replace-garbage", "POST", CARDS, "write", 404, "card_not_found",
         json={"replace": "not-a-card"}),
    Case("cards-replace-long", "POST", CARDS, "write", 422, V, json={"replace": "2" * 33},
         field="replace"),
    Case("cards-replace-number", "POST", CARDS, "write", 422, V,
         json={"replace": 2000000000017}, field="replace"),
    # --- adjustments ------------------------------------------------------------------------
    *common("adjust", "POST", ADJUST, "admin", {"points": 5, "reason": "r"}),
    *[c for c in points("adjust", ADJUST, "admin", reason="r")
      if not c.id.endswith(("-negative", "-zero"))],
    Case("adjust-points-zero", "POST", ADJUST, "admin", 422, "invalid_points",
         json={"points": 0, "reason": "r"}),
    Case("adjust-points-too-negative", "POST", ADJUST, "admin", 422, V,
         json={"points": -BIG - 1, "reason": "r"}, field="points"),
    Case("adjust-beyond-balance", "POST", ADJUST, "admin", 422, "insufficient_points",
         json={"points": -91, "reason": "too much"}),
    Case("adjust-reason-missing", "POST", ADJUST, "admin", 422, V, json={"points": 5},
         field="reason"),
    Case("adjust-reason-empty", "POST", ADJUST, "admin", 422, V,
         json={"points": 5, "reason": ""}, field="reason"),
    Case("adjust-reason-blank", "POST", ADJUST, "admin", 422, V,
         json={"points": 5, "reason": "   "}, field="reason"),
    Case("adjust-reason-501", "POST", ADJUST, "admin", 422, V,
         json={"points": 5, "reason": "r" * 501}, field="reason"),
    Case("adjust-currency-unknown", "POST", ADJUST, "admin", 404, "currency_not_found",
         json={"points": 5, "reason": "r", "currency": "gold"}),
    Case("adjust-expires-naive", "POST", ADJUST, "admin", 422, V,
         json={"points": 5, "reason": "r", "expires_at": "2027-01-01T00:00:00"},
         field="expires_at"),
    Case("adjust-allow-negative-string", "POST", ADJUST, "admin", 422, V,
         json={"points": -200, "reason": "r", "allow_negative_balance": "true"},
         field="allow_negative_balance"),
    # --- reversal ---------------------------------------------------------------------------
    *common("reverse", "POST", REVERSE, "admin", {"reason": "r"}),
    Case("reverse-reason-missing", "POST", REVERSE, "admin", 422, V, json={},
         field="reason"),
    Case("reverse-reason-501", "POST", REVERSE, "admin", 422, V, json={"reason": "r" * 501},
         field="reason"),
    Case("reverse-unknown-operation", "POST", REVERSE.replace("{op}", NO_ID), "admin", 404,
         "operation_not_found", json={"reason": "r"}),
    Case("reverse-other-members-operation", "POST", REVERSE.replace("{mid}", "{other}"),
         "admin", 404, "operation_not_found", json={"reason": "r"}),
    # --- earn -------------------------------------------------------------------------------
    *common("earn", "POST", EARN, "pos", {"points": 5}),
    *points("earn", EARN),
    Case("earn-currency-unknown", "POST", EARN, "pos", 404, "currency_not_found",
         json={"points": 5, "currency": "gold"}),
    Case("earn-expires-naive", "POST", EARN, "pos", 422, V,
         json={"points": 5, "expires_at": "2027-01-01T00:00:00"}, field="expires_at"),
    Case("earn-expires-garbage", "POST", EARN, "pos", 422, V,
         json={"points": 5, "expires_at": "next tuesday"}, field="expires_at"),
    Case("earn-activates-naive", "POST", EARN, "pos", 422, V,
         json={"points": 5, "activates_at": "2027-01-01T00:00:00"}, field="activates_at"),
    Case("earn-effective-naive", "POST", EARN, "pos", 422, V,
         json={"points": 5, "effective_at": "2026-01-01T00:00:00"}, field="effective_at"),
    Case("earn-expires-before-activation", "POST", EARN, "pos", 422, "invalid_expiry",
         json={"points": 5, "activates_at": "2027-01-02T00:00:00Z",
               "expires_at": "2027-01-01T00:00:00Z"}),
    Case("earn-reason-501", "POST", EARN, "pos", 422, V,
         json={"points": 5, "reason": "r" * 501}, field="reason"),
    Case("earn-event-long", "POST", EARN, "pos", 422, V,
         json={"points": 5, "activation_event": "e" * 65}, field="activation_event"),
    Case("earn-member-id-nul", "POST", EARN.replace("{mid}", "ab%00cd"), "pos", 422, V,
         json={"points": 5}, field="path.member_id"),
    Case("earn-member-id-long", "POST", EARN.replace("{mid}", "m" * 5000), "pos", 422, V,
         json={"points": 5}, field="path.member_id"),
    # --- spend ------------------------------------------------------------------------------
    *common("spend", "POST", SPEND, "pos", {"points": 5}),
    *points("spend", SPEND),
    Case("spend-more-than-available", "POST", SPEND, "pos", 422, "insufficient_points",
         json={"points": 91}),
    Case("spend-currency-unknown", "POST", SPEND, "pos", 404, "currency_not_found",
         json={"points": 5, "currency": "gold"}),
    Case("spend-reason-501", "POST", SPEND, "pos", 422, V,
         json={"points": 5, "reason": "r" * 501}, field="reason"),
    # --- holds ------------------------------------------------------------------------------
    *common("hold", "POST", HOLD, "pos", {"points": 5}),
    *points("hold", HOLD),
    Case("hold-more-than-available", "POST", HOLD, "pos", 422, "insufficient_points",
         json={"points": 91}),
    Case("hold-ttl-zero", "POST", HOLD, "pos", 422, V, json={"points": 5, "ttl_seconds": 0},
         field="ttl_seconds"),
    Case("hold-ttl-huge", "POST", HOLD, "pos", 422, V,
         json={"points": 5, "ttl_seconds": 10**9}, field="ttl_seconds"),
    Case("hold-ttl-string", "POST", HOLD, "pos", 422, V,
         json={"points": 5, "ttl_seconds": "60"}, field="ttl_seconds"),
    Case("hold-currency-unknown", "POST", HOLD, "pos", 404, "currency_not_found",
         json={"points": 5, "currency": "gold"}),
    *common("capture", "POST", CAPTURE, "pos", {"points": 5}),
    Case("capture-points-string", "POST", CAPTURE, "pos", 422, V, json={"points": "5"},
         field="points"),
    Case("capture-points-negative", "POST", CAPTURE, "pos", 422, V, json={"points": -1},
         field="points"),
    Case("capture-points-float", "POST", CAPTURE, "pos", 422, V, json={"points": 2.5},
         field="points"),
    Case("capture-more-than-held", "POST", CAPTURE, "pos", 422, "invalid_capture",
         json={"points": 11}),
    Case("release-unknown-hold", "DELETE", RELEASE.replace("{hold}", NO_ID), "pos", 404,
         "hold_not_found"),
    # --- verification and privacy -----------------------------------------------------------
    *common("verify", "POST", VERIFY, "pos", {"target": "phone"}),
    Case("verify-target-unknown", "POST", VERIFY, "pos", 422, V, json={"target": "fax"},
         field="target"),
    Case("verify-no-email", "POST", VERIFY, "pos", 422, "nothing_to_verify",
         json={"target": "email"}),
    Case("confirm-code-empty", "POST", CONFIRM, "pos", 422, V, json={"code": ""},
         field="code"),
    Case("confirm-code-long", "POST", CONFIRM, "pos", 422, V, json={"code": "1" * 13},
         field="code"),
    Case("confirm-code-number", "POST", CONFIRM, "pos", 422, V, json={"code": 123456},
         field="code"),
    Case("confirm-code-missing", "POST", CONFIRM, "pos", 422, V, json={}, field="code"),
    Case("confirm-unknown-challenge", "POST", CONFIRM.replace("{challenge}", NO_ID), "pos",
         404, "verification_not_found", json={"code": "123456"}),
    Case("erase-unknown-member", "POST", ERASE.replace("{mid}", NO_ID), "admin", 404,
         "member_not_found"),
    # --- lookup (reads, but takes a body) ---------------------------------------------------
    *common("lookup", "POST", LOOKUP, "read", None),
    Case("lookup-empty", "POST", LOOKUP, "read", 422, "invalid_member_reference", json={}),
    Case("lookup-two-refs", "POST", LOOKUP, "read", 422, "invalid_member_reference",
         json={"member_id": NO_ID, "phone": "+79160000000"}),
    Case("lookup-card-number", "POST", LOOKUP, "read", 422, V, json={"card": 2000000000017},
         field="card"),
    Case("lookup-card-check-digit", "POST", LOOKUP, "read", 422, "invalid_card",
         json={"card": "2000000000010"}),
    Case("lookup-phone-invalid", "POST", LOOKUP, "read", 422, "invalid_phone",
         json={"phone": "123"}),
    Case("lookup-qr", "POST", LOOKUP, "read", 422, "qr_invalid", json={"qr": "abc"}),
    Case("lookup-unknown-field", "POST", LOOKUP, "read", 422, V,
         json={"email": "a@example.com"}, field="email"),
]


def _format(value: Any, world: World, other: str) -> Any:
    if isinstance(value, str):
        return value.format(mid=world.mid, hold=world.hold, op=world.op,
                            challenge=world.challenge, other=other)
    return value


@pytest.fixture(scope="module")
def other_member(shared_api: Api, world: World) -> str:
    return shared_api.enrol()["member_id"]


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_bad_input_is_refused(case: Case, other_member: str, world: World, api: Api) -> None:
    path = _format(case.path, world, other_member)
    kwargs: dict[str, Any] = {"headers": case.headers}
    if case.content is not None:
        kwargs["content"] = case.content
    elif case.json is not None:
        kwargs["json"] = case.json
    r = api.request(case.method, path, as_=case.role, **kwargs)
    body = assert_problem(r, case.status, case.code)
    if case.code == V and case.status == 422:
        assert body["errors"], body
        for error in body["errors"]:
            assert error["msg"] and isinstance(error["loc"], list)
        first = ".".join(map(str, body["errors"][0]["loc"]))
        assert body["detail"].startswith(first), body
    if case.field is not None:
        locs = [".".join(map(str, e["loc"])) for e in body.get("errors", [])]
        assert any(loc == case.field or loc.startswith(case.field + ".") for loc in locs), \
            (case.field, locs, body)
        assert case.field.split(".")[0] in body["detail"], body


def test_body_over_one_mebibyte_without_content_length(api: Api, world: World) -> None:
    """A chunked upload has no Content-Length; the 1 MiB limit must still hold."""
    def chunks() -> Iterator[bytes]:
        yield b'{"points": 5, "reason": "'
        for _ in range(2 * 1024):
            yield b"x" * 1024
        yield b'"}'
    r = api.post(EARN.format(mid=world.mid), as_="pos", content=chunks(),
                 headers={"content-type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_problem(r, 413, "payload_too_large")


def test_refusals_never_leak_the_internal_error(api: Api, world: World) -> None:
    """The detail of a refusal is written for the caller, not a stack trace."""
    r = api.post(EARN.format(mid=world.mid), as_="pos", json={"points": "10"})
    body = assert_problem(r, 422, V)
    assert "Traceback" not in r.text and "sqlalchemy" not in r.text.lower()
    assert body["errors"][0]["loc"] == ["points"]
