"""The model card (README.md) written next to a trained checkpoint."""

from __future__ import annotations

import json
from pathlib import Path


def _model_section(info: dict[str, object]) -> str:
    if info.get("backbone") == "ensemble":
        return (
            "An `ensemble` folder: the standardised average of the logits of its members "
            f"({info.get('members')}; each member's card is in its subfolder), each "
            "standardised by its mean and standard deviation on the calibrate-split "
            "films (labels unread). Calibration, OOD model and certification below are "
            "the ensemble's own."
        )
    if info.get("backbone") == "efficientnet-lite0":
        return (
            f"An EfficientNet-Lite0 (4.0M parameters, kind `efficientnet-lite0`) initialised from "
            f"{info.get('initialised_from')} and fine-tuned end to end on 64 x 64 grayscale "
            f"films upsampled to {info.get('image_size')} px and replicated to RGB in [-1, 1]; "
            "multi-label (sigmoid) over the 15 NIH labels. Weights stored in half precision."
        )
    w = int(info.get("width", 16))  # type: ignore[call-overload]
    return (
        f"A transformers `ResNetForImageClassification` (basic blocks, widths "
        f"{w}/{2 * w}/{4 * w}/{8 * w}, one block per stage) trained from scratch on 64 x 64 "
        "grayscale images replicated to RGB; multi-label (sigmoid) over the 15 NIH labels."
    )


def write_card(
    out: Path, train_info: dict[str, object], metrics: dict[str, object], cmd: str
) -> None:
    """Write README.md: data, split, metrics, how to reproduce, and the clinical-use warning."""
    auroc = metrics.get("auroc", {})
    intervals = metrics.get("auroc_ci95", {})
    rows = "\n".join(
        f"| {k} | {v} | {intervals.get(k)} | {metrics.get('positives', {}).get(k)} |"  # type: ignore[union-attr]
        for k, v in auroc.items()  # type: ignore[union-attr]
    )
    extra = ""
    if train_info.get("extra"):
        extra = (
            f", plus the train-split patients of {train_info['extra']} (full-resolution NIH "
            "films downscaled to 64 px; no patient shared with nih1000)"
        )
    text = f"""# {out.name}

**NOT FOR CLINICAL USE.** A deliberately small research model that lets radrag run
end to end offline. Its accuracy is modest; it is paired with calibration, uncertainty
bands and out-of-distribution abstention for that reason.

## Model
{_model_section(train_info)}
`label_map.json` maps the 15 NIH ChestX-ray14 labels to the CheXpert ontology (Mass and
Nodule -> lung_lesion, max of the two logits). Emphysema, Fibrosis and Hernia are trained
but unmapped. fracture, support_devices and enlarged_cardiomediastinum are not labelled in
NIH: **not assessed**.

## Data and split
1,000-image NIH ChestX-ray14 subset at 64 px (`nih1000`, Wang et al., CVPR 2017){extra}.
The given split leaks patients, so images are re-split by Patient ID (sha256 buckets,
salt fixed in `rag/adapters/nih_images.py`): train 60, calibrate 10, certify 10, test 20
(`split.json`): {train_info.get("split_sizes")}.

## Calibration, out-of-distribution and certification
- `calibration.json`: per-finding Platt scaling (scale and bias by NLL on the calibrate
  patients with Platt's smoothed targets; the bias undoes the class weighting of training;
  with < 3 calibrate positives only the bias is fitted) and bands: absent below the
  probability under which ~10% of calibrate positives fall, present at the 95th
  percentile of calibrate negatives (at least 0.5); in between is `uncertain`.
  Findings with < 3 calibrate positives use 0.1 / 0.9.
- `ood.json`: Mahalanobis detectors fitted on the training images, any of which flags:
  the encoder's mean-pooled last feature map; the pixels alone (a 16 px standardised
  thumbnail and the intensity histogram, on their top 32 principal axes); and, where
  fitted, frozen ImageNet EfficientNet-Lite0 features of the centre-cropped 64 px film
  (top 32 principal axes). Laterals, paediatric films and non-chest pictures are caught
  without a DICOM header. Each threshold is its 1 - 5%/(detectors) quantile on the
  calibrate patients.
- `guard_calibration.json`: Learn-then-Test on the certify patients (disjoint from the
  calibrate ones); loss 1 when a sentence of the draft states a finding present that NIH
  calls absent or the reverse.

## Test metrics (held-out test patients)
Training: {json.dumps(train_info)}

| finding | AUROC | 95% interval | test positives |
|---|---|---|---|
{rows}

- AUROC macro: {metrics.get("auroc_macro")}
- ECE (all findings pooled, 10 bins): {metrics.get("ece")} (before Platt
  scaling: {metrics.get("ece_before_calibration")})
- Fraction of (image, finding) pairs in the uncertain band: {metrics.get("uncertain_fraction")}
- AUROC macro 95% bootstrap interval (images resampled): {metrics.get("auroc_macro_ci95")}
- OOD AUROC, test images vs the 16 paediatric chest X-ray JPEGs of
  `pneumonia-model-package==0.3.0`, synthetic non-chest images and lateral-like images
  made from certify films ({metrics.get("ood_images")}): {metrics.get("ood_auroc")}; by
  source: {metrics.get("ood_auroc_by_source")}; feature detector alone:
  {metrics.get("ood_auroc_features_only")}; pixel detector alone:
  {metrics.get("ood_auroc_pixels_only")}; ImageNet-feature detector alone:
  {metrics.get("ood_auroc_imagenet_only")}
- Flagged OOD at the threshold: in-distribution test images
  {metrics.get("ood_flagged_in_distribution")}; by source: {metrics.get("ood_flagged_by_source")}

Small test counts make these figures noisy (see the positives column).

## Limitations
- 64 px images and ~600 training images: AUROCs are modest, and most (image, finding)
  pairs fall in the uncertain band, which reports state as uncertain.
- Platt scaling is fitted on the 72 calibrate images only: findings with fewer than 3
  positives there keep their ranking (scale 1) and the default bands, and only their bias
  is fitted (Platt's smoothed target keeps it above 0).
- OOD: 16 paediatric JPEGs, generated non-chest pictures and generated lateral-like
  images (NIH has no real laterals: half films stretched, films rotated) are the only
  out-of-distribution sets here; the detectors were not tuned on them, but the figures
  are small-sample.
- Adults, frontal PA/AP views only (NIH ChestX-ray14).

## Reproduce
```
{cmd}
```
"""
    (out / "README.md").write_text(text)
