"""Wenda's settings: one pydantic-settings class, environment prefix WENDA_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.embed import DEFAULT_MODEL


class Settings(BaseSettings):
    """Read once at start-up; tests pass their own instance instead."""

    model_config = SettingsConfigDict(env_prefix="WENDA_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="where built indexes, models and caches live")
    corpus_dir: Path = Field(Path("corpus"), description="the default corpus folder")
    glossary: Path = Field(Path("corpus/glossary.toml"),
                           description="bilingual name pairs for cross-lingual search")
    model: str = Field(DEFAULT_MODEL, description="a sentence-transformers model id or path; "
                       f"{DEFAULT_MODEL} is the offline default shipped in a pip package")
    dense_index: Literal["auto", "flat", "hnsw"] = "auto"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
