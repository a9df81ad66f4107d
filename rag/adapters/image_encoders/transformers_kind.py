"""`TransformersImageEncoder`: any transformers image classifier + a label map -> findings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from rag.adapters.image_encoders.base import CalibratedImageEncoder, EncoderLoadError, torch_device
from rag.domain import DecodedImage

if TYPE_CHECKING:
    import torch


def pool(hidden: torch.Tensor) -> torch.Tensor:
    """Average a feature map (B, C, H, W) or token sequence (B, T, D) into (B, D)."""
    if hidden.ndim == 4:
        return hidden.mean(dim=(2, 3))
    if hidden.ndim == 3:
        return hidden.mean(dim=1)
    return hidden


class TransformersImageEncoder(CalibratedImageEncoder):
    """AutoModelForImageClassification from a folder or hub id, with its label map.

    Its own processor prepares the input (from the 8-bit pixels: transformers processors
    rescale by 1/255). Fails closed: see `missing`.
    """

    kind = "transformers"

    def __init__(
        self,
        source: str | Path,
        label_map: dict[str, str] | None = None,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        # torch/transformers load here, not at import: the API starts without them.
        import torch
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        src = str(source)
        self.device, self.dtype = torch_device(device), getattr(torch, dtype)
        try:
            self.model = AutoModelForImageClassification.from_pretrained(src).eval()
            self.processor = AutoImageProcessor.from_pretrained(src)
        except (OSError, ValueError) as exc:
            raise EncoderLoadError(f"cannot load image encoder {src!r}: {exc}") from None
        self.model.to(self.device, self.dtype)
        n = len(self.model.config.id2label)
        self.classes = [str(self.model.config.id2label[i]) for i in range(n)]
        self.multi_label = self.model.config.problem_type != "single_label_classification"
        self._setup(src, label_map)
        self.id = f"{Path(src).name or src}@{self.model.config.model_type}"

    def _forward(self, images: Sequence[DecodedImage]) -> tuple[torch.Tensor, torch.Tensor]:
        channels = int(getattr(self.model.config, "num_channels", 3))
        mode = "RGB" if channels == 3 else "L"
        pil = [Image.fromarray(im.pixels).convert(mode) for im in images]
        x = self.processor(images=pil, return_tensors="pt")["pixel_values"]
        out = self.model(x.to(self.device, self.dtype), output_hidden_states=True)
        return out.logits, pool(out.hidden_states[-1])
