"""The model card (README.md) written next to a trained checkpoint."""

from __future__ import annotations

import json
from pathlib import Path


def write_card(
    out: Path, train_info: dict[str, object], metrics: dict[str, object], cmd: str
) -> None:
    """Write README.md: data, split, metrics, how to reproduce, and the clinical-use warning."""
    auroc = metrics.get("auroc", {})
    rows = "\n".join(
        f"| {k} | {v} | {metrics.get('positives', {}).get(k)} |"  # type: ignore[union-attr]
        for k, v in auroc.items()  # type: ignore[union-attr]
    )
    extra = ""
    if train_info.get("extra"):
        extra = (
            f", plus the train-split patients of {train_info['extra']} (full-resolution NIH "
            "films downscaled to 64 px; no patient shared with nih1000)"
        )
    w = int(train_info.get("width", 16))  # type: ignore[call-overload]
    text = f"""# nih-chest-tiny

**NOT FOR CLINICAL USE.** A deliberately small research model that lets radrag run
end to end offline. Its accuracy is modest; it is paired with calibration, uncertainty
bands and out-of-distribution abstention for that reason.

## Model
A transformers `ResNetForImageClassification` (basic blocks, widths {w}/{2 * w}/{4 * w}/{8 * w},
one block per stage) trained from scratch on 64 x 64 grayscale images
replicated to RGB; multi-label (sigmoid) over the 15 NIH ChestX-ray14 labels.
`label_map.json` maps them to the CheXpert ontology (Mass and Nodule -> lung_lesion, max
of the two logits). Emphysema, Fibrosis and Hernia are trained but unmapped. fracture,
support_devices and enlarged_cardiomediastinum are not labelled in NIH: **not assessed**.

## Data and split
1,000-image NIH ChestX-ray14 subset at 64 px (`nih1000`, Wang et al., CVPR 2017){extra}.
The given split leaks patients, so images are re-split by Patient ID (sha256 buckets,
salt fixed in `rag/adapters/nih_images.py`): train 60, calibrate 10, certify 10, test 20
(`split.json`): {train_info.get("split_sizes")}.

## Calibration, out-of-distribution and certification
- `calibration.json`: per-finding temperature (NLL grid search on the calibrate
  patients) and bands: absent below the probability under which ~10% of calibrate
  positives fall, present at the 95th percentile of calibrate negatives (at least
  0.5); in between is `uncertain`. Findings with < 3 calibrate positives use 0.1 / 0.9.
- `ood.json`: two Mahalanobis detectors fitted on the training images, either of which
  flags: the mean-pooled last feature map, and the pixels alone (a 16 px standardised
  thumbnail and the intensity histogram, on their top 32 principal axes), so laterals,
  paediatric films and non-chest pictures are caught without a DICOM header. Each
  threshold is its 97.5th percentile on the calibrate patients.
- `guard_calibration.json`: Learn-then-Test on the certify patients (disjoint from the
  calibrate ones); loss 1 when a sentence of the draft states a finding present that NIH
  calls absent or the reverse.

## Test metrics (held-out test patients)
Training: {json.dumps(train_info)}

| finding | AUROC | test positives |
|---|---|---|
{rows}

- AUROC macro: {metrics.get("auroc_macro")}
- ECE (all findings pooled, 10 bins): {metrics.get("ece")} (before temperature
  scaling: {metrics.get("ece_before_calibration")})
- Fraction of (image, finding) pairs in the uncertain band: {metrics.get("uncertain_fraction")}
- AUROC macro 95% bootstrap interval (images resampled): {metrics.get("auroc_macro_ci95")}
- OOD AUROC, test images vs the 16 paediatric chest X-ray JPEGs of
  `pneumonia-model-package==0.3.0`, synthetic non-chest images and lateral-like images
  made from certify films ({metrics.get("ood_images")}): {metrics.get("ood_auroc")}; by
  source: {metrics.get("ood_auroc_by_source")}; feature detector alone:
  {metrics.get("ood_auroc_features_only")}; pixel detector alone:
  {metrics.get("ood_auroc_pixels_only")}
- Flagged OOD at the threshold: in-distribution test images
  {metrics.get("ood_flagged_in_distribution")}; by source: {metrics.get("ood_flagged_by_source")}

Small test counts make these figures noisy (see the positives column).

## Limitations
- 64 px images and ~600 training images: AUROCs are modest, and most (image, finding)
  pairs fall in the uncertain band, which reports state as uncertain.
- Temperatures are fitted on the 72 calibrate images only (some findings have no
  positive there and keep temperature 1 and the default bands); a temperature at the
  grid's upper edge (10) means that finding's logit carried little validated signal.
- OOD: synthetic non-chest images and lateral-like images are caught reliably, chest
  X-rays from another source (paediatric JPEGs) only partly. NIH has no real laterals:
  the lateral figure is on generated stand-ins (half films stretched, films rotated).
- Adults, frontal PA/AP views only (NIH ChestX-ray14).

## Reproduce
```
{cmd}
```
"""
    (out / "README.md").write_text(text)
