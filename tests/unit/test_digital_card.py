"""The digital card without a database: QR tokens (round trip, expiry on a fixed clock,
tampering, another purpose or key), the till's resolution of `{"qr": ...}` over a fake
repository, and the images decoded back (PNG from the libraries, and the served SVG itself)."""

from __future__ import annotations

import hashlib
import io
import string
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta

import barcode
import pytest
import segno
from barcode.writer import ImageWriter
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops

from kopilka.app import digital_card as D
from kopilka.app import members as M
from kopilka.app.ports import FixedClock
from kopilka.domain.cards import card_number
from kopilka.domain.errors import DomainError
from tests.conftest import START
from tests.svg_raster import decode, decode_png, rasterise

KEY = hashlib.sha256(b"test-secret").digest()
CARD = card_number(12345)  # 2000000123455
OTHER_CARD = card_number(12346)


def tokens(clock: FixedClock, **options: object) -> D.CardTokens:
    return D.CardTokens(KEY, clock, **options)  # type: ignore[arg-type]


def refused(call, code: str, status: int = 422) -> DomainError:  # noqa: ANN001
    with pytest.raises(DomainError) as caught:
        call()
    assert (caught.value.code, caught.value.status) == (code, status)
    return caught.value


# --- tokens ---------------------------------------------------------------------------------

def test_a_token_carries_its_card_and_verifies_back_to_it() -> None:
    clock = FixedClock(START)
    issued = tokens(clock).issue(CARD)
    card, stamp, signature = issued.token.split(".")
    assert card == CARD  # the card number, never the member id
    assert len(stamp) == 6 and len(signature) == 43  # 4-byte time, HMAC-SHA256, base64url
    assert len(issued.token) == 64  # fits a version 5-M QR code (37 x 37 modules)
    assert issued.card == CARD
    assert issued.expires_at == START + timedelta(seconds=120)
    assert D.expires_at_iso(issued) == "2026-03-01T09:02:00+00:00"
    assert tokens(clock).verify(issued.token) == CARD


def test_a_token_lives_exactly_its_time_to_live_on_the_clock() -> None:
    clock = FixedClock(START)
    token = tokens(clock).issue(CARD).token
    clock.advance(seconds=120)
    assert tokens(clock).verify(token) == CARD  # the last second still counts
    clock.advance(seconds=1)
    refused(lambda: tokens(clock).verify(token), "qr_expired")


def test_the_time_to_live_is_configurable() -> None:
    clock = FixedClock(START)
    short = tokens(clock, ttl=timedelta(seconds=30))
    issued = short.issue(CARD)
    assert issued.expires_at == START + timedelta(seconds=30)
    clock.advance(seconds=31)
    refused(lambda: short.verify(issued.token), "qr_expired")
    assert tokens(clock).verify(issued.token) == CARD  # the verifier's ttl decides
    with pytest.raises(ValueError, match="time to live"):
        tokens(clock, ttl=timedelta(0))
    with pytest.raises(ValueError, match="time to live"):
        tokens(clock, ttl=timedelta(hours=2))


def test_a_token_from_the_future_is_accepted_only_within_the_clock_skew() -> None:
    clock = FixedClock(START + timedelta(seconds=5))
    token = tokens(clock).issue(CARD).token
    assert tokens(FixedClock(START)).verify(token) == CARD  # the verifying node is 5 s behind
    refused(lambda: tokens(FixedClock(START - timedelta(seconds=1))).verify(token),
            "qr_invalid")


def test_a_tampered_token_is_invalid() -> None:
    clock = FixedClock(START)
    token = tokens(clock).issue(CARD).token
    card, stamp, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    for bad in (f"{OTHER_CARD}.{stamp}.{signature}",  # another card, the same signature
                f"{card}.{stamp}.{flipped}",
                f"{card}.aaQAEB.{signature}",  # a later time, the same signature
                f"{card}.{signature}", card, "", "abc", "a.b.c", "x" * 300, None, 42):
        refused(lambda bad=bad: tokens(clock).verify(bad), "qr_invalid")


def test_a_token_has_one_spelling() -> None:
    """base64 decoding forgives stray characters and the spare bits of the last character;
    the signature alone would accept such variants, the verifier does not."""
    from itsdangerous import TimestampSigner

    clock = FixedClock(START)
    token = tokens(clock).issue(CARD).token
    card, stamp, signature = token.split(".")
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    twin = alphabet[alphabet.index(signature[-1]) ^ 1]  # differs in a spare bit only
    variants = [f"{card}.{stamp}.{signature[:-1]}{twin}",
                f"{card}.{stamp}.{signature[:5]}!{signature[5:]}",
                f"{card}.{stamp[:3]}\n{stamp[3:]}.{signature}",
                f"{card}.{stamp}.{signature}=", f" {token}", f"{token}\n"]
    signer = TimestampSigner(KEY, salt=D.PURPOSE, key_derivation="hmac",
                             digest_method=hashlib.sha256)
    assert signer.unsign(variants[0]) == signer.unsign(token) == CARD.encode()
    for variant in variants:
        refused(lambda variant=variant: tokens(clock).verify(variant), "qr_invalid")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 63), st.sampled_from(["replace", "delete", "insert"]),
                          st.characters(codec="utf-8")), min_size=1, max_size=4))
def test_no_edit_of_a_token_verifies(edits: list[tuple[int, str, str]]) -> None:
    token = tokens(FixedClock(START)).issue(CARD).token
    edited = list(token)
    for position, action, character in edits:
        at = position % max(len(edited), 1)
        if action == "replace" and edited:
            edited[at] = character
        elif action == "delete" and edited:
            del edited[at]
        else:
            edited.insert(at, character)
    variant = "".join(edited)
    if variant != token:
        refused(lambda: tokens(FixedClock(START)).verify(variant), "qr_invalid")


def test_a_token_of_another_purpose_or_key_is_invalid() -> None:
    clock = FixedClock(START)
    other_purpose = D.CardTokens(KEY, clock, purpose="kopilka.password-reset").issue(CARD)
    refused(lambda: tokens(clock).verify(other_purpose.token), "qr_invalid")
    mine = tokens(clock).issue(CARD)
    refused(lambda: D.CardTokens(KEY, clock, purpose="other").verify(mine.token), "qr_invalid")
    other_library = D.CardTokens(hashlib.sha256(b"another-secret").digest(), clock)
    refused(lambda: other_library.verify(mine.token), "qr_invalid")


def test_the_signing_key_is_derived_for_the_purpose_not_the_library_key_itself() -> None:
    """A token signed with the raw library key (as the one-time codes use it) is refused."""
    from itsdangerous import TimestampSigner

    raw = TimestampSigner(KEY, key_derivation="none", digest_method=hashlib.sha256)
    forged = raw.sign(CARD).decode()
    assert forged.split(".")[0] == CARD
    refused(lambda: tokens(FixedClock(START)).verify(forged), "qr_invalid")


def test_only_valid_card_numbers_get_tokens() -> None:
    refused(lambda: tokens(FixedClock(START)).issue("2000000123456"), "invalid_card")


# --- the till's member reference ------------------------------------------------------------

class FakeMembers:
    def __init__(self, cards: dict[str, tuple[str, str]]) -> None:
        self.cards = cards

    def id_by_card(self, number: str) -> tuple[str, str] | None:
        return self.cards.get(number)


class FakeUow:
    def __init__(self, cards: dict[str, tuple[str, str]]) -> None:
        self.members = FakeMembers(cards)


def test_a_qr_reference_resolves_as_its_card_would() -> None:
    clock = FixedClock(START)
    verifier = tokens(clock).verify
    uow = FakeUow({CARD: ("m-1", "active"), OTHER_CARD: ("m-2", "blocked")})
    good, blocked = tokens(clock).issue(CARD).token, tokens(clock).issue(OTHER_CARD).token
    assert M.resolve(uow, {"qr": good}, qr_verifier=verifier) == "m-1"
    refused(lambda: M.resolve(uow, {"qr": blocked}, qr_verifier=verifier), "card_blocked", 409)
    refused(lambda: M.resolve(FakeUow({}), {"qr": good}, qr_verifier=verifier),
            "member_not_found", 404)
    refused(lambda: M.resolve(uow, {"qr": "abc"}, qr_verifier=verifier), "qr_invalid")
    clock.advance(seconds=121)
    refused(lambda: M.resolve(uow, {"qr": good}, qr_verifier=verifier), "qr_expired")


def test_without_a_verifier_a_qr_reference_is_not_supported() -> None:
    token = tokens(FixedClock(START)).issue(CARD).token
    refused(lambda: M.resolve(FakeUow({CARD: ("m-1", "active")}), {"qr": token}),
            "qr_not_supported")


# --- images ---------------------------------------------------------------------------------

def _svg_root(svg: str) -> ET.Element:
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<!--" not in svg
    return ET.fromstring(svg)


def test_the_barcode_svg_is_inline_ready_scalable_and_labelled() -> None:
    svg = D.code128_svg(CARD)
    root = _svg_root(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == f"Barcode of card {CARD}"
    assert root.find("{http://www.w3.org/2000/svg}title").text == f"Barcode of card {CARD}"
    # 123 modules of 0.5 mm and 5 mm of quiet zone each side; no ids to clash on a page
    assert (root.get("width"), root.get("height")) == ("71.500mm", "18.000mm")
    assert root.get("viewBox") == "0 0 71.500 18.000"
    assert svg.count("mm") == 2 and " id=" not in svg
    assert D.code128_svg(CARD, label="Штрихкод карты").count("Штрихкод карты") == 2
    refused(lambda: D.code128_svg("123"), "invalid_card")


def test_the_qr_svg_is_inline_ready_scalable_and_labelled() -> None:
    token = tokens(FixedClock(START)).issue(CARD).token
    root = _svg_root(D.qr_svg(token, label='Card "QR"'))
    assert root.get("role") == "img"
    assert root.get("aria-label") == 'Card "QR"'
    assert root.find("title").text == 'Card "QR"'
    # version 5: 37 modules + 4 of quiet zone each side, 5 px per module by default
    assert root.get("viewBox") == "0 0 45 45"
    assert (root.get("width"), root.get("height")) == ("225", "225")
    assert token not in ET.tostring(root, encoding="unicode")  # not in any text or label


def test_the_card_number_decodes_from_a_code128_png() -> None:
    png = io.BytesIO()
    barcode.Code128(CARD, writer=ImageWriter()).write(png)
    assert decode_png(png.getvalue()) == [("Code128", CARD)]


def test_the_token_decodes_from_a_qr_png() -> None:
    token = tokens(FixedClock(START)).issue(CARD).token
    png = io.BytesIO()
    segno.make(token, error=D.QR_ERROR_LEVEL, micro=False).save(png, kind="png", scale=8)
    assert decode_png(png.getvalue()) == [("QRCode", token)]


def test_the_served_svgs_decode_back_to_card_and_token() -> None:
    token = tokens(FixedClock(START)).issue(CARD).token
    for px in (2, 4, 8):  # 1 to 4 px per bar; 2 to 8 px per QR module
        assert decode(rasterise(D.code128_svg(CARD), px_per_unit=px)) == [("Code128", CARD)]
        assert decode(rasterise(D.qr_svg(token), px_per_unit=px)) == [("QRCode", token)]


def test_the_rasterised_qr_svg_is_pixel_identical_to_segnos_own_png() -> None:
    """The test rasteriser draws the served SVG faithfully (so its decode means something)."""
    token = tokens(FixedClock(START)).issue(CARD).token
    png = io.BytesIO()
    segno.make(token, error=D.QR_ERROR_LEVEL, micro=False).save(png, kind="png", scale=8,
                                                               border=D.QR_BORDER_MODULES)
    reference = Image.open(png).convert("L")
    drawn = rasterise(D.qr_svg(token), px_per_unit=8)
    assert drawn.size == reference.size == (360, 360)
    assert ImageChops.difference(reference, drawn).getbbox() is None


def test_the_images_need_no_pillow_at_run_time() -> None:
    """Pillow is a test dependency only: rendering works with it unimportable."""
    script = ("import sys; sys.modules['PIL'] = None\n"
              "from kopilka.app import digital_card as D\n"
              "from kopilka.domain.cards import card_number\n"
              "assert D.code128_svg(card_number(1)).startswith('<svg ')\n"
              "assert D.qr_svg('2000000000015.aaQAEA.x').startswith('<svg ')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
