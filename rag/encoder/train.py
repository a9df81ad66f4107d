"""Train the embedded encoder on an nih1000-style folder and write a checkpoint."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rag.adapters.nih_images import (
    NIH_TO_FINDING,
    NihRecord,
    by_split,
    load_pixels,
    read_records,
    targets,
)
from rag.encoder.model import tiny_resnet


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of `radrag encoder train`."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    limit: int | None = None  # train on the first N training images (tests)
    threads: int = 1  # the machine is shared: one thread avoids oversubscription stalls
    # Extra NIH-style folders (nih-fullres): their train-split patients join training;
    # the rest stay held out (their test patients give a full-resolution check).
    extra: tuple[Path, ...] = ()
    width: int = 16  # channels of the first stage (doubling per stage)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    # Small shifts and contrast jitter: radiographs vary in centring and exposure. No flips:
    # the heart is on the left, and flipping would teach the model otherwise.
    n = x.shape[0]
    pad = torch.nn.functional.pad(x, (4, 4, 4, 4), mode="replicate")
    dx, dy = torch.randint(0, 9, (2,), generator=gen).tolist()
    x = pad[:, :, dy : dy + x.shape[2], dx : dx + x.shape[3]]
    gain = 1 + 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    bias = 0.2 * (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    return x * gain + bias


def training_records(data: Path, limit: int | None, extra: tuple[Path, ...]) -> list[NihRecord]:
    """The train-split patients' images of `data` (the first `limit`), then those of each
    extra folder's train split (their other patients stay held out)."""
    recs = by_split(read_records(data))["train"]
    recs = recs[:limit] if limit else recs
    for folder in extra:
        recs = recs + by_split(read_records(folder))["train"]
    return recs


def fit_multilabel(
    module: torch.nn.Module,
    logits_of: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    gen: torch.Generator,
    pct_start: float = 0.3,
) -> float:
    """Both recipes' loop: augmented batches, class-weighted BCE, AdamW on a one-cycle
    schedule. Leaves `module` in eval mode; returns the last batch's loss."""
    # Rare findings get more weight, capped so a handful of positives cannot dominate;
    # Platt scaling on the calibrate patients later removes the bias this adds.
    pos = y.sum(0).clamp(min=1)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=((len(y) - pos) / pos).clamp(max=10.0))
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * max(1, -(-len(x) // batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=steps, pct_start=pct_start
    )
    module.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            loss = loss_fn(logits_of(augment(x[idx], gen)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}/{epochs} loss {float(loss.detach()):.4f}", file=sys.stderr)
    module.eval()
    return float(loss.detach())


def train(data: Path, out: Path, cfg: TrainConfig) -> dict[str, object]:
    """Train on the patient-level train split and save model + processor + label map."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(cfg.seed)
    recs = training_records(data, cfg.limit, cfg.extra)
    pixels = [_small(load_pixels(r)) for r in recs]
    stack = np.stack([p.astype(np.float32) / 255.0 for p in pixels])
    model, processor = tiny_resnet(float(stack.mean()), float(stack.std()), cfg.width)
    from PIL import Image

    x = processor(images=[Image.fromarray(p).convert("RGB") for p in pixels], return_tensors="pt")[
        "pixel_values"
    ]
    y = torch.from_numpy(targets(recs))
    started = time.perf_counter()
    final_loss = fit_multilabel(
        model,
        lambda batch: model(batch).logits,
        x,
        y,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        gen=gen,
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    label_map = {c: f.value for c, f in NIH_TO_FINDING.items()}
    (out / "label_map.json").write_text(json.dumps(label_map, indent=2) + "\n")
    return {
        "train_images": len(recs),
        "train_patients": len({r.patient for r in recs}),
        "epochs": cfg.epochs,
        "width": cfg.width,
        "extra": [p.name for p in cfg.extra],
        "seconds": round(time.perf_counter() - started, 1),
        "final_loss": round(final_loss, 4),
    }


def _small(pixels: np.ndarray) -> np.ndarray:
    """Full-resolution films downscaled to the model's input size (as nih1000 was)."""
    from PIL import Image

    from rag.encoder.model import IMAGE_SIZE

    if pixels.shape == (IMAGE_SIZE, IMAGE_SIZE):
        return pixels
    im = Image.fromarray(pixels).resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    return np.asarray(im)
