"""The manifest that describes one published knowledge-base version."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Manifest(BaseModel):
    """Everything needed to trust and reproduce a knowledge-base version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    parent: str | None
    created: str
    embedder: str
    dim: int
    index_kind: str
    labeler: str
    counts: dict[str, int]
    files: dict[str, str]  # file name -> sha256
    sources: dict[str, str]  # source name -> digest of its passage ids
    radrag_version: str
    # Added by refreshes; defaults keep manifests of earlier builds readable.
    metric: str = "cosine: inner product over L2-normalised embeddings"
    index_params: dict[str, int] = Field(default_factory=dict)
    changes: dict[str, int] = Field(default_factory=dict)  # added/changed/removed/reused
    validation: dict[str, float] = Field(default_factory=dict)
