"""The digital card through the library, on SQLite and PostgreSQL: a member's QR token works
as the member reference at the till (lookup, calculate, confirm) until it expires; the lost
phone flow blocks the old card, so its token is refused, and the member keeps balance, tier
and history on the new card, exactly once per idempotency key."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kopilka.adapters.sql.verify import verify
from kopilka.app import digital_card as D
from kopilka.app.library import Kopilka
from kopilka.app.members import Enrolment
from kopilka.app.ports import FixedClock
from kopilka.app.program_document import parse_program
from kopilka.app.receipts import ReceiptInput
from kopilka.domain.cards import is_valid_card_number
from kopilka.domain.errors import DomainError
from kopilka.domain.evaluation import Line
from tests.e2e.conftest import row_counts
from tests.svg_raster import decode, rasterise

MSK = timezone(timedelta(hours=3))
PROGRAM = """\
name: Digital card test
effective_from: 2026-01-01T00:00:00+03:00
point_currencies: [{code: points, name: Bonus points, value: "1.00"}]
earn: [{id: base, percent: "10"}]
burn: {id: pay, max_share_percent: "50"}
tiers:
  id: tiers
  measure: spend
  levels:
    - {code: base, name: Base, threshold: "0.00"}
    - {code: silver, name: Silver, threshold: "5000.00"}
"""
_phones = iter(range(3_000_000, 3_999_999))


def enrol(k: Kopilka) -> str:
    phone = f"+7916{next(_phones):07d}"
    return k.enrol(Enrolment(phone=phone, consents={"personal_data": True})).body["member_id"]


def receipt(receipt_id: str, member: dict[str, str], price: str = "1000.00") -> ReceiptInput:
    line = Line(line_id="1", sku="SKU-1", unit_price=int(Decimal(price) * 100),
                quantity=Decimal(1))
    return ReceiptInput(store_id="msk-001", receipt_id=receipt_id,
                        occurred_at=datetime(2026, 3, 1, 12, 0, tzinfo=MSK), lines=(line,),
                        member=member)


def refuse(code: str, status: int, call, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert (caught.value.code, caught.value.status) == (code, status), caught.value


def cards(k: Kopilka, member_id: str) -> list[tuple[str, str, str | None]]:
    return [(c["number"], c["status"], c["replaced_by"]) for c in k.member(member_id)["cards"]]


def the_only_card(k: Kopilka, member_id: str) -> str:
    [(number, status, replaced_by)] = cards(k, member_id)
    assert (status, replaced_by) == ("active", None)
    return number


def books_whole(k: Kopilka) -> None:
    with k.db.engine.connect() as conn:
        assert verify(conn) == []


@pytest.fixture
def member(kopilka: Kopilka) -> str:
    assert kopilka.apply_program(parse_program(PROGRAM)).status == 201
    return enrol(kopilka)


def test_a_token_is_for_the_members_active_card(kopilka: Kopilka, clock: FixedClock,
                                                member: str) -> None:
    card = the_only_card(kopilka, member)
    token = kopilka.card_token(member)
    assert token == {"token": token["token"], "card": card,
                     "expires_at": (clock.now() + timedelta(seconds=120)).isoformat()}
    assert token["token"].startswith(card + ".") and len(token["token"]) == 64
    assert kopilka.card_of_token(token["token"]) == card


def test_lookup_calculate_and_confirm_take_a_qr_token(kopilka: Kopilka, member: str) -> None:
    kopilka.earn(member, 300)
    token = kopilka.card_token(member)["token"]
    assert kopilka.resolve({"qr": token}) == member
    summary = kopilka.lookup({"qr": token})
    assert summary == kopilka.lookup({"member_id": member})
    assert summary["member_id"] == member and summary["balance"]["available"] == 300
    calculated = kopilka.calculate(receipt("r1", {"qr": token}), hold=False).body
    assert calculated["member"]["member_id"] == member and calculated["points_earned"] == 100
    held = kopilka.calculate(receipt("r1", {"qr": token}), hold=True).body
    assert held["member"]["member_id"] == member and held["hold_id"] is None  # redeems none
    confirmed = kopilka.confirm(receipt("r1", {"qr": token}))
    assert confirmed.status == 201 and confirmed.body["member_id"] == member
    assert kopilka.balance(member)["available"] == 400
    books_whole(kopilka)


def test_an_expired_or_forged_token_is_refused_and_writes_nothing(
        kopilka: Kopilka, clock: FixedClock, member: str) -> None:
    token = kopilka.card_token(member)["token"]
    card = token.split(".")[0]
    clock.advance(seconds=121)
    before = row_counts(kopilka)
    refuse("qr_expired", 422, kopilka.lookup, {"qr": token})
    refuse("qr_expired", 422, kopilka.calculate, receipt("r1", {"qr": token}))
    refuse("qr_expired", 422, kopilka.confirm, receipt("r1", {"qr": token}))
    fresh = kopilka.card_token(member)["token"]
    refuse("qr_invalid", 422, kopilka.lookup, {"qr": fresh[:-1] + ("A" if fresh[-1] != "A"
                                                                  else "B")})
    foreign = D.CardTokens(b"another library's key".ljust(32, b"-"), clock).issue(card).token
    refuse("qr_invalid", 422, kopilka.lookup, {"qr": foreign})
    refuse("qr_invalid", 422, kopilka.calculate, receipt("r1", {"qr": "not a token"}))
    assert row_counts(kopilka) == before
    assert kopilka.lookup({"qr": fresh})["member_id"] == member


def test_the_time_to_live_is_set_on_the_library(kopilka: Kopilka, clock: FixedClock,
                                                member: str) -> None:
    kopilka.card_token_ttl = timedelta(seconds=30)
    token = kopilka.card_token(member)
    assert token["expires_at"] == (clock.now() + timedelta(seconds=30)).isoformat()
    clock.advance(seconds=31)
    refuse("qr_expired", 422, kopilka.lookup, {"qr": token["token"]})


def test_replacing_a_lost_card_keeps_balance_tier_and_history(kopilka: Kopilka,
                                                              member: str) -> None:
    kopilka.confirm(receipt("big", {"member_id": member}, "6000.00"))  # 600 points, silver
    kopilka.earn(member, 50, reason="goodwill")
    old = the_only_card(kopilka, member)
    old_token = kopilka.card_token(member)["token"]
    before = (kopilka.balance(member), kopilka.tier(member)["tier"],
              kopilka.history(member)["items"])
    assert before[0]["available"] == 650 and before[1]["code"] == "silver"

    result = kopilka.replace_lost_card(member)
    new = result.body["card"]
    assert result.status == 201 and new != old and is_valid_card_number(new)
    assert result.body["member_id"] == member and result.body["blocked"] == [old]
    assert cards(kopilka, member) == [(old, "blocked", new), (new, "active", None)]
    assert [(c["number"], c["status"]) for c in result.body["cards"]] == [
        (old, "blocked"), (new, "active")]

    refuse("card_blocked", 409, kopilka.lookup, {"qr": old_token})  # a fresh, signed token
    refuse("card_blocked", 409, kopilka.calculate, receipt("r2", {"qr": old_token}))
    refuse("card_blocked", 409, kopilka.lookup, {"card": old})
    new_token = kopilka.card_token(member)
    assert new_token["card"] == new
    assert kopilka.lookup({"qr": new_token["token"]})["member_id"] == member
    assert (kopilka.balance(member), kopilka.tier(member)["tier"],
            kopilka.history(member)["items"]) == before
    books_whole(kopilka)


def test_replacing_a_lost_card_happens_once_per_idempotency_key(kopilka: Kopilka,
                                                                member: str) -> None:
    first = the_only_card(kopilka, member)
    once = kopilka.replace_lost_card(member, idempotency_key="lost-1")
    again = kopilka.replace_lost_card(member, idempotency_key="lost-1")
    assert (once.replayed, again.replayed) == (False, True)
    assert again.body == once.body and again.status == once.status == 201
    second = once.body["card"]
    assert cards(kopilka, member) == [(first, "blocked", second), (second, "active", None)]
    another = kopilka.replace_lost_card(member, idempotency_key="lost-2").body["card"]
    assert cards(kopilka, member) == [(first, "blocked", second), (second, "blocked", another),
                                      (another, "active", None)]


def test_every_active_card_is_blocked_by_the_replacement(kopilka: Kopilka,
                                                         member: str) -> None:
    first = the_only_card(kopilka, member)
    plastic = kopilka.issue_card(member).body["number"]
    result = kopilka.replace_lost_card(member).body
    new = result["card"]
    assert result["blocked"] == [first, plastic]
    assert cards(kopilka, member) == [(first, "blocked", None), (plastic, "blocked", new),
                                      (new, "active", None)]
    assert kopilka.card_token(member)["card"] == new


def test_a_member_without_an_active_card_gets_one_issued_once(kopilka: Kopilka,
                                                              member: str) -> None:
    first = the_only_card(kopilka, member)
    kopilka.block_card(member, first)
    token = kopilka.card_token(member)
    assert token["card"] != first
    assert kopilka.card_token(member)["card"] == token["card"]  # not another one
    assert cards(kopilka, member) == [(first, "blocked", None), (token["card"], "active", None)]


def test_a_member_who_is_not_active_gets_no_token_nor_replacement(kopilka: Kopilka,
                                                                  member: str) -> None:
    token = kopilka.card_token(member)["token"]
    kopilka.erase(member)
    before = row_counts(kopilka)
    refuse("member_not_active", 409, kopilka.card_token, member)
    refuse("member_not_active", 409, kopilka.replace_lost_card, member)
    refuse("card_blocked", 409, kopilka.lookup, {"qr": token})  # erasure blocked the card
    refuse("member_not_found", 404, kopilka.card_token, "0" * 32)
    assert row_counts(kopilka) == before


def test_the_card_images_decode_to_the_card_and_a_token_the_till_takes(
        kopilka: Kopilka, member: str) -> None:
    images = kopilka.card_images(member, qr_label="QR-код карты")
    assert set(images) == {"card", "token", "expires_at", "code128_svg", "qr_svg"}
    assert decode(rasterise(images["code128_svg"], px_per_unit=4)) == [
        ("Code128", images["card"])]
    [(kind, scanned)] = decode(rasterise(images["qr_svg"], px_per_unit=4))
    assert (kind, scanned) == ("QRCode", images["token"])
    assert 'aria-label="QR-код карты"' in images["qr_svg"]
    assert f'aria-label="Barcode of card {images["card"]}"' in images["code128_svg"]
    assert kopilka.lookup({"qr": scanned})["member_id"] == member
