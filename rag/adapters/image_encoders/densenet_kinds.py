"""DenseNet-121 checkpoints as their users save them: CheXNet-style and torchxrayvision.

- `chexnet`: a ChestX-ray14 DenseNet-121 (14 NIH classes in the published order,
  ImageNet normalisation, RGB, 224 px); a state dict, bare or under "state_dict", with or
  without DataParallel's `module.` prefix (CheXNet's own checkpoint: `module.densenet121.`
  and a Sequential(Linear, Sigmoid) head, so its outputs are probabilities).
- `torchxrayvision`: `model.state_dict()` of `xrv.models.DenseNet` (one channel, [-1024,
  1024], centre crop, 224 px, its 18 pathologies); with `op_threshs` its outputs are
  probabilities normalised so each operating point sits at 0.5.
encoder.json in the folder may override `weights`, `classes`, `outputs` ("logits" or
"probabilities") and `image_size`.
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
from rag.adapters.image_encoders.preprocess import imagenet_batch, xrv_batch
from rag.domain import DecodedImage

if TYPE_CHECKING:
    import torch

# Wang et al. 2017 / Rajpurkar et al. 2017 (CheXNet): the published class order.
CHEXNET_CLASSES = [
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
]
# torchxrayvision's `datasets.default_pathologies` (1.5.x).
XRV_PATHOLOGIES = [
    "Atelectasis",
    "Consolidation",
    "Infiltration",
    "Pneumothorax",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Effusion",
    "Pneumonia",
    "Pleural_Thickening",
    "Cardiomegaly",
    "Nodule",
    "Mass",
    "Hernia",
    "Lung Lesion",
    "Fracture",
    "Lung Opacity",
    "Enlarged Cardiomediastinum",
]
# Default class -> finding maps, used when the folder has no label_map.json.
NIH_MAP = {
    "Atelectasis": "atelectasis",
    "Cardiomegaly": "cardiomegaly",
    "Effusion": "pleural_effusion",
    "Infiltration": "lung_opacity",
    "Mass": "lung_lesion",
    "Nodule": "lung_lesion",
    "Pneumonia": "pneumonia",
    "Pneumothorax": "pneumothorax",
    "Consolidation": "consolidation",
    "Edema": "edema",
    "Pleural_Thickening": "pleural_other",
}
XRV_MAP = NIH_MAP | {
    "Lung Lesion": "lung_lesion",
    "Fracture": "fracture",
    "Lung Opacity": "lung_opacity",
    "Enlarged Cardiomediastinum": "enlarged_cardiomediastinum",
}
WEIGHT_NAMES = ("model.safetensors", "model.pth.tar", "model.pth", "model.pt", "weights.pt")


def op_norm(p: torch.Tensor, thresholds: torch.Tensor) -> torch.Tensor:
    """torchxrayvision's op_norm: piecewise-linear so each operating point maps to 0.5."""
    import torch

    t = thresholds.to(p).expand_as(p)
    known = ~torch.isnan(t)
    below = (p < t) & known
    above = (p >= t) & known
    out = torch.zeros_like(p)
    out[below] = p[below] / (t[below] * 2)
    out[above] = 1.0 - (1.0 - p[above]) / ((1 - t[above]) * 2)
    return out


class _DenseNetEncoder(CalibratedImageEncoder):
    """Shared loading: encoder.json, the weights file, the DenseNet-121 module."""

    default_classes: list[str]
    default_map: dict[str, str]
    in_channels = 3

    def __init__(
        self,
        source: str | Path,
        label_map: dict[str, str] | None = None,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        import torch

        from rag.adapters.image_encoders.densenet import DenseNet121, normalise_keys

        root = encoder_folder(source)
        conf = read_json(root, ENCODER_FILE) or {}
        weights = root / conf["weights"] if "weights" in conf else None
        if weights is None:
            weights = next((root / n for n in WEIGHT_NAMES if (root / n).is_file()), None)
        if weights is None or not weights.is_file():
            raise EncoderLoadError(f"{root}: no weights file (one of {', '.join(WEIGHT_NAMES)})")
        self.classes = list(conf.get("classes", self.default_classes))
        self.image_size = int(conf.get("image_size", 224))
        raw = load_state(weights)
        state = normalise_keys(raw)
        self.op_threshs = state.pop("op_threshs", None)
        if "op_threshs" in conf:
            self.op_threshs = torch.tensor(conf["op_threshs"], dtype=torch.float32)
        outputs = conf.get("outputs") or self._default_outputs(raw)
        if outputs not in ("logits", "probabilities"):
            raise EncoderLoadError(
                f"{root / ENCODER_FILE}: outputs must be logits or probabilities"
            )
        self.probabilities_out = outputs == "probabilities"
        self.model = DenseNet121(len(self.classes), self.in_channels)
        load_strict(self.model, state, weights, f"a DenseNet-121 of {len(self.classes)} classes")
        self.device, self.dtype = torch_device(device), getattr(torch, dtype)
        self.model.eval().to(self.device, self.dtype)
        present = set(self.classes)
        defaults = {c: f for c, f in self.default_map.items() if c in present}
        self._setup(str(root), label_map, defaults)
        self.id = f"{root.name}@{self.kind}"

    def _default_outputs(self, raw: dict) -> str:
        return "logits"

    def _batch(self, images: Sequence[DecodedImage]) -> np.ndarray:
        raise NotImplementedError

    def _head(self, logits: torch.Tensor) -> torch.Tensor:
        return logits

    def _forward(self, images: Sequence[DecodedImage]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        x = torch.from_numpy(self._batch(images)).to(self.device, self.dtype)
        feats = self.model.pooled(x)
        return self._head(self.model.classifier(feats).float()), feats


class CheXNetDenseNetEncoder(_DenseNetEncoder):
    """A CheXNet-layout DenseNet-121 ChestX-ray14 checkpoint (see the module docstring)."""

    kind = "chexnet"
    default_classes = CHEXNET_CLASSES
    default_map = NIH_MAP

    def _default_outputs(self, raw: dict) -> str:
        # CheXNet's head is Sequential(Linear, Sigmoid): its saved keys say "classifier.0.".
        return "probabilities" if any(".classifier.0." in f".{k}" for k in raw) else "logits"

    def _batch(self, images: Sequence[DecodedImage]) -> np.ndarray:
        return imagenet_batch(images, self.image_size)

    def _head(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.sigmoid() if self.probabilities_out else logits


class TorchXRayVisionEncoder(_DenseNetEncoder):
    """A torchxrayvision DenseNet-121 state dict (see the module docstring)."""

    kind = "torchxrayvision"
    default_classes = XRV_PATHOLOGIES
    default_map = XRV_MAP
    in_channels = 1

    def _default_outputs(self, raw: dict) -> str:
        return "probabilities" if raw.get("op_threshs") is not None else "logits"

    def _batch(self, images: Sequence[DecodedImage]) -> np.ndarray:
        return xrv_batch(images, self.image_size)

    def _head(self, logits: torch.Tensor) -> torch.Tensor:
        if self.op_threshs is not None:
            return op_norm(logits.sigmoid(), self.op_threshs)
        return logits.sigmoid() if self.probabilities_out else logits
