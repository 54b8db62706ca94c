"""KOPILKA_CARD_TOKEN_SECONDS sets how long a digital card's QR token is valid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from kopilka.bootstrap import build
from kopilka.config import Settings


def test_the_setting_reaches_the_library(tmp_path) -> None:  # noqa: ANN001
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", card_token_seconds=300)
    lib = build(settings)
    try:
        assert lib.card_token_ttl == timedelta(seconds=300)
    finally:
        lib.db.dispose()


def test_the_default_is_two_minutes_and_nonsense_is_refused() -> None:
    assert Settings().card_token_seconds == 120
    with pytest.raises(ValidationError):
        Settings(card_token_seconds=5)
