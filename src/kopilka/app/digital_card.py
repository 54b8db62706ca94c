"""The member's digital card: a short-lived signed QR token and the card's images.

The QR code carries a token, not the bare card number: `<card>.<time>.<signature>`, signed
(HMAC-SHA256, itsdangerous) with a key derived from the library's key for this purpose only,
so a token cannot be replayed for anything else and a screenshot stops working after the time
to live. The card number inside is public anyway (it is printed under the barcode); what the
signature proves is that kopilka issued it, for this card, a moment ago.

At the till a token resolves to its card and then exactly as a card reference would
(`members.resolve`): a blocked card (a lost phone replaced) is refused even with a fresh token.

Images are SVG strings to inline in HTML (no XML declaration, `role="img"`, a `<title>` and
an `aria-label`), with a white background so they scan on a dark page too. The Code 128 is
drawn by python-barcode's SVG writer (no Pillow needed), the QR by segno.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import segno
from barcode import Code128
from barcode.writer import SVGWriter
from itsdangerous import BadData, BadSignature, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode

from kopilka.app.ports import Clock
from kopilka.domain.cards import is_valid_card_number
from kopilka.domain.errors import InvalidInput

PURPOSE = "kopilka.card-qr.v1"  # the key-derivation salt: tokens of this purpose only
DEFAULT_TTL = timedelta(seconds=120)
MAX_TTL = timedelta(hours=1)
CLOCK_SKEW = timedelta(seconds=5)  # a token "from the future" by this much is still fine
MAX_TOKEN_LENGTH = 256
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
QR_ERROR_LEVEL = "m"  # 15 % recovery: glare and scratches on a phone screen
QR_MODULE_PX = 5
QR_BORDER_MODULES = 4  # the quiet zone the QR standard asks for
BAR_MODULE_MM = 0.5  # one narrow bar: ~1.9 CSS px, read by handheld scanners off a screen
BAR_HEIGHT_MM = 18.0
BAR_QUIET_ZONE_MM = 10 * BAR_MODULE_MM  # Code 128 asks for ten modules each side


@dataclass(frozen=True, slots=True)
class CardToken:
    token: str
    card: str
    expires_at: datetime


class _ClockSigner(TimestampSigner):
    """Timestamps from the injected clock (tests move time; nodes share the system clock)."""

    def __init__(self, key: bytes, clock: Clock, purpose: str) -> None:
        super().__init__(key, salt=purpose, key_derivation="hmac",
                         digest_method=hashlib.sha256)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


class CardTokens:
    """Issues and verifies the QR tokens of cards with one key, purpose and time to live."""

    def __init__(self, key: bytes, clock: Clock, *, ttl: timedelta = DEFAULT_TTL,
                 purpose: str = PURPOSE) -> None:
        if not timedelta(seconds=1) <= ttl <= MAX_TTL:
            raise ValueError(f"the card token time to live must be 1 s..{MAX_TTL}")
        self.ttl = ttl
        self.clock = clock
        self._signer = _ClockSigner(key, clock, purpose)

    def issue(self, card: str) -> CardToken:
        if not is_valid_card_number(card):
            raise InvalidInput(f"{card} is not a valid card number", code="invalid_card")
        token = self._signer.sign(card).decode("ascii")
        _card, issued_at = self._signer.unsign(token, return_timestamp=True)
        return CardToken(token, card, issued_at + self.ttl)

    def verify(self, token: Any) -> str:
        """The card number the token carries; `qr_invalid` if kopilka did not sign it for
        this purpose, `qr_expired` once its time to live has passed."""
        if not _canonical(token):
            raise InvalidInput("this is not a card QR code", code="qr_invalid")
        try:
            raw, issued_at = self._signer.unsign(token, return_timestamp=True)
        except BadSignature:  # also malformed input: bad base64, missing parts
            raise InvalidInput("this is not a card QR code of this program",
                               code="qr_invalid") from None
        card = raw.decode("ascii", "replace")
        if not is_valid_card_number(card):
            raise InvalidInput("this is not a card QR code", code="qr_invalid")
        age = self.clock.now() - issued_at
        if age > self.ttl:
            raise InvalidInput("the card QR code has expired: refresh it in the app",
                               code="qr_expired")
        if age < -CLOCK_SKEW:
            raise InvalidInput("the card QR code is not valid yet", code="qr_invalid")
        return card


def _canonical(token: Any) -> bool:
    """Exactly as kopilka writes tokens: base64 decoding skips stray characters and ignores
    the spare bits of the last one, so without this check many strings would pass for one
    token (harmless to the signature, but a token should have one spelling)."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        return False
    parts = token.split(".")
    if len(parts) != 3 or not all(_BASE64URL.fullmatch(part) for part in parts[1:]):
        return False
    try:
        return all(base64_encode(base64_decode(part)).decode() == part for part in parts[1:])
    except BadData:  # a length no base64 text has
        return False


def expires_at_iso(token: CardToken) -> str:
    return token.expires_at.astimezone(UTC).isoformat()


# --- images ---------------------------------------------------------------------------------

def qr_svg(token: str, *, label: str = "QR code of the member's card",
           module_px: int = QR_MODULE_PX) -> str:
    """The token as an inline QR code: a viewBox in modules (scales with CSS), a default
    size of `module_px` pixels per module, black on white."""
    code = segno.make(token, error=QR_ERROR_LEVEL, micro=False)
    svg = code.svg_inline(scale=1, border=QR_BORDER_MODULES, dark="#000", light="#fff",
                          omitsize=True, title=label, svgclass="kopilka-qr", lineclass=None)
    side = code.symbol_size(scale=module_px, border=QR_BORDER_MODULES)[0]
    return svg.replace("<svg ", f'<svg width="{side}" height="{side}" role="img" '
                       f'aria-label="{escape(label)}" ', 1)


class _InlineSvgWriter(SVGWriter):
    """python-barcode's SVG writer made inline-ready: user units (mm) with a viewBox instead
    of "mm" on every element, so CSS can scale it; no XML declaration or comment; a title."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.with_doctype = False
        self.label = label

    def _finish(self) -> bytes:
        root = self._root
        for node in list(root.childNodes):
            if node.nodeType == node.COMMENT_NODE:
                root.removeChild(node)
        for group in root.getElementsByTagName("g"):
            group.removeAttribute("id")  # ids must be unique on a page with several codes
        for element in [root, *root.getElementsByTagName("*")]:
            for name in ("x", "y", "width", "height"):
                value = element.getAttribute(name)
                if value.endswith("mm"):
                    element.setAttribute(name, value[:-2])
        width, height = root.getAttribute("width"), root.getAttribute("height")
        root.setAttribute("viewBox", f"0 0 {width} {height}")
        root.setAttribute("width", f"{width}mm")
        root.setAttribute("height", f"{height}mm")
        root.setAttribute("role", "img")
        root.setAttribute("aria-label", self.label)
        root.setAttribute("class", "kopilka-barcode")
        root.setAttribute("shape-rendering", "crispEdges")
        title = self._document.createElement("title")
        title.appendChild(self._document.createTextNode(self.label))
        root.insertBefore(title, root.firstChild)
        return root.toxml().encode("utf-8")


def code128_svg(card: str, *, label: str | None = None) -> str:
    """The card number as an inline Code 128 barcode (the number itself is for the page to
    print as text: selectable, translatable, read by screen readers)."""
    if not is_valid_card_number(card):
        raise InvalidInput(f"{card} is not a valid card number", code="invalid_card")
    writer = _InlineSvgWriter(label or f"Barcode of card {card}")
    barcode = Code128(card, writer=writer)
    options = {"module_width": BAR_MODULE_MM, "module_height": BAR_HEIGHT_MM,
               "quiet_zone": BAR_QUIET_ZONE_MM, "write_text": False,
               "margin_top": 0, "margin_bottom": 0}
    return barcode.render(options).decode("utf-8")
