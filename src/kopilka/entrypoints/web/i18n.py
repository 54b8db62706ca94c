"""Russian and English pages: gettext catalogues read from the .po files at start.

Source strings are English. Russian translations live in `locales/ru/LC_MESSAGES/*.po`, one
file per section (console.po, members.po, ...) so that sections are translated independently;
they are compiled in memory with Babel (no .mo files in the repository).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
LANGUAGE_COOKIE = "kopilka_lang"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """All catalogues of a language merged (NullTranslations for English, the source)."""
    merged: gettext.NullTranslations = gettext.NullTranslations()
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else ():
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = gettext.GNUTranslations(buffer)
        part.add_fallback(merged)
        merged = part
    return merged


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie if it names a language we have, else the first one Accept-Language asks
    for that we have, else Russian."""
    if cookie in LANGUAGES:
        return cookie  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker
    """Marks a string for extraction; it is translated where it is shown."""
    return message


def gettext_for(language: str):  # noqa: ANN201
    return translations(language).gettext
