"""Calibrate any encoder kind on a labelled folder's calibrate split; score it on test.

The folder's split is by patient (rag.adapters.labelled_images): `calibrate` fits the
Platt scaling, bands and the OOD threshold; `certify` is left for `radrag guard
calibrate`; `test` is scored here. The split used is recorded in the encoder folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.adapters.image_encoders import CALIBRATION, OOD, CalibratedImageEncoder
from rag.adapters.labelled_images import (
    LabelledFolder,
    LabelledImage,
    load_image,
    open_folder,
    reference_matrix,
    write_split,
)
from rag.domain import DecodedImage, Finding
from rag.encoder.calibration import (
    auroc,
    ece,
    fit_band,
    fit_gaussian,
    fit_platt,
    fit_projection,
    sigmoid,
)
from rag.encoder.imagenet_ood import fit_imagenet_model, imagenet_distance
from rag.encoder.pixel_ood import fit_pixel_model, pixel_distance

# Per detector; with three (encoder features, pixels, ImageNet features), each at 1 - 5%/3,
# about 5% of calibration images are flagged.
OOD_QUANTILE = 1 - 0.05 / 3
BOOTSTRAP = 1000


def _raw(enc: CalibratedImageEncoder, images: Sequence[DecodedImage], batch: int = 32):
    parts = [enc.raw(images[i : i + batch]) for i in range(0, len(images), batch)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _images(records: list[LabelledImage]) -> list[DecodedImage]:
    return [load_image(r) for r in records]


def _ood_sets(data: LabelledFolder) -> tuple[list[LabelledImage], list[LabelledImage]]:
    """(images the Gaussian is fitted on, images its threshold is set on): never the same."""
    if "train" in data.split.ranges:
        return data.split.select(data.records, "train"), data.split.select(
            data.records, "calibrate"
        )
    cal = data.split.select(data.records, "calibrate")
    fit = [r for r in cal if data.split.bucket(r.patient) % 2 == 0]
    return fit, [r for r in cal if data.split.bucket(r.patient) % 2 == 1]


def calibrate(enc: CalibratedImageEncoder, data_root: Path) -> dict[str, object]:
    """Fit Platt scales and biases, bands, the OOD Gaussian and threshold; write the JSON files."""
    if enc.root is None:
        raise ValueError("calibration needs an encoder folder to write into")
    data = open_folder(data_root)
    recs = data.split.select(data.records, "calibrate")
    if not recs:
        raise ValueError(f"{data_root}: no images in the calibrate split")
    logits, _ = _raw(enc, _images(recs))
    y = reference_matrix(recs, enc.findings)
    findings: dict[str, dict[str, float | int]] = {}
    for j, f in enumerate(enc.findings):
        known = ~np.isnan(y[:, j])
        if not known.any():
            continue  # the folder does not label it: default bands, no rescaling
        scale, bias = fit_platt(logits[known, j], y[known, j])
        lo, hi = fit_band(sigmoid(logits[known, j] * scale + bias), y[known, j])
        findings[f.value] = {
            "scale": round(scale, 4),
            "bias": round(bias, 4),
            "absent_below": lo,
            "present_at": hi,
            "calibrate_positives": int(y[known, j].sum()),
            "calibrate_labelled": int(known.sum()),
        }
    (enc.root / CALIBRATION).write_text(
        json.dumps({"method": "platt", "split": "calibrate", "findings": findings}, indent=1)
    )
    fit_recs, thr_recs = _ood_sets(data)
    fit_images, thr_images = _images(fit_recs), _images(thr_recs)
    _, fit_feats = _raw(enc, fit_images)
    projection = fit_projection(fit_feats)
    mu, precision = fit_gaussian(fit_feats if projection is None else fit_feats @ projection.T)
    enc.ood_projection, enc.ood_mean, enc.ood_precision = projection, mu, precision
    enc.ood_pixels = None
    dist = enc.feature_distances(_raw(enc, thr_images)[1])
    assert dist is not None
    # Two detectors, either of which flags: each at 97.5% keeps ~5% of calibration flagged.
    threshold = float(np.quantile(dist, OOD_QUANTILE))
    pixels = fit_pixel_model(fit_images)
    pixels["threshold"] = round(
        float(np.quantile(pixel_distance(pixels, thr_images), OOD_QUANTILE)), 4
    )
    imagenet = fit_imagenet_model(fit_images)
    imagenet["threshold"] = round(
        float(np.quantile(imagenet_distance(imagenet, thr_images), OOD_QUANTILE)), 4
    )
    enc.ood_feature_threshold, enc.ood_pixels, enc.ood_threshold = threshold, pixels, 1.0
    enc.ood_imagenet = imagenet
    ood = {
        "method": "mahalanobis",
        "features": "the encoder's pooled last feature map",
        "fit_on": "train" if "train" in data.split.ranges else "calibrate (even buckets)",
        "threshold_quantile": OOD_QUANTILE,
        "threshold_on": "calibrate" if "train" in data.split.ranges else "calibrate (odd)",
        "threshold": round(threshold, 4),
        "mean": np.round(mu, 6).tolist(),
        "precision": np.round(precision, 6).tolist(),
        "pixels": pixels,
        "imagenet": imagenet,
        "score": "max(feature distance / threshold, pixel distance / pixels.threshold, "
        "imagenet distance / imagenet.threshold) > 1",
    }
    if projection is not None:
        ood["projection"] = np.round(projection, 6).tolist()
    (enc.root / OOD).write_text(json.dumps(ood))
    used = {"calibrate": len(recs), "ood_fit": len(fit_recs), "ood_threshold": len(thr_recs)}
    write_split(enc.root, data, used)
    return {
        "findings": findings,
        "ood_threshold": {
            "features": round(threshold, 4),
            "pixels": pixels["threshold"],
            "imagenet": imagenet["threshold"],
        },
        "images": used,
    }


def bootstrap_intervals(
    probs: np.ndarray, y: np.ndarray, n: int = BOOTSTRAP, seed: int = 0
) -> tuple[tuple[float, float] | None, list[tuple[float, float] | None]]:
    """95% percentile intervals (images resampled with replacement) of the macro AUROC and
    of each finding's AUROC (None where too few resamples have both classes)."""
    rng = np.random.default_rng(seed)
    macro, per_finding = [], [[] for _ in range(y.shape[1])]
    for _ in range(n):
        idx = rng.integers(0, len(probs), len(probs))
        per = [_auroc(probs[idx, j], y[idx, j]) for j in range(y.shape[1])]
        for j, v in enumerate(per):
            if v is not None:
                per_finding[j].append(v)
        scored = [v for v in per if v is not None]
        if scored:
            macro.append(float(np.mean(scored)))

    def interval(stats: list[float]) -> tuple[float, float] | None:
        if len(stats) < n // 2:
            return None
        return round(float(np.quantile(stats, 0.025)), 4), round(
            float(np.quantile(stats, 0.975)), 4
        )

    return interval(macro), [interval(s) for s in per_finding]


def _auroc(p: np.ndarray, y: np.ndarray) -> float | None:
    known = ~np.isnan(y)
    return auroc(p[known], y[known])


def evaluate(
    enc: CalibratedImageEncoder,
    data_root: Path,
    ood_sets: dict[str, Sequence[DecodedImage]],
    split: str = "test",
) -> dict[str, object]:
    """AUROC per finding and macro (with a bootstrap interval), ECE, OOD AUROC by source."""
    data = open_folder(data_root)
    recs = data.split.select(data.records, split)
    images = _images(recs)
    logits, feats = _raw(enc, images)
    probs = enc.calibrated(logits)
    y = reference_matrix(recs, enc.findings)
    per = {f.value: _auroc(probs[:, j], y[:, j]) for j, f in enumerate(enc.findings)}
    scored = [v for v in per.values() if v is not None]
    known = ~np.isnan(y)
    macro_ci, per_ci = bootstrap_intervals(probs, y)
    raw_p = sigmoid(logits) if enc.multi_label else np.exp(logits)
    result: dict[str, object] = {
        "encoder": enc.id,
        "kind": enc.kind,
        "split": split,
        "test_images": len(recs),
        "auroc_macro": round(float(np.mean(scored)), 4) if scored else None,
        "auroc_macro_ci95": macro_ci,
        "auroc": {k: None if v is None else round(v, 4) for k, v in per.items()},
        "auroc_ci95": {f.value: ci for f, ci in zip(enc.findings, per_ci, strict=True)},
        "positives": {f.value: int(np.nansum(y[:, j])) for j, f in enumerate(enc.findings)},
        "ece": round(ece(probs[known], y[known]), 4),
        "ece_before_calibration": round(ece(raw_p[known], y[known]), 4),
        "not_assessed": [f.value for f in Finding if f not in enc.findings],
    }
    states = [
        enc.bands[f].state(p).value for row in probs for f, p in zip(enc.findings, row, strict=True)
    ]
    result["uncertain_fraction"] = round(float(np.mean([s == "uncertain" for s in states])), 4)
    in_d = enc.ood_scores(feats, images)
    if in_d is not None and any(ood_sets.values()):
        result |= ood_report(enc, in_d, ood_sets)
        if enc.ood_pixels:  # each detector alone, for the OOD table
            result["ood_auroc_features_only"] = _separation(
                enc.feature_distances(feats),
                ood_sets,
                lambda g: enc.feature_distances(_raw(enc, g)[1]),
            )
            pixels = enc.ood_pixels
            result["ood_auroc_pixels_only"] = _separation(
                pixel_distance(pixels, images), ood_sets, lambda g: pixel_distance(pixels, g)
            )
        if enc.ood_imagenet:
            net = enc.ood_imagenet
            result["ood_auroc_imagenet_only"] = _separation(
                imagenet_distance(net, images), ood_sets, lambda g: imagenet_distance(net, g)
            )
    return result


def ood_report(
    enc: CalibratedImageEncoder, in_d: np.ndarray, ood_sets: dict[str, Sequence[DecodedImage]]
) -> dict[str, object]:
    """OOD AUROC (in-distribution test images vs each source) and flag rates at threshold."""
    thr = enc.ood_threshold or 0.0
    dists = {}
    for name, group in ood_sets.items():
        if group:
            d = enc.ood_scores(_raw(enc, group)[1], group)
            assert d is not None
            dists[name] = d

    def _sep(d: np.ndarray) -> float:
        labels = np.r_[np.zeros(len(in_d)), np.ones(len(d))]
        return round(auroc(np.r_[in_d, d], labels) or 0.0, 4)

    return {
        "ood_flagged_in_distribution": round(float(np.mean(in_d > thr)), 4),
        "ood_auroc": _sep(np.concatenate(list(dists.values()))),
        "ood_images": {k: len(v) for k, v in dists.items()},
        "ood_auroc_by_source": {k: _sep(d) for k, d in dists.items()},
        "ood_flagged_by_source": {k: round(float(np.mean(d > thr)), 4) for k, d in dists.items()},
    }


def _separation(in_d: np.ndarray, ood_sets, distance) -> dict[str, float]:
    """OOD AUROC per source of one detector (`distance`: images -> distances)."""
    out = {}
    for name, group in ood_sets.items():
        if not group:
            continue
        d = distance(group)
        labels = np.r_[np.zeros(len(in_d)), np.ones(len(d))]
        out[name] = round(auroc(np.r_[in_d, d], labels) or 0.0, 4)
    return out
