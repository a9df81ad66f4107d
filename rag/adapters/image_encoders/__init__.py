"""Image encoder kinds behind one loader: transformers, CheXNet-style DenseNet, torchxrayvision,
the embedded encoder's EfficientNet-Lite0, and ensembles of any of them."""

from __future__ import annotations

from pathlib import Path

from rag.adapters.image_encoders.base import (
    CALIBRATION,
    ENCODER_FILE,
    GUARD,
    LABEL_MAP,
    OOD,
    CalibratedImageEncoder,
    EncoderLoadError,
    read_json,
)

KINDS = ("transformers", "chexnet", "torchxrayvision", "efficientnet-lite0", "ensemble")

__all__ = [
    "CALIBRATION",
    "ENCODER_FILE",
    "GUARD",
    "KINDS",
    "LABEL_MAP",
    "OOD",
    "CalibratedImageEncoder",
    "EncoderLoadError",
    "folder_kind",
    "load_image_encoder",
]


def folder_kind(source: str | Path, kind: str = "auto") -> str:
    """The kind to load: the setting unless 'auto', else encoder.json's, else transformers."""
    if kind != "auto":
        return kind
    root = Path(source)
    conf = read_json(root if root.is_dir() else None, ENCODER_FILE) or {}
    return str(conf.get("kind", "transformers"))


def load_image_encoder(
    source: str | Path, kind: str = "auto", device: str = "cpu", dtype: str = "float32"
) -> CalibratedImageEncoder:
    """Load an encoder folder (or a transformers hub id) as the given or recorded kind."""
    chosen = folder_kind(source, kind)
    if chosen == "transformers":
        from rag.adapters.image_encoders.transformers_kind import TransformersImageEncoder

        return TransformersImageEncoder(source, device=device, dtype=dtype)
    if chosen == "chexnet":
        from rag.adapters.image_encoders.densenet_kinds import CheXNetDenseNetEncoder

        return CheXNetDenseNetEncoder(source, device=device, dtype=dtype)
    if chosen == "torchxrayvision":
        from rag.adapters.image_encoders.densenet_kinds import TorchXRayVisionEncoder

        return TorchXRayVisionEncoder(source, device=device, dtype=dtype)
    if chosen == "efficientnet-lite0":
        from rag.adapters.image_encoders.efficientnet_kind import EfficientNetLiteEncoder

        return EfficientNetLiteEncoder(source, device=device, dtype=dtype)
    if chosen == "ensemble":
        from rag.adapters.image_encoders.ensemble_kind import EnsembleEncoder

        return EnsembleEncoder(source, device=device, dtype=dtype)
    raise EncoderLoadError(f"unknown image encoder kind {chosen!r}; expected one of {KINDS}")
