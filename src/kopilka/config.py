"""One typed settings object, read from KOPILKA_* environment variables and validated at start."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KOPILKA_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = "sqlite:///./kopilka.db"
    secret_key: str = DEV_SECRET
    default_currency: str = "points"
    hold_ttl_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    otp_sender: Literal["log", "memory"] = "log"
    db_pool_size: int = Field(default=10, ge=1, le=200)
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Threads per API process that run the (synchronous) request handlers. Few threads keep
    # the tail short: with anyio's default of 40, requests queue for the GIL behind each
    # other and p99 grows several-fold (bench/ceiling.py: 158-185 ms -> 41-50 ms at 32
    # connections with 4). More processes, not more threads, add throughput.
    http_threads: int = Field(default=4, ge=1, le=200)
    # how long the QR on a member's digital card stays valid; the page renews it every minute
    card_token_seconds: int = Field(default=120, ge=30, le=3600)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def refuse_default_secret_in_prod(self) -> Settings:
        if self.env == "prod" and self.secret_key == DEV_SECRET:
            raise ValueError("KOPILKA_SECRET_KEY must be set in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
