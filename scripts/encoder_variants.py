"""Train embedded-encoder variants and score them on the valid patients (model selection).

Test patients are never looked at here: pick on valid, then `radrag encoder train` the
winner and `radrag encoder evaluate` it once on test.

    python scripts/encoder_variants.py --data ../shared/data/nih1000 \
        --extra ../shared/data/nih-fullres --out /tmp/variants
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from rag.adapters.image_encoders import load_image_encoder
from rag.adapters.labelled_images import load_plain, open_folder, reference_matrix
from rag.encoder.calibration import auroc
from rag.encoder.train import TrainConfig, train

VARIANTS = {
    "base": {},
    "fullres": {"extra": True},
    "fullres_wide_60ep": {"extra": True, "width": 32, "epochs": 60},
}


def valid_macro(folder: Path, data: Path) -> float:
    """Macro AUROC (uncalibrated: AUROC ignores temperature) on the valid patients."""
    enc = load_image_encoder(folder, "transformers")
    lab = open_folder(data)
    recs = lab.split.select(lab.records, "valid")
    logits, _ = enc.raw([load_plain(r) for r in recs])
    y = reference_matrix(recs, enc.findings)
    per = [auroc(logits[:, j], y[:, j]) for j in range(y.shape[1])]
    return float(np.mean([v for v in per if v is not None]))


def main() -> None:
    """Train each variant and print its valid macro AUROC as JSON lines."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--extra", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    for name, v in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        extra = (args.extra,) if v.get("extra") and args.extra else ()
        cfg = TrainConfig(epochs=v.get("epochs", 40), width=v.get("width", 16), extra=extra)
        info = train(args.data, args.out / name, cfg)
        row = {
            "variant": name,
            "valid_auroc_macro": round(valid_macro(args.out / name, args.data), 4),
        }
        print(
            json.dumps(row | {"seconds": info["seconds"], "train_images": info["train_images"]}),
            flush=True,
        )


if __name__ == "__main__":
    main()
