"""Point currencies and money, card numbers, consent records, one-time codes, identifiers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kopilka.app.identity import normalise_email, normalise_phone
from kopilka.domain import consent as C
from kopilka.domain import verification as V
from kopilka.domain.cards import (
    CARD_LENGTH,
    MAX_SERIAL,
    card_number,
    ean_check_digit,
    is_valid_card_number,
)
from kopilka.domain.errors import DomainError, InvalidInput
from kopilka.domain.points import (
    DEFAULT_CURRENCY,
    PointCurrency,
    Rounding,
    format_money,
    parse_money,
    round_to_int,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POINTS = DEFAULT_CURRENCY  # scale 0, one point = 1 ruble = 100 kopecks
STARS = PointCurrency(code="stars", name="Stars", scale=2, unit_value_kopecks=100)


# --- point currencies -----------------------------------------------------------------------

def test_the_default_currency_is_whole_points_worth_a_ruble_earned_rounding_down() -> None:
    assert (POINTS.code, POINTS.scale, POINTS.unit_value_kopecks, POINTS.earn_rounding,
            POINTS.min_available) == ("points", 0, 100, Rounding.FLOOR, 0)


@pytest.mark.parametrize(("text", "minor"), [
    ("12.5", 1250), ("12.50", 1250), ("0.01", 1), ("-3.2", -320), ("7", 700), (7, 700),
    ("1E+1", 1000), ("0", 0),
])
def test_parse_turns_decimal_text_into_minor_units(text: str | int, minor: int) -> None:
    assert STARS.parse(text) == minor


def test_parse_of_a_whole_point_currency_gives_integers() -> None:
    assert POINTS.parse("42") == 42
    assert POINTS.parse("42.000") == 42
    assert POINTS.parse(-5) == -5


@pytest.mark.parametrize(("currency", "text"), [(STARS, "0.001"), (STARS, "12.345"),
                                                (POINTS, "0.5"), (POINTS, "1.01")])
def test_parse_refuses_more_decimal_places_than_the_currency_has(
        currency: PointCurrency, text: str) -> None:
    with pytest.raises(InvalidInput):
        currency.parse(text)


@pytest.mark.parametrize("text", ["NaN", "inf", "-Infinity", "abc", "", "1,5"])
def test_parse_refuses_text_that_is_not_a_finite_number(text: str) -> None:
    """Untrusted input always ends in InvalidInput, never a decimal or overflow error."""
    with pytest.raises(InvalidInput):
        STARS.parse(text)


@pytest.mark.parametrize(("currency", "minor", "shown"), [
    (POINTS, 42, 42), (POINTS, -7, -7), (STARS, 1250, "12.50"), (STARS, 1, "0.01"),
    (STARS, -5, "-0.05"), (STARS, 0, "0.00"), (STARS, 10**12, "10000000000.00"),
])
def test_format_renders_ints_for_whole_points_and_fixed_decimals_otherwise(
        currency: PointCurrency, minor: int, shown: str | int) -> None:
    assert currency.format(minor) == shown


@pytest.mark.parametrize("minor", [0, 1, -1, 99, 100, 123456, -98765, 10**12])
def test_format_and_parse_round_trip(minor: int) -> None:
    assert STARS.parse(STARS.format(minor)) == minor
    assert POINTS.parse(POINTS.format(minor)) == minor


@pytest.mark.parametrize(("rounding", "kopecks"), [
    (Rounding.FLOOR, 15), (Rounding.CEILING, 16), (Rounding.HALF_UP, 16),
    (Rounding.HALF_EVEN, 16),
])
def test_money_value_of_half_a_kopeck_rounds_as_asked(rounding: Rounding, kopecks: int) -> None:
    tenths = PointCurrency(code="t", name="Tenths", scale=1, unit_value_kopecks=155)
    assert tenths.money_value_kopecks(1, rounding) == kopecks  # 15.5 kopecks


def test_money_value_half_even_rounds_to_the_even_kopeck() -> None:
    tenths = PointCurrency(code="t", name="Tenths", scale=1, unit_value_kopecks=155)
    assert tenths.money_value_kopecks(3, Rounding.HALF_EVEN) == 46  # 46.5
    assert tenths.money_value_kopecks(3, Rounding.HALF_UP) == 47
    assert tenths.money_value_kopecks(3) == 46  # floor by default


def test_money_value_of_whole_points() -> None:
    assert POINTS.money_value_kopecks(250) == 25000
    assert STARS.money_value_kopecks(250) == 250
    assert POINTS.money_value_kopecks(0) == 0


@pytest.mark.parametrize(("rounding", "points"), [
    (Rounding.FLOOR, 2), (Rounding.CEILING, 3), (Rounding.HALF_UP, 3), (Rounding.HALF_EVEN, 2),
])
def test_points_for_money_at_exactly_half_a_point(rounding: Rounding, points: int) -> None:
    # 5% of 50.00 rubles is 2.5 points of one ruble each
    assert POINTS.points_for_money(5000, Decimal("5"), rounding) == points


@pytest.mark.parametrize(("rounding", "points"), [
    (Rounding.FLOOR, 3), (Rounding.CEILING, 4), (Rounding.HALF_UP, 4), (Rounding.HALF_EVEN, 4),
])
def test_points_for_money_at_three_and_a_half(rounding: Rounding, points: int) -> None:
    assert POINTS.points_for_money(7000, Decimal("5"), rounding) == points


def test_points_for_money_rounds_down_by_default_when_earning() -> None:
    # 5% of 123.45 rubles = 6.1725 points; 3% of 199.99 = 5.9997: never rounded up by default
    assert POINTS.points_for_money(12345, Decimal("5")) == 6
    assert POINTS.points_for_money(19999, Decimal("3")) == 5


def test_points_for_money_uses_the_currency_earn_rounding_and_scale() -> None:
    generous = replace(POINTS, earn_rounding=Rounding.HALF_UP)
    assert generous.points_for_money(19999, Decimal("3")) == 6
    # stars have two decimals: 5% of 123.45 rubles = 6.1725 -> 617 hundredths
    assert STARS.points_for_money(12345, Decimal("5")) == 617
    assert STARS.points_for_money(12345, Decimal("5"), Rounding.CEILING) == 618


def test_points_for_money_accepts_rounding_names_as_strings() -> None:
    assert POINTS.points_for_money(5000, Decimal("5"), "half_up") == 3


def test_points_for_money_of_a_currency_without_money_value_is_refused() -> None:
    free = PointCurrency(code="free", name="Free", unit_value_kopecks=0)
    with pytest.raises(InvalidInput):
        free.points_for_money(10000, Decimal("5"))


@pytest.mark.parametrize(("value", "rounding", "result"), [
    (Decimal("-2.5"), Rounding.FLOOR, -3), (Decimal("-2.5"), Rounding.CEILING, -2),
    (Decimal("-2.5"), Rounding.HALF_UP, -3), (Decimal("-2.5"), Rounding.HALF_EVEN, -2),
    (Decimal("2.4999"), Rounding.HALF_UP, 2), (Decimal("7"), Rounding.CEILING, 7),
])
def test_round_to_int_modes(value: Decimal, rounding: Rounding, result: int) -> None:
    assert round_to_int(value, rounding) == result


@pytest.mark.parametrize("kwargs", [{"scale": 5}, {"scale": -1}, {"unit_value_kopecks": -1},
                                    {"min_available": 1}])
def test_currency_definition_is_validated(kwargs: dict) -> None:
    with pytest.raises(InvalidInput):
        PointCurrency(code="bad", name="Bad", **kwargs)


def test_a_currency_may_allow_a_negative_floor() -> None:
    assert PointCurrency(code="c", name="Credit", min_available=-500).min_available == -500


# --- money ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kopecks", "text"), [
    (123450, "1234.50"), (0, "0.00"), (5, "0.05"), (-5, "-0.05"), (-100, "-1.00"),
    (-123456, "-1234.56"), (99, "0.99"), (10**15, "10000000000000.00"),
])
def test_format_money_has_two_decimal_places_and_a_sign(kopecks: int, text: str) -> None:
    assert format_money(kopecks) == text


@pytest.mark.parametrize(("text", "kopecks"), [
    ("1234.50", 123450), ("1234.5", 123450), ("0.01", 1), ("-0.05", -5), ("-1", -100),
    ("1.230", 123), ("1e2", 10000), ("0", 0), (" 12.50 ", 1250),
])
def test_parse_money_gives_kopecks(text: str, kopecks: int) -> None:
    assert parse_money(text) == kopecks


@pytest.mark.parametrize("kopecks", [0, 1, -1, 99, -99, 100, 123456, -987654321])
def test_money_round_trips(kopecks: int) -> None:
    assert parse_money(format_money(kopecks)) == kopecks


@pytest.mark.parametrize("text", ["0.001", "12.345", "-0.005", "1e-3"])
def test_parse_money_refuses_fractions_of_a_kopeck(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_money(text)


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "inf", "-inf", "Infinity", "", "abc",
                                  "1,50", "12.5.0", "₽10"])
def test_parse_money_refuses_what_is_not_a_finite_amount(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_money(text)


@pytest.mark.parametrize("text", ["1e999999", "1e400000000"])
def test_parse_money_refuses_absurd_exponents_as_invalid_input(text: str) -> None:
    """Huge exponents would overflow the decimal context: refused as InvalidInput instead."""
    with pytest.raises(InvalidInput):
        parse_money(text)


# --- card numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize("number", ["4006381333931", "5901234123457", "9780306406157",
                                    "4600051000057", "2000000000015"])
def test_real_ean13_numbers_have_valid_check_digits(number: str) -> None:
    assert ean_check_digit(number[:12]) == number[12]
    assert is_valid_card_number(number)


def test_card_number_is_the_in_store_prefix_the_padded_serial_and_the_check_digit() -> None:
    assert card_number(1) == "2000000000015"
    assert card_number(123456) == "2000001234563"
    assert card_number(MAX_SERIAL) == "2999999999991"


@pytest.mark.parametrize("serial", [1, 7, 42, 123456, 9_876_543_210, MAX_SERIAL])
def test_issued_card_numbers_are_valid_ean13(serial: int) -> None:
    number = card_number(serial)
    assert len(number) == CARD_LENGTH
    assert number.startswith("2")
    assert int(number[1:12]) == serial
    assert is_valid_card_number(number)


@pytest.mark.parametrize("serial", [0, -1, MAX_SERIAL + 1])
def test_card_serial_outside_the_range_is_refused(serial: int) -> None:
    with pytest.raises(InvalidInput):
        card_number(serial)


@pytest.mark.parametrize("number", ["4006381333931", "2000001234563"])
def test_any_single_changed_digit_is_detected(number: str) -> None:
    for position in range(CARD_LENGTH):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            changed = number[:position] + digit + number[position + 1:]
            assert not is_valid_card_number(changed), changed


@pytest.mark.parametrize("number", [
    "400638133393", "40063813339310", "", "4006381333932", "400638133393a",
    "4006381333931 ", "-400638133393", "400638133393\u0661",  # arabic-indic one
    "400638133393\uff11",  # fullwidth '1'
    "\uff14006381333931",  # fullwidth 4 in front
])
def test_invalid_card_numbers_are_refused(number: str) -> None:
    assert not is_valid_card_number(number)


def test_check_digit_refuses_non_ascii_digits_and_wrong_lengths() -> None:
    for payload in ["40063813339", "4006381333931", "40063813339\uff13", "40063813339x"]:
        with pytest.raises(InvalidInput):
            ean_check_digit(payload)


def test_fullwidth_digits_are_digits_to_python_but_not_card_numbers() -> None:
    fullwidth = "".join(chr(ord("\uff10") + int(d)) for d in "4006381333931")
    assert fullwidth.isdigit()
    assert not is_valid_card_number(fullwidth)


# --- consent --------------------------------------------------------------------------------

def records(fields: dict[str, bool], at: datetime = T0) -> list[C.ConsentRecord]:
    return C.records_from_fields(fields, at=at, source="till", text_version="2")


def test_records_from_fields_maps_each_flat_field_to_purpose_and_channel() -> None:
    made = records({"personal_data": True, "marketing_sms": False, "partner_transfer": True})
    assert [(r.purpose, r.channel, r.granted) for r in made] == [
        (C.Purpose.PERSONAL_DATA, None, True), (C.Purpose.MARKETING, C.Channel.SMS, False),
        (C.Purpose.PARTNER_TRANSFER, None, True)]
    assert {(r.recorded_at, r.source, r.text_version) for r in made} == {(T0, "till", "2")}
    assert [r.field for r in made] == ["personal_data", "marketing_sms", "partner_transfer"]


def test_every_consent_field_round_trips_through_its_record() -> None:
    made = records(dict.fromkeys(C.CONSENT_FIELDS, True))
    assert [r.field for r in made] == list(C.CONSENT_FIELDS)


def test_unknown_consent_names_are_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        records({"personal_data": True, "marketing_fax": True, "telepathy": False})
    assert err.value.code == "unknown_consent"
    assert "marketing_fax" in err.value.detail and "telepathy" in err.value.detail


def test_consent_values_are_coerced_to_booleans() -> None:
    assert [r.granted for r in records({"marketing_email": 1, "marketing_sms": 0})] == [True, False]


def test_current_state_is_the_latest_record_per_field() -> None:
    history = [*records({"personal_data": True, "marketing_email": True}, T0),
               *records({"marketing_email": False}, T0 + timedelta(days=1)),
               *records({"marketing_sms": True}, T0 + timedelta(days=2))]
    assert C.current(history) == {"personal_data": True, "marketing_email": False,
                                  "marketing_sms": True}


def test_withdrawal_after_grant_wins_whatever_the_order_given() -> None:
    grant = records({"marketing_push": True}, T0)
    withdrawal = records({"marketing_push": False}, T0 + timedelta(minutes=1))
    assert not C.may_send_marketing([*grant, *withdrawal], C.Channel.PUSH)
    assert not C.may_send_marketing([*withdrawal, *grant], C.Channel.PUSH)
    regrant = records({"marketing_push": True}, T0 + timedelta(minutes=2))
    assert C.may_send_marketing([*withdrawal, *regrant, *grant], C.Channel.PUSH)


def test_marketing_is_allowed_only_on_the_granted_channel() -> None:
    history = records({"personal_data": True, "marketing_sms": True})
    assert C.may_send_marketing(history, C.Channel.SMS)
    assert not C.may_send_marketing(history, C.Channel.EMAIL)
    assert not C.may_send_marketing(history, C.Channel.PUSH)
    assert not C.may_send_marketing([], C.Channel.SMS)


def test_joining_requires_consent_to_personal_data_processing() -> None:
    C.require_personal_data(records({"personal_data": True}))
    for refused in [records({}), records({"personal_data": False}),
                    records({"marketing_sms": True})]:
        with pytest.raises(InvalidInput) as err:
            C.require_personal_data(refused)
        assert err.value.code == "consent_required"


def test_withdrawn_personal_data_consent_no_longer_satisfies_the_requirement() -> None:
    history = [*records({"personal_data": True}, T0),
               *records({"personal_data": False}, T0 + timedelta(hours=1))]
    with pytest.raises(InvalidInput):
        C.require_personal_data(history)


def test_changes_keeps_only_records_that_change_the_state() -> None:
    existing = records({"personal_data": True, "marketing_email": True, "marketing_sms": False})
    new = records({"personal_data": True, "marketing_email": False, "marketing_sms": False,
                   "marketing_push": False, "partner_transfer": True}, T0 + timedelta(days=1))
    assert [(r.field, r.granted) for r in C.changes(existing, new)] == [
        ("marketing_email", False), ("marketing_push", False), ("partner_transfer", True)]
    assert C.changes(existing, records({"personal_data": True})) == []


# --- one-time codes -------------------------------------------------------------------------

KEY = b"k" * 32


def challenge(code: str = "042917", **kwargs: object) -> V.Challenge:
    values: dict = {"challenge_id": "C1", "target": V.Target.PHONE, "address": "+79161234567",
                    "code_hash": V.code_hash(code, key=KEY, challenge_id="C1"),
                    "expires_at": T0 + V.CODE_TTL}
    values.update(kwargs)
    return V.Challenge(**values)


@pytest.mark.parametrize(("value", "code"), [(0, "000000"), (42, "000042"),
                                             (999_999, "999999"), (123456, "123456")])
def test_make_code_zero_pads_to_six_digits(value: int, code: str) -> None:
    assert V.make_code(value) == code


@pytest.mark.parametrize("value", [-1, 10**6])
def test_make_code_refuses_values_out_of_range(value: int) -> None:
    with pytest.raises(ValueError):
        V.make_code(value)


def test_code_hash_is_keyed_and_bound_to_the_challenge() -> None:
    base = V.code_hash("123456", key=KEY, challenge_id="C1")
    assert base == V.code_hash("123456", key=KEY, challenge_id="C1")
    assert len(base) == 64 and "123456" not in base
    assert base != V.code_hash("123457", key=KEY, challenge_id="C1")
    assert base != V.code_hash("123456", key=b"other", challenge_id="C1")
    assert base != V.code_hash("123456", key=KEY, challenge_id="C2")


def test_check_accepts_the_right_code() -> None:
    assert V.check(challenge(), "042917", key=KEY, now=T0) is True


def test_check_accepts_the_right_code_on_the_last_attempt_and_until_just_before_expiry() -> None:
    late = T0 + V.CODE_TTL - timedelta(microseconds=1)
    assert V.check(challenge(attempts=V.MAX_ATTEMPTS - 1), "042917", key=KEY, now=late)


FULLWIDTH_CODE = "\uff10\uff14\uff12\uff19\uff11\uff17"  # the right code in fullwidth digits


@pytest.mark.parametrize("wrong", ["042918", "42917", "", "0429170", FULLWIDTH_CODE])
def test_check_returns_false_for_a_wrong_code(wrong: str) -> None:
    assert V.check(challenge(), wrong, key=KEY, now=T0) is False


def test_check_with_another_key_fails() -> None:
    assert V.check(challenge(), "042917", key=b"another key", now=T0) is False


def test_expired_code_raises_code_expired() -> None:
    with pytest.raises(DomainError) as err:
        V.check(challenge(), "042917", key=KEY, now=T0 + V.CODE_TTL)
    assert err.value.code == "code_expired"


def test_exhausted_attempts_raise_too_many_attempts_even_for_the_right_code() -> None:
    with pytest.raises(DomainError) as err:
        V.check(challenge(attempts=V.MAX_ATTEMPTS), "042917", key=KEY, now=T0)
    assert err.value.code == "too_many_attempts"
    assert err.value.status == 429


def test_a_used_code_raises_code_used_before_anything_else() -> None:
    used = challenge(verified_at=T0, attempts=V.MAX_ATTEMPTS)
    with pytest.raises(DomainError) as err:
        V.check(used, "042917", key=KEY, now=T0 + timedelta(days=1))
    assert err.value.code == "code_used"
    assert err.value.status == 409


# --- identifiers ----------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "e164"), [
    ("8 (916) 123-45-67", "+79161234567"), ("+7 916 123 45 67", "+79161234567"),
    ("89161234567", "+79161234567"), ("9161234567", "+79161234567"),
    ("+1 650 253 0000", "+16502530000"), ("+44 20 7031 3000", "+442070313000"),
])
def test_normalise_phone_gives_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


def test_normalise_phone_reads_national_numbers_in_the_given_region() -> None:
    assert normalise_phone("(650) 253-0000", region="US") == "+16502530000"


@pytest.mark.parametrize("raw", ["", "   ", "abc", "12345", "+7 916 123", "8 (000) 000-00-00",
                                 "+7 916 123 45 67 89 01", "9" * 41, None, 79161234567])
def test_normalise_phone_refuses_garbage(raw: object) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_phone(raw)  # type: ignore[arg-type]
    assert err.value.code == "invalid_phone"


@pytest.mark.parametrize(("raw", "email"), [
    ("anna@example.com", "anna@example.com"), ("Anna.Petrova@Example.COM",
                                               "Anna.Petrova@example.com"),
])
def test_normalise_email_lowercases_the_domain(raw: str, email: str) -> None:
    assert normalise_email(raw) == email


@pytest.mark.parametrize("raw", ["", "anna", "anna@", "@example.com", "anna@@example.com",
                                 "anna example@example.com", "anna@example..com"])
def test_normalise_email_refuses_invalid_addresses(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        normalise_email(raw)
    assert err.value.code == "invalid_email"
