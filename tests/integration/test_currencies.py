"""Several point currencies: separate balances, lots and ledgers; decimals where a currency
has them."""

from __future__ import annotations

from kopilka.adapters.sql.verify import verify
from kopilka.app.members import Enrolment
from kopilka.domain.errors import InsufficientPoints, NotFound
from kopilka.domain.points import PointCurrency


def test_currencies_keep_separate_balances(kopilka) -> None:  # noqa: ANN001
    kopilka.add_currency(PointCurrency("stars", "Stars", scale=1, unit_value_kopecks=0))
    member = kopilka.enrol(Enrolment(phone="+79161234567",
                                     consents={"personal_data": True})).body["member_id"]
    kopilka.earn(member, 500)
    kopilka.earn(member, 25, currency="stars")  # 2.5 stars
    assert kopilka.balance(member)["available"] == 500
    assert kopilka.balance(member, "stars")["available"] == "2.5"
    try:
        kopilka.spend(member, 26, currency="stars")
    except InsufficientPoints:
        pass
    else:
        raise AssertionError("spent more stars than the member has")
    kopilka.spend(member, 5, currency="stars")
    assert kopilka.balance(member, "stars")["available"] == "2.0"
    assert kopilka.balance(member)["available"] == 500
    history = kopilka.history(member)["items"]
    assert {(op["currency"], op["points"]) for op in history} == {
        ("points", 500), ("stars", "2.5"), ("stars", "-0.5")}
    with kopilka.db.engine.connect() as conn:
        assert verify(conn) == []


def test_unknown_currency_is_refused(kopilka) -> None:  # noqa: ANN001
    member = kopilka.enrol(Enrolment(phone="+79161234567",
                                     consents={"personal_data": True})).body["member_id"]
    try:
        kopilka.earn(member, 1, currency="gold")
    except NotFound as exc:
        assert exc.code == "currency_not_found"
    else:
        raise AssertionError("earned an unknown currency")
