"""Calibrate a checkpoint on the validation patients and score it on the test patients."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.adapters.hf_image_encoder import CALIBRATION, OOD, TransformersImageEncoder
from rag.adapters.nih_images import NIH_CLASSES
from rag.domain import DecodedImage, Finding
from rag.encoder.calibration import auroc, ece, fit_band, fit_gaussian, fit_temperature
from rag.encoder.train import decoded

OOD_QUANTILE = 0.95  # about 5% of in-distribution validation images are flagged


def finding_targets(nih: np.ndarray, enc: TransformersImageEncoder) -> np.ndarray:
    """Collapse multi-hot NIH targets to the encoder's findings (any mapped label counts)."""
    cols = []
    for f in enc.findings:
        idx = [NIH_CLASSES.index(enc.model.config.id2label[j]) for j in enc.columns[f]]
        cols.append(nih[:, idx].max(axis=1))
    return np.stack(cols, axis=1)


def _raw(enc: TransformersImageEncoder, images: Sequence[DecodedImage], batch: int = 128):
    parts = [enc.raw(images[i : i + batch]) for i in range(0, len(images), batch)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def calibrate(checkpoint: Path, data: Path) -> dict[str, object]:
    """Fit temperatures and bands on valid, the OOD Gaussian on train; write the JSON files."""
    enc = TransformersImageEncoder(checkpoint)
    v_img, v_nih, _ = decoded(data, "valid")
    t_img, _, _ = decoded(data, "train")
    v_logits, v_feats = _raw(enc, v_img)
    y = finding_targets(v_nih, enc)
    findings: dict[str, dict[str, float | int]] = {}
    for j, f in enumerate(enc.findings):
        t = fit_temperature(v_logits[:, j], y[:, j])
        p = 1 / (1 + np.exp(-v_logits[:, j] / t))
        lo, hi = fit_band(p, y[:, j])
        findings[f.value] = {
            "temperature": round(t, 4),
            "absent_below": lo,
            "present_at": hi,
            "valid_positives": int(y[:, j].sum()),
        }
    (checkpoint / CALIBRATION).write_text(
        json.dumps({"method": "temperature", "split": "valid", "findings": findings}, indent=1)
    )
    _, tr_feats = _raw(enc, t_img)
    mu, precision = fit_gaussian(tr_feats)
    enc.ood_mean, enc.ood_precision = mu, precision
    v_dist = enc.ood_scores(v_feats)
    assert v_dist is not None
    threshold = float(np.quantile(v_dist, OOD_QUANTILE))
    ood = {
        "method": "mahalanobis",
        "features": "mean-pooled last hidden state",
        "fit_on": "train",
        "threshold_quantile_on_valid": OOD_QUANTILE,
        "threshold": round(threshold, 4),
        "mean": np.round(mu, 6).tolist(),
        "precision": np.round(precision, 6).tolist(),
    }
    (checkpoint / OOD).write_text(json.dumps(ood))
    return {"findings": findings, "ood_threshold": round(threshold, 4)}


def evaluate(
    checkpoint: Path, data: Path, ood_sets: dict[str, Sequence[DecodedImage]]
) -> dict[str, object]:
    """auroc per finding and macro, ECE, OOD AUROC on the held-out test patients."""
    enc = TransformersImageEncoder(checkpoint)
    images, nih, _ = decoded(data, "test")
    logits, feats = _raw(enc, images)
    probs = enc.calibrated(logits)
    y = finding_targets(nih, enc)
    per = {f.value: auroc(probs[:, j], y[:, j]) for j, f in enumerate(enc.findings)}
    scored = [v for v in per.values() if v is not None]
    in_d = enc.ood_scores(feats)
    result: dict[str, object] = {
        "checkpoint": str(checkpoint),
        "test_images": len(images),
        "auroc_macro": round(float(np.mean(scored)), 4) if scored else None,
        "auroc": {k: None if v is None else round(v, 4) for k, v in per.items()},
        "positives": {f.value: int(y[:, j].sum()) for j, f in enumerate(enc.findings)},
        "ece": round(ece(probs.ravel(), y.ravel()), 4),
        "ece_before_calibration": round(ece((1 / (1 + np.exp(-logits))).ravel(), y.ravel()), 4),
        "not_assessed": [f.value for f in Finding if f not in enc.findings],
    }
    bands = [
        [enc.bands[f].state(p).value for f, p in zip(enc.findings, row, strict=True)]
        for row in probs
    ]
    result["uncertain_fraction"] = round(
        float(np.mean([b == "uncertain" for r in bands for b in r])), 4
    )
    ood_images = [im for group in ood_sets.values() for im in group]
    if in_d is not None and ood_images:
        thr = enc.ood_threshold or 0.0
        result["ood_flagged_in_distribution"] = round(float(np.mean(in_d > thr)), 4)
        dists: dict[str, np.ndarray] = {}
        for name, group in ood_sets.items():
            d = enc.ood_scores(_raw(enc, group)[1])
            assert d is not None
            dists[name] = d
        out_d = np.concatenate(list(dists.values()))
        labels = np.r_[np.zeros(len(in_d)), np.ones(len(out_d))]
        result["ood_auroc"] = round(auroc(np.r_[in_d, out_d], labels) or 0.0, 4)
        result["ood_images"] = {k: len(v) for k, v in ood_sets.items()}
        result["ood_auroc_by_source"] = {
            k: round(auroc(np.r_[in_d, d], np.r_[np.zeros(len(in_d)), np.ones(len(d))]) or 0.0, 4)
            for k, d in dists.items()
        }
        result["ood_flagged_by_source"] = {
            k: round(float(np.mean(d > thr)), 4) for k, d in dists.items()
        }
    return result
