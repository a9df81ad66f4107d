"""`ensemble`: several encoder folders of any kind read as one encoder.

Small models trained on ~800 films differ a lot from seed to seed (NIH valid patients,
macro AUROC 0.54-0.62 for one recipe); averaging them, and mixing architectures, is the
cheapest variance reduction there is. Each member's raw per-finding logits are
standardised with the mean and standard deviation it has on unlabelled held-out
films (recorded in encoder.json by `radrag encoder ensemble`), then averaged over the
members that assess the finding; the ensemble folder's own calibration, OOD model and
certification apply to the average, exactly as for a single model. Features for the OOD
detector are the members' pooled features side by side.

encoder.json: {"kind": "ensemble", "members": [{"folder": "NAME", "kind": "auto",
"mean": {finding: m}, "std": {finding: s}}, ...]}; each NAME is a subfolder.
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
    read_json,
)
from rag.domain import DecodedImage, Finding

if TYPE_CHECKING:
    import torch

KIND = "ensemble"


class EnsembleEncoder(CalibratedImageEncoder):
    """The standardised average of member encoders (see the module docstring)."""

    kind = KIND

    def __init__(
        self,
        source: str | Path,
        label_map: dict[str, str] | None = None,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        from rag.adapters.image_encoders import load_image_encoder

        root = encoder_folder(source)
        conf = read_json(root, ENCODER_FILE) or {}
        specs = conf.get("members") or []
        if not specs:
            raise EncoderLoadError(f"{root}: {ENCODER_FILE} lists no `members`")
        self.members: list[CalibratedImageEncoder] = []
        for spec in specs:
            folder = root / str(spec.get("folder", ""))
            if not folder.is_dir() or folder.resolve().parent != root.resolve():
                raise EncoderLoadError(f"{root}: member {folder.name!r} is not a subfolder")
            self.members.append(
                load_image_encoder(folder, str(spec.get("kind", "auto")), device, dtype)
            )
        findings = [f for f in Finding if any(f in m.findings for m in self.members)]
        self.classes = [f.value for f in findings]
        # Per member: (its column of each ensemble finding or -1, mean, std).
        self._align = []
        for member, spec in zip(self.members, specs, strict=True):
            cols = np.array(
                [member.findings.index(f) if f in member.findings else -1 for f in findings]
            )
            mean = np.array([float(spec.get("mean", {}).get(f.value, 0.0)) for f in findings])
            std = np.array([float(spec.get("std", {}).get(f.value, 1.0)) for f in findings])
            if (std <= 0).any():
                raise EncoderLoadError(f"{root / ENCODER_FILE}: a member's std is not positive")
            self._align.append((cols, mean, std))
        self._setup(str(root), label_map, {c: c for c in self.classes})
        self.id = f"{root.name}@{KIND}[{','.join(m.kind for m in self.members)}]"

    def member_outputs(
        self, images: Sequence[DecodedImage]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Each member's raw logits aligned to the ensemble's findings (NaN where it does
        not assess one), and its pooled features."""
        logits, feats = [], []
        for member, (cols, _, _) in zip(self.members, self._align, strict=True):
            raw, f = member.raw(images)
            aligned = np.full((len(images), len(cols)), np.nan)
            aligned[:, cols >= 0] = raw[:, cols[cols >= 0]]
            logits.append(aligned)
            feats.append(f)
        return logits, feats

    def _forward(self, images: Sequence[DecodedImage]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        logits, feats = self.member_outputs(images)
        z = [(x - mean) / std for x, (_, mean, std) in zip(logits, self._align, strict=True)]
        avg = np.nanmean(np.stack(z), axis=0)
        return torch.from_numpy(avg), torch.from_numpy(np.concatenate(feats, axis=1))
