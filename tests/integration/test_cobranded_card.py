"""A co-branded card (SPEC P6): one card, each brand's own discount at that brand's stores."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from kopilka.app.library import Caller, Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.evaluation import Line

PROGRAM = """\
name: Co-branded
effective_from: 2026-01-01T00:00:00+00:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
discount: {id: base, percent: "3", exclude: {categories: [tobacco]}}
tiers:
  id: tiers
  measure: spend
  levels:
    - {code: base, name: Base, threshold: "0.00"}
    - {code: gold, name: Gold, threshold: "100000.00", discount_percent: "15"}
coalition:
  partners:
    - {partner_id: cafe, discount_percent: "10"}
    - {partner_id: books, money_per_point: "0.50"}
"""
CAFE = Caller(name="cafe-till", partner_id="cafe")


def _setup(k: Kopilka, clock: FixedClock) -> str:
    clock.at = datetime(2026, 3, 2, 10, tzinfo=UTC)
    for partner, store in (("cafe", "cafe-1"), ("books", "books-1")):
        k.add_partner(partner, partner.title())
        k.add_store(store, partner, f"{partner} store")
    k.apply_program(parse_program(PROGRAM))
    cmd = Enrolment(phone="+79161112233", consents={"personal_data": True})
    return k.enrol(cmd, caller=CAFE).body["member_id"]


def _receipt(store: str, member_id: str, receipt_id: str = "r1") -> ReceiptInput:
    lines = (Line(line_id="1", sku="COFFEE", unit_price=100_00, quantity=Decimal(1)),
             Line(line_id="2", sku="CIGS", unit_price=100_00, quantity=Decimal(1),
                  category="tobacco"))
    return ReceiptInput(store_id=store, receipt_id=receipt_id,
                        occurred_at=datetime(2026, 3, 2, 10, tzinfo=UTC), lines=lines,
                        member={"member_id": member_id})


def _discount(body: dict) -> tuple[str, str]:
    (applied,) = [a for a in body["applied"] if a["kind"] == "discount"]
    return applied["code"], body["discount_total"]


def test_each_brand_gives_its_own_discount_at_its_stores(kopilka: Kopilka,
                                                         clock: FixedClock) -> None:
    member = _setup(kopilka, clock)
    at_cafe = kopilka.calculate(_receipt("cafe-1", member)).body
    assert _discount(at_cafe) == ("coalition:cafe", "10.00")  # 10% of the coffee, not tobacco
    at_books = kopilka.calculate(_receipt("books-1", member)).body
    assert _discount(at_books) == ("base", "3.00")  # a rate but no discount: the program's
    unknown = kopilka.calculate(_receipt("kiosk-9", member)).body
    assert _discount(unknown) == ("base", "3.00")  # a store nobody registered
    confirmed = kopilka.confirm(_receipt("cafe-1", member), caller=CAFE).body
    assert _discount(confirmed) == ("coalition:cafe", "10.00")
    assert kopilka.lookup({"member_id": member}, caller=CAFE)["discount_percent"] == "10"
    assert kopilka.lookup({"member_id": member})["discount_percent"] == "3"


def test_a_tiers_own_discount_still_comes_first(kopilka: Kopilka, clock: FixedClock) -> None:
    member = _setup(kopilka, clock)
    with kopilka.db.write() as uow:
        uow.members.update(member, {"tier_code": "gold"})
    assert _discount(kopilka.calculate(_receipt("cafe-1", member)).body) == ("tiers", "15.00")
