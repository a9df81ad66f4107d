"""The embedded encoder's architecture: a small ResNet, trained from scratch at 64 px."""

from __future__ import annotations

from transformers import ResNetConfig, ResNetForImageClassification
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

from rag.adapters.nih_images import NIH_CLASSES

IMAGE_SIZE = 64


def tiny_resnet(
    mean: float, std: float, width: int = 16
) -> tuple[ResNetForImageClassification, ViTImageProcessorPil]:
    """A small ResNet (~0.3M parameters at width 16) and its processor (grey to RGB)."""
    config = ResNetConfig(
        num_channels=3,
        embedding_size=width,
        hidden_sizes=[width, 2 * width, 4 * width, 8 * width],
        depths=[1, 1, 1, 1],
        layer_type="basic",
        num_labels=len(NIH_CLASSES),
        id2label=dict(enumerate(NIH_CLASSES)),
        label2id={c: i for i, c in enumerate(NIH_CLASSES)},
        problem_type="multi_label_classification",
    )
    processor = ViTImageProcessorPil(
        do_resize=True,
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_rescale=True,
        do_normalize=True,
        image_mean=[mean] * 3,
        image_std=[std] * 3,
    )
    return ResNetForImageClassification(config), processor
