"""`efficientnet-lite0`: the embedded encoder's kind (an ImageNet EfficientNet-Lite0 fine-tuned).

Files: `model.safetensors` (the state dict, keys as `efficientnet_lite.EfficientNetLite0`),
`encoder.json` (`kind`, `classes` in head order, `image_size` the network reads,
`native_size` the resolution it was trained at) and `label_map.json`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.adapters.image_encoders.base import (
    ENCODER_FILE,
    CalibratedImageEncoder,
    EncoderLoadError,
    encoder_folder,
    load_state,
    load_strict,
    read_json,
    torch_device,
)
from rag.adapters.image_encoders.preprocess import at_native
from rag.domain import DecodedImage

if TYPE_CHECKING:
    import torch

KIND = "efficientnet-lite0"
WEIGHTS = "model.safetensors"


def network_input(x: torch.Tensor, size: int) -> torch.Tensor:
    """(n, 1, h, w) in [0, 1] -> (n, 3, size, size) in [-1, 1]: bilinear up, grey to RGB.

    Training (rag.encoder.finetune) calls this too, so serving repeats its exact path.
    """
    from torch.nn import functional as F

    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (x * 2.0 - 1.0).expand(-1, 3, -1, -1)


class EfficientNetLiteEncoder(CalibratedImageEncoder):
    """An EfficientNet-Lite0 multi-label classifier saved by `radrag encoder train`."""

    kind = KIND

    def __init__(
        self,
        source: str | Path,
        label_map: dict[str, str] | None = None,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        import torch

        from rag.adapters.image_encoders.efficientnet_lite import EfficientNetLite0

        root = encoder_folder(source)
        conf = read_json(root, ENCODER_FILE)
        if conf is None or not conf.get("classes"):
            raise EncoderLoadError(f"{root}: {ENCODER_FILE} with `classes` is required")
        weights = root / str(conf.get("weights", WEIGHTS))
        if not weights.is_file():
            raise EncoderLoadError(f"{root}: no weights file {weights.name}")
        self.classes = [str(c) for c in conf["classes"]]
        self.image_size = int(conf.get("image_size", 224))
        self.native_size = int(conf.get("native_size", self.image_size))
        self.model = EfficientNetLite0(len(self.classes))
        # The file may be half precision (the repository's copy); the model stays float32.
        what = f"an EfficientNet-Lite0 of {len(self.classes)} classes"
        load_strict(self.model, load_state(weights), weights, what)
        self.device, self.dtype = torch_device(device), getattr(torch, dtype)
        self.model.eval().to(self.device, self.dtype)
        self._setup(str(root), label_map)
        self.id = f"{root.name}@{self.kind}"

    def _forward(self, images: Sequence[DecodedImage]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        small = np.stack([at_native(im.unit(), self.native_size) for im in images])[:, None]
        x = network_input(torch.from_numpy(small), self.image_size).to(self.device, self.dtype)
        feats = self.model.pooled(x)
        return self.model.classifier(feats).float(), feats
