"""The member's self-service pages in the browser, at 375 px: sign in with the phone and the
one-time code, see balance and tier, show the card (the barcode and the QR code are decoded
from screenshots, and the QR token resolves to the member through the till's API), replace a
lost card (the old one is blocked, the points stay), once in Russian."""

from __future__ import annotations

import io
import time
from typing import Any

import sqlalchemy as sa
import zxingcpp
from PIL import Image

from kopilka.adapters.sql.tables import member_balances, members

LOOKUP = "/v1/members/lookup"


def pick_member(site: Any, offset: int) -> dict[str, Any]:
    """An active demo member with a phone and points (other tests share the site: a member
    far down the list, a different one per test)."""
    query = (sa.select(members.c.member_id, members.c.phone)
             .join(member_balances, member_balances.c.member_id == members.c.member_id)
             .where(members.c.status == "active", members.c.phone.is_not(None),
                    member_balances.c.available > 0)
             .order_by(members.c.member_id.desc()).offset(offset).limit(1))
    with site.lib.db.engine.connect() as conn:
        row = conn.execute(query).one()
    return {"member_id": row.member_id, "phone": row.phone}


def sign_in(b: Any, phone: str, language: str = "en") -> None:
    b.visit("/me/sign-in", "me-sign-in" if language == "en" else "me-sign-in-ru")
    local = "8 " + phone[2:5] + " " + phone[5:8] + "-" + phone[8:10] + "-" + phone[10:]
    b.page.fill("input[name=phone]", local)  # as people type it
    b.page.click("[data-testid=send-code]")
    b.measure("me-code" if language == "en" else "me-code-ru")
    assert phone in b.page.locator("[data-testid=code-sent]").inner_text()
    sent = [code for _target, address, code in b.site.lib.code_sender.sent if address == phone]
    b.page.fill("input[name=code]", sent[-1])
    b.page.click("[data-testid=confirm-code]")


def decode(locator: Any) -> list[tuple[str, str]]:
    """(format, text) of the codes zxing-cpp reads in a screenshot of the element."""
    image = Image.open(io.BytesIO(locator.screenshot()))
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image.convert("L"))]


def shown_codes(b: Any) -> tuple[str, str]:
    """The card number read from the barcode and the token read from the QR code."""
    barcode = decode(b.page.locator("[data-testid=barcode] svg"))
    qr = decode(b.page.locator("[data-testid=qr] svg"))
    assert len(barcode) == 1 and barcode[0][0] == "Code128", barcode
    assert len(qr) == 1 and qr[0][0] == "QRCode", qr
    return barcode[0][1], qr[0][1]


def test_a_member_signs_in_shows_the_card_and_replaces_a_lost_one(open_page) -> None:
    b = open_page(width=375, height=812)
    member = pick_member(b.site, 7)
    member_id, lib = member["member_id"], b.site.lib
    sign_in(b, member["phone"])
    b.measure("me-home")
    # read after signing in: the confirmed phone activates points waiting for it
    balance, tier = lib.balance(member_id)["available"], lib.tier(member_id)
    assert b.page.url == b.site.url + "/me/"
    assert b.page.locator("[data-testid=balance]").inner_text() == f"{balance:,}"
    assert b.page.locator("[data-testid=tier]").inner_text() == tier["tier"]["name"]
    recent = lib.history(member_id, limit=10)["items"]
    assert b.page.locator("[data-testid=history] li.history-item").count() == len(recent) > 0
    assert member_id not in b.page.content()
    assert b.page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll

    b.page.click("[data-testid=show-card]")
    b.measure("me-card")
    old_card = b.page.locator("[data-testid=card-codes]").get_attribute("data-card")
    number, token = shown_codes(b)
    assert number == old_card
    found = b.site.api("POST", LOOKUP, json={"qr": token})
    assert found.status_code == 200 and found.json()["member_id"] == member_id

    b.page.click("[data-testid=card-lost]")
    b.measure("me-card-lost")
    b.page.click("[data-testid=confirm-card-lost]")
    b.measure("me-new-card")
    assert b.page.locator("[data-testid=replaced]").is_visible()
    new_number, new_token = shown_codes(b)
    assert new_number != old_card
    assert new_number == b.page.locator("[data-testid=card-codes]").get_attribute("data-card")
    assert b.site.api("POST", LOOKUP, json={"qr": new_token}).json()["member_id"] == member_id
    for old in ({"card": old_card}, {"qr": token}):  # the old card, and its code still fresh
        refused = b.site.api("POST", LOOKUP, json=old)
        assert refused.status_code == 409 and refused.json()["code"] == "card_blocked"
    assert lib.balance(member_id)["available"] == balance
    assert lib.tier(member_id)["tier"] == tier["tier"]


def test_the_member_pages_speak_russian_and_the_codes_renew(open_page) -> None:
    b = open_page(width=375, height=812, language="ru")
    member = pick_member(b.site, 11)
    sign_in(b, member["phone"], language="ru")
    b.measure("me-home-ru")
    assert b.page.locator("html").get_attribute("lang") == "ru"
    assert b.page.locator("#balance-title").inner_text() == "Баллы, которые можно потратить"
    assert b.page.locator("[data-testid=show-card]").inner_text() == "Показать карту"

    b.page.click("[data-testid=nav-card]")
    b.measure("me-card-ru")
    assert b.page.locator("h1").inner_text() == "Моя карта"
    card = b.page.locator("[data-testid=card-codes]")
    first = card.get_attribute("data-expires-at")
    _number, first_token = shown_codes(b)
    time.sleep(1.1)  # tokens carry whole seconds
    assert card.get_attribute("hx-trigger") == "every 60s"
    # what that trigger does, without waiting a minute: the fragment fetched and swapped in
    b.page.evaluate("htmx.ajax('GET', '/me/card/codes', "
                    "{target: '[data-testid=card-codes]', swap: 'outerHTML'})")
    b.page.wait_for_function(
        f"document.querySelector('[data-testid=card-codes]').dataset.expiresAt !== '{first}'")
    _number, second_token = shown_codes(b)
    assert second_token != first_token
    found = b.site.api("POST", LOOKUP, json={"qr": second_token})
    assert found.json()["member_id"] == member["member_id"]
    b.screenshot("me-card-renewed-ru")

    b.page.click("[data-testid=sign-out]")
    b.page.wait_for_load_state("load")
    assert b.page.url.endswith("/me/sign-in")
    b.page.goto(b.site.url + "/me/card", wait_until="load")
    assert "/me/sign-in?next=/me/card" in b.page.url
