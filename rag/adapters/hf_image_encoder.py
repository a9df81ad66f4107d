"""Compatibility names: the transformers kind now lives in rag.adapters.image_encoders."""

from __future__ import annotations

from rag.adapters.image_encoders.base import (
    CALIBRATION,
    DEFAULT_BAND,
    GUARD,
    LABEL_MAP,
    OOD,
    EncoderLoadError,
)
from rag.adapters.image_encoders.transformers_kind import TransformersImageEncoder, pool

__all__ = [
    "CALIBRATION",
    "DEFAULT_BAND",
    "GUARD",
    "LABEL_MAP",
    "OOD",
    "EncoderLoadError",
    "TransformersImageEncoder",
    "pool",
]
