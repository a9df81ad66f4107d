"""`radrag encoder ensemble`: put member encoder folders together as one `ensemble` folder.

Members are copied in (weights, encoder.json, label map, card; not their calibration, OOD
or certification files, which the ensemble replaces), then each member's logits are
standardised on the calibrate split's films (no labels are read): films no member was
trained on, so a member that fits its training films more tightly is not down-weighted on
new ones. Calibrate, certify and evaluate the result like any encoder folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from rag.adapters.image_encoders import (
    CALIBRATION,
    ENCODER_FILE,
    GUARD,
    OOD,
    folder_kind,
    load_image_encoder,
)
from rag.adapters.image_encoders.ensemble_kind import KIND, EnsembleEncoder
from rag.adapters.labelled_images import load_image, open_folder

NOT_COPIED = {CALIBRATION, OOD, GUARD, "split.json"}
BATCH = 32


def build_ensemble(members: list[Path], data_root: Path, out: Path) -> dict[str, object]:
    """Write `out` (an ensemble folder) from `members`; returns the standardisation used."""
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ValueError(f"member folder names must differ: {names}")
    for m in members:
        load_image_encoder(m)  # each member must load on its own first
    out.mkdir(parents=True, exist_ok=True)
    specs = []
    for m in members:
        target = out / m.name
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(m, target, ignore=lambda _d, files: [f for f in files if f in NOT_COPIED])
        specs.append({"folder": m.name, "kind": folder_kind(m)})
    (out / ENCODER_FILE).write_text(json.dumps({"kind": KIND, "members": specs}, indent=1))
    data = open_folder(data_root)
    split = "calibrate"
    recs = data.split.select(data.records, split)
    if not recs:
        raise ValueError(f"{data_root}: no images in the {split} split to standardise on")
    enc = EnsembleEncoder(out)
    parts = [
        enc.member_outputs([load_image(r) for r in recs[i : i + BATCH]])[0]
        for i in range(0, len(recs), BATCH)
    ]
    for j, spec in enumerate(specs):
        logits = np.concatenate([p[j] for p in parts])
        assessed = [(k, f) for k, f in enumerate(enc.classes) if not np.isnan(logits[:, k]).all()]
        spec["mean"] = {f: round(float(np.mean(logits[:, k])), 5) for k, f in assessed}
        spec["std"] = {f: round(max(float(np.std(logits[:, k])), 1e-3), 5) for k, f in assessed}
    conf = {"kind": KIND, "members": specs, "standardised_on": f"{data.root.name}:{split}"}
    (out / ENCODER_FILE).write_text(json.dumps(conf, indent=1) + "\n")
    return {"members": names, "standardised_on": conf["standardised_on"], "images": len(recs)}
