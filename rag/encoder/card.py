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
    text = f"""# nih-chest-tiny

**NOT FOR CLINICAL USE.** A deliberately small research model that lets radrag run
end to end offline. Its accuracy is modest; it is paired with calibration, uncertainty
bands and out-of-distribution abstention for that reason.

## Model
A transformers `ResNetForImageClassification` (basic blocks, widths 16/32/64/128, one
block per stage, ~0.3M parameters) trained from scratch on 64 x 64 grayscale images
replicated to RGB; multi-label (sigmoid) over the 15 NIH ChestX-ray14 labels.
`label_map.json` maps them to the CheXpert ontology (Mass and Nodule -> lung_lesion, max
of the two logits). Emphysema, Fibrosis and Hernia are trained but unmapped. fracture,
support_devices and enlarged_cardiomediastinum are not labelled in NIH: **not assessed**.

## Data and split
1,000-image NIH ChestX-ray14 subset at 64 px (`nih1000`, Wang et al., CVPR 2017). The
given split leaks patients, so images are re-split by Patient ID (sha256 buckets
60/20/20, salt fixed in `rag/adapters/nih_images.py`): {train_info.get("split_sizes")}.

## Calibration and abstention
- `calibration.json`: per-finding temperature (NLL grid search on the validation
  patients) and bands: absent below the probability under which ~10% of validation
  positives fall, present at the 95th percentile of validation negatives (at least
  0.5); in between is `uncertain`. Findings with < 3 validation positives use 0.1 / 0.9.
- `ood.json`: Mahalanobis distance of the mean-pooled last feature map to a Gaussian
  fitted on training features; threshold = 95th percentile on validation images.

## Test metrics (held-out test patients)
Training: {json.dumps(train_info)}

| finding | AUROC | test positives |
|---|---|---|
{rows}

- AUROC macro: {metrics.get("auroc_macro")}
- ECE (all findings pooled, 10 bins): {metrics.get("ece")} (before temperature
  scaling: {metrics.get("ece_before_calibration")})
- Fraction of (image, finding) pairs in the uncertain band: {metrics.get("uncertain_fraction")}
- OOD AUROC, test images vs the 16 paediatric chest X-ray JPEGs of
  `pneumonia-model-package==0.3.0` and 24 synthetic non-chest images
  ({metrics.get("ood_images")}): {metrics.get("ood_auroc")}; by source:
  {metrics.get("ood_auroc_by_source")}
- Flagged OOD at the threshold: in-distribution test images
  {metrics.get("ood_flagged_in_distribution")}; by source: {metrics.get("ood_flagged_by_source")}

Small test counts make these figures noisy (see the positives column).

## Limitations
- 64 px images and ~600 training images: AUROCs are modest, and most (image, finding)
  pairs fall in the uncertain band, which reports state as uncertain.
- Temperatures are fitted on the validation patients only; a temperature at the grid's
  upper edge (10) means that finding's logit carried little validated signal.
- OOD: synthetic non-chest images are caught reliably, chest X-rays from another source
  (paediatric JPEGs) only partly. Lateral views are refused from the DICOM header's
  ViewPosition, not from pixels: NIH has no laterals to calibrate a pixel detector on.
- Adults, frontal PA/AP views only (NIH ChestX-ray14).

## Reproduce
```
{cmd}
```
"""
    (out / "README.md").write_text(text)
