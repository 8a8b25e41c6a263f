"""Wenda's settings: one pydantic-settings class, environment prefix WENDA_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read once at start-up; tests pass their own instance instead."""

    model_config = SettingsConfigDict(env_prefix="WENDA_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="where built indexes and models live")
    corpus_dir: Path = Field(Path("corpus"), description="the default corpus folder")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
