"""Wenda's settings: one pydantic-settings class, environment prefix WENDA_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.types import DEFAULT_MODEL


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
    # Where passages are ranked (service/search_backend.py): "embedded" (FAISS + bm25s in
    # the process, no server) or "milvus" (every build is also written to a collection of
    # the Milvus server at milvus_uri; searches rank there).
    backend: Literal["embedded", "milvus"] = "embedded"
    milvus_uri: str = Field("http://127.0.0.1:19530", description="the Milvus server "
                            "(https:// for TLS) when backend is milvus")
    milvus_token: str = Field("", repr=False, description="user:password or an API key")
    milvus_alias: str = Field("wenda", pattern=r"^[A-Za-z_][0-9A-Za-z_]*$",
                              description="the alias naming the published collection; "
                              "collections are named <alias>_<build id>")

    host: str = Field("127.0.0.1", description="loopback by default; set 0.0.0.0 to expose")
    port: int = Field(8000, ge=1, le=65535)
    max_question_chars: int = Field(2000, ge=10, le=100_000)
    max_top_k: int = Field(50, ge=1, le=500)
    max_upload_bytes: int = Field(5_000_000, ge=1000)
    max_document_bytes: int = Field(50_000_000, ge=1000, description="largest file one "
                                    "POST /v1/documents may add (and its whole body)")
    max_document_files: int = Field(20, ge=1, description="files one upload may add")
    document_writes: bool = Field(True, description="accept POST/PUT/DELETE /v1/documents "
                                  "(false: the corpus is read-only over HTTP, as for a "
                                  "replica)")
    max_span_chars: int = Field(default=20_000, ge=100, description="longest document span one "
                                "GET /v1/documents/{id}?start=&end= returns")
    workers: int = Field(1, ge=1, le=32, description="worker processes `wenda serve` runs "
                         "behind its one socket (service/workers.py); each answers on one CPU")
    reload_seconds: float = Field(2.0, ge=0, description="how often the service checks for a "
                                  "newly published index and loads it; 0: never (restart)")
    cors_origins: str = Field(default="", description="comma-separated origins (portals) "
                              "allowed to call the API from a browser; empty: same origin only")
    allowed_hosts: str = Field(default="", description="comma-separated Host names the "
                               "server answers to ('*': any); empty: the listening address "
                               "and the loopback names (any, when listening on 0.0.0.0)")
    # Slow clients (see service/server.py): a request's headers must arrive within
    # header_timeout seconds and its body within body_timeout; at most max_connections
    # are open at once (more are answered 503).
    header_timeout: float = Field(10.0, gt=0)
    body_timeout: float = Field(60.0, gt=0)
    keep_alive_timeout: float = Field(5.0, gt=0)
    max_connections: int = Field(200, ge=1)
    # "key:group1,group2;key2:*" — empty means no key is required (loopback use).
    api_keys: str = Field("", repr=False)

    llm_base_url: str | None = Field(None, description="OpenAI-compatible server for "
                                     "optional generated answers; extractive when unset")
    llm_model: str = "default"
    llm_api_key: str = Field("", repr=False)
    llm_timeout: float = Field(30.0, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
