"""Every string the pages show has a Russian translation, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir

from kopilka.entrypoints.web import i18n
from kopilka.entrypoints.web.rendering import environment

WEB = Path(i18n.__file__).parent
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            WEB, METHODS, OPTIONS, keywords={"_": None, "gettext": None, "N_": None,
                                             "ngettext": (1, 2)}):
        for text in (message if isinstance(message, tuple) else (message,)):
            if text:
                found.setdefault(text, f"{filename}:{lineno}")
    return found


def test_the_pages_have_strings_to_translate() -> None:
    messages = _messages()
    assert "Sign in to the console" in messages
    assert len(messages) >= 30


def test_every_string_has_a_russian_translation_with_the_same_placeholders() -> None:
    russian = i18n.translations("ru")
    missing, broken = [], []
    for message, where in _messages().items():
        translated = russian.gettext(message)
        if translated == message:
            missing.append(f"{where}: {message!r}")
        elif set(PLACEHOLDER.findall(translated)) != set(PLACEHOLDER.findall(message)):
            broken.append(f"{where}: {message!r} -> {translated!r}")
    assert not missing, "no Russian translation:\n" + "\n".join(missing)
    assert not broken, "placeholders differ:\n" + "\n".join(broken)


def test_english_is_the_source_and_russian_is_rendered() -> None:
    template = environment("ru").from_string('{{ _("Sign in") }}')
    assert template.render() == "Войти"
    assert environment("en").from_string('{{ _("Sign in") }}').render() == "Sign in"


def test_language_choice_cookie_then_accept_language_then_russian() -> None:
    assert i18n.choose_language("en", "ru-RU,ru;q=0.9") == "en"
    assert i18n.choose_language(None, "de-DE,en-US;q=0.8,ru;q=0.5") == "en"
    assert i18n.choose_language("xx", "de") == "ru"
    assert i18n.choose_language(None, None) == "ru"
