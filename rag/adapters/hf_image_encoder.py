"""`TransformersImageEncoder`: any transformers image classifier + a label map -> findings."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from rag.domain import Band, DecodedImage, Finding, ImageScores
from rag.encoder.calibration import mahalanobis, sigmoid

if TYPE_CHECKING:
    import torch

LABEL_MAP = "label_map.json"
CALIBRATION = "calibration.json"
OOD = "ood.json"
GUARD = "guard_calibration.json"  # written by `radrag guard calibrate`
DEFAULT_BAND = Band(absent_below=0.3, present_at=0.7)


class EncoderLoadError(RuntimeError):
    """The checkpoint or its label map could not be loaded."""


def _read_json(root: Path | None, name: str) -> dict | None:
    if root is None or not (root / name).is_file():
        return None
    return json.loads((root / name).read_text())


def pool(hidden: torch.Tensor) -> torch.Tensor:
    """Average a feature map (B, C, H, W) or token sequence (B, T, D) into (B, D)."""
    if hidden.ndim == 4:
        return hidden.mean(dim=(2, 3))
    if hidden.ndim == 3:
        return hidden.mean(dim=1)
    return hidden


class TransformersImageEncoder:
    """Loads AutoModelForImageClassification from a folder or hub id, with its label map.

    The folder may also carry calibration.json (per-finding temperature and bands) and
    ood.json (feature-space Gaussian); without them probabilities are uncalibrated and no
    out-of-distribution check is made.
    """

    def __init__(self, source: str | Path, label_map: dict[str, str] | None = None) -> None:
        # torch/transformers load here, not at import: the API starts without them.
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        self.source = str(source)
        root = Path(source) if Path(source).is_dir() else None
        try:
            self.model = AutoModelForImageClassification.from_pretrained(self.source).eval()
            self.processor = AutoImageProcessor.from_pretrained(self.source)
        except (OSError, ValueError) as exc:
            raise EncoderLoadError(f"cannot load image encoder {self.source!r}: {exc}") from None
        mapping = label_map or _read_json(root, LABEL_MAP)
        if not mapping:
            raise EncoderLoadError(f"{self.source}: no label map ({LABEL_MAP}) from classes")
        classes = {str(v): int(k) for k, v in self.model.config.id2label.items()}
        self.columns: dict[Finding, list[int]] = {}
        for cls, finding in mapping.items():
            if cls not in classes:
                raise EncoderLoadError(f"{self.source}: label map names unknown class {cls!r}")
            self.columns.setdefault(Finding(finding), []).append(classes[cls])
        self.findings = [f for f in Finding if f in self.columns]
        cal = (_read_json(root, CALIBRATION) or {}).get("findings", {})
        self.temperatures = np.array(
            [float(cal.get(f.value, {}).get("temperature", 1.0)) for f in self.findings]
        )
        self.bands = {
            f: Band(**{k: cal[f.value][k] for k in ("absent_below", "present_at")})
            if f.value in cal
            else DEFAULT_BAND
            for f in self.findings
        }
        ood = _read_json(root, OOD)
        self.ood_mean = np.array(ood["mean"]) if ood else None
        self.ood_precision = np.array(ood["precision"]) if ood else None
        self.ood_threshold = float(ood["threshold"]) if ood else None
        self.guard_calibration = _read_json(root, GUARD)
        self.id = f"{Path(self.source).name or self.source}@{self.model.config.model_type}"
        self.multi_label = self.model.config.problem_type != "single_label_classification"
        self._lock = threading.Lock()  # torch modules are not safe to call concurrently

    def _inputs(self, images: Sequence[DecodedImage]) -> torch.Tensor:
        channels = int(getattr(self.model.config, "num_channels", 3))
        mode = "RGB" if channels == 3 else "L"
        pil = [Image.fromarray(im.pixels).convert(mode) for im in images]
        return self.processor(images=pil, return_tensors="pt")["pixel_values"]

    def raw(self, images: Sequence[DecodedImage]) -> tuple[np.ndarray, np.ndarray]:
        """Per-finding logits (n, findings) before calibration, and pooled features (n, d)."""
        import torch

        with self._lock, torch.inference_mode():
            out = self.model(self._inputs(images), output_hidden_states=True)
        logits = out.logits.float()
        if not self.multi_label:
            logits = torch.log_softmax(logits, dim=-1)
        # Several classes may map to one finding (Mass, Nodule -> lung_lesion): take the max.
        cols = [logits[:, self.columns[f]].max(dim=1).values for f in self.findings]
        feats = pool(out.hidden_states[-1]).float()
        return torch.stack(cols, dim=1).numpy(), feats.numpy()

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw finding logits."""
        if not self.multi_label:
            return np.exp(logits)
        return sigmoid(logits / self.temperatures)

    def ood_scores(self, features: np.ndarray) -> np.ndarray | None:
        """Mahalanobis distances to the in-distribution features, or None without ood.json."""
        if self.ood_mean is None or self.ood_precision is None:
            return None
        return mahalanobis(features, self.ood_mean, self.ood_precision)

    def encode_many(self, images: Sequence[DecodedImage]) -> list[ImageScores]:
        """Encode several images in one forward pass."""
        logits, feats = self.raw(images)
        probs = self.calibrated(logits)
        ood = self.ood_scores(feats)
        return [
            ImageScores(
                probabilities={
                    f: float(np.clip(probs[i, j], 0.0, 1.0)) for j, f in enumerate(self.findings)
                },
                bands=self.bands,
                ood_score=None if ood is None else float(ood[i]),
                ood_threshold=self.ood_threshold,
                encoder=self.id,
            )
            for i in range(len(images))
        ]

    def encode(self, image: DecodedImage) -> ImageScores:
        """Calibrated per-finding probabilities and an OOD score for one image."""
        return self.encode_many([image])[0]
