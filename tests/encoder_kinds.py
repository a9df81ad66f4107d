"""Build each image encoder kind with random weights, saved the way its users save it."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from rag.adapters.labelled_images import SITE_SPLIT

TEST_SIZE = 64  # DenseNet kinds read 224 px by default; the suite sets 64 to stay fast


def build_transformers(out: Path) -> None:
    """The embedded tiny ResNet, untrained: save_pretrained + processor + label map."""
    import torch

    from rag.adapters.nih_images import NIH_TO_FINDING
    from rag.encoder.model import tiny_resnet

    torch.manual_seed(0)
    model, processor = tiny_resnet(0.5, 0.25)
    model.eval().save_pretrained(out)
    processor.save_pretrained(out)
    (out / "label_map.json").write_text(json.dumps({c: f.value for c, f in NIH_TO_FINDING.items()}))


def build_chexnet(out: Path) -> None:
    """CheXNet's layout: DataParallel(`module.`) around `densenet121` with a
    Sequential(Linear, Sigmoid) head, saved as {"state_dict": ...} in model.pth.tar."""
    import torch

    from rag.adapters.image_encoders.densenet import DenseNet121
    from rag.adapters.image_encoders.densenet_kinds import CHEXNET_CLASSES

    torch.manual_seed(1)
    net = DenseNet121(len(CHEXNET_CLASSES))
    state = {
        "module.densenet121." + k.replace("classifier.", "classifier.0."): v
        for k, v in net.state_dict().items()
    }
    torch.save({"epoch": 3, "state_dict": state}, out / "model.pth.tar")
    (out / "encoder.json").write_text(json.dumps({"kind": "chexnet", "image_size": TEST_SIZE}))


def build_torchxrayvision(out: Path) -> None:
    """xrv.models.DenseNet's `state_dict()` (one channel, 18 classes, op_threshs buffer)."""
    import torch

    from rag.adapters.image_encoders.densenet import DenseNet121
    from rag.adapters.image_encoders.densenet_kinds import XRV_PATHOLOGIES

    torch.manual_seed(2)
    net = DenseNet121(len(XRV_PATHOLOGIES), in_channels=1)
    state = dict(net.state_dict())
    state["op_threshs"] = torch.linspace(0.05, 0.6, len(XRV_PATHOLOGIES))
    torch.save(state, out / "weights.pt")
    (out / "encoder.json").write_text(
        json.dumps({"kind": "torchxrayvision", "image_size": TEST_SIZE})
    )


def build_efficientnet_lite(out: Path) -> None:
    """What `radrag encoder train --backbone efficientnet-lite0` writes: safetensors (half
    precision, as the embedded encoder is stored), encoder.json with classes, label map."""
    import torch
    from safetensors.torch import save_file

    from rag.adapters.image_encoders.efficientnet_lite import EfficientNetLite0
    from rag.adapters.nih_images import NIH_CLASSES, NIH_TO_FINDING

    torch.manual_seed(3)
    net = EfficientNetLite0(len(NIH_CLASSES))
    save_file({k: v.half() for k, v in net.state_dict().items()}, str(out / "model.safetensors"))
    conf = {"kind": "efficientnet-lite0", "classes": NIH_CLASSES, "image_size": TEST_SIZE}
    (out / "encoder.json").write_text(json.dumps(conf | {"native_size": 32}))
    (out / "label_map.json").write_text(json.dumps({c: f.value for c, f in NIH_TO_FINDING.items()}))


def build_ensemble(out: Path) -> None:
    """Two members of different kinds in subfolders, encoder.json written by hand (the
    `radrag encoder ensemble` command writes the same, with measured statistics)."""
    build_transformers(out / "resnet")
    (out / "lite").mkdir()
    build_efficientnet_lite(out / "lite")
    members = [
        {"folder": "resnet", "kind": "transformers"},
        {"folder": "lite", "mean": {"pleural_effusion": 0.5}, "std": {"pleural_effusion": 2.0}},
    ]
    (out / "encoder.json").write_text(json.dumps({"kind": "ensemble", "members": members}))


BUILDERS: dict[str, Callable[[Path], None]] = {
    "transformers": build_transformers,
    "chexnet": build_chexnet,
    "torchxrayvision": build_torchxrayvision,
    "efficientnet-lite0": build_efficientnet_lite,
    "ensemble": build_ensemble,
}


def site_folder(root: Path, per_split: int = 4) -> Path:
    """A site's labelled folder (labels.csv: path, patient, finding columns) with
    `per_split` patients in each of calibrate, certify and test; 16-bit and 8-bit PNGs."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    want = {s: per_split for s in SITE_SPLIT.ranges}
    rows = []
    for i in range(10_000):
        pid = f"site-{i}"
        split = SITE_SPLIT.name(pid)
        if want[split] == 0:
            continue
        want[split] -= 1
        effusion = len(rows) % 2
        yy, xx = np.mgrid[0:48, 0:40] / 48
        img = 0.3 + 0.4 * np.exp(-((xx - 0.4) ** 2) * 8) + 0.2 * effusion * yy
        img = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
        name = f"{pid}.png"
        if i % 2:
            Image.fromarray((img * 65535).astype(np.uint16)).save(root / name)
        else:
            Image.fromarray((img * 255).astype(np.uint8)).save(root / name)
        rows.append([name, pid, effusion, "" if i % 3 else 0])
        if not any(want.values()):
            break
    with (root / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "patient", "pleural_effusion", "cardiomegaly"])
        w.writerows(rows)
    return root
